using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_Q5_K: super-blocks of 256 weights in 8 sub-blocks of 32, 176 bytes each (ggml-common.h block_q5_K):
/// <code>
/// offset  0  ushort d          super-block scale of the sub-block scales, IEEE half
/// offset  2  ushort dmin       super-block scale of the sub-block minimums, IEEE half
/// offset  4  byte   scales[12] 6-bit scales and minimums, packed as in Q4_K
/// offset 16  byte   qh[32]     bit 2c of qh[l] is the fifth bit of element 64c+l, bit 2c+1 that of element 64c+32+l
/// offset 48  byte   qs[128]    low 4 bits, laid out as Q4_K's qs
/// value = d·sc[j]·q − dmin·m[j]  for element of sub-block j with 5-bit quant q
/// </code>
/// Its vec_dot_type is Q8_K.
/// </summary>
internal static class Q5_K
{
    public const int BlockSize = Q8_K.BlockSize;
    public const int BlockBytes = 176;
    private const int ScalesOffset = 4;
    private const int QhOffset = 16;
    private const int QsOffset = 48;

    /// <summary>
    /// Reference quantizer (ggml-quants.c quantize_row_q5_K_ref): Q4_K's fitting with 5-bit levels and
    /// 16 candidate scales starting at rmin = −0.5, then the levels split into nibbles and fifth bits.
    /// </summary>
    public static void QuantizeReference(ReadOnlySpan<float> src, Span<byte> dst) => Quantize(src, default, dst);

    /// <summary>
    /// What llama-quantize writes with an importance matrix (ggml-quants.c quantize_row_q5_K_impl): one row, with
    /// the importance of each of its columns (see <see cref="WeightedFits.AffineSuperBlock"/>).
    /// </summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst) => Quantize(src, columnWeights, dst);

    private static void Quantize(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst)
    {
        Debug.Assert(src.Length % BlockSize == 0 && dst.Length == src.Length / BlockSize * BlockBytes);
        Span<byte> levels = stackalloc byte[BlockSize];
        for (int b = 0; b < src.Length / BlockSize; b++)
        {
            Span<byte> block = dst.Slice(b * BlockBytes, BlockBytes);
            if (columnWeights.IsEmpty)
                Q4_K.QuantizeAffineSuperBlock(src.Slice(b * BlockSize, BlockSize), block[..QhOffset], levels, nmax: 31, rmin: -0.5f, nstep: 15);
            else
                WeightedFits.AffineSuperBlock(src.Slice(b * BlockSize, BlockSize), columnWeights.Slice(b * BlockSize, BlockSize), block[..QhOffset], levels, nmax: 31);
            Span<byte> qh = block.Slice(QhOffset, 32), qs = block[QsOffset..];
            qh.Clear();
            for (int c = 0; c < 4; c++)
            {
                for (int l = 0; l < 32; l++)
                {
                    int lo = levels[64 * c + l], hi = levels[64 * c + 32 + l];
                    qh[l] |= (byte)(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
                    qs[32 * c + l] = (byte)((lo & 0xF) | ((hi & 0xF) << 4));
                }
            }
        }
    }

    /// <summary>dequantize_row_q5_K: <c>y = (d·sc)·q − dmin·m</c>, each product rounded to float.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
        => Dequantize(src, dst, SimdCapabilities.Best);

    /// <summary>The decoder at <paramref name="tier"/>: eight lanes at a time (<see cref="DequantizeLanes"/>) or the scalar twin, the same bits.</summary>
    internal static unsafe void Dequantize(ReadOnlySpan<byte> src, Span<float> dst, SimdTier tier) =>
        DequantizeLanes.Run<LaneDecoder>(src, dst, tier, &DequantizeScalar);

    private readonly unsafe struct LaneDecoder : DequantizeLanes.IBlockDecoder
    {
        public static int BlockSize => Q5_K.BlockSize;
        public static int BlockBytes => Q5_K.BlockBytes;

        public static void Decode(byte* block, float* y)
        {
            byte* sc = stackalloc byte[8], mn = stackalloc byte[8];
            float d = F16.ToSingle(Unsafe.ReadUnaligned<ushort>(block)), dmin = F16.ToSingle(Unsafe.ReadUnaligned<ushort>(block + 2));
            Q4_K.UnpackScaleMins(block + ScalesOffset, sc, mn);
            for (int c = 0; c < 4; c++)
            {
                float d1 = d * sc[2 * c], m1 = dmin * mn[2 * c];
                float d2 = d * sc[2 * c + 1], m2 = dmin * mn[2 * c + 1];
                for (int l = 0; l < 32; l += 8)
                {
                    Vector256<int> q = DequantizeLanes.Widen(block + QsOffset + 32 * c + l), h = DequantizeLanes.Widen(block + QhOffset + l);
                    Vector256<int> one = Vector256.Create(1);
                    DequantizeLanes.StoreAffine(y + 64 * c + l, (q & Vector256.Create(0xF)) | (((h >>> (2 * c)) & one) << 4), d1, m1);
                    DequantizeLanes.StoreAffine(y + 64 * c + 32 + l, (q >>> 4) | (((h >>> (2 * c + 1)) & one) << 4), d2, m2);
                }
            }
        }
    }

    private static void DequantizeScalar(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        Span<byte> sc = stackalloc byte[8], mn = stackalloc byte[8];
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * BlockBytes, BlockBytes);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            float d = F16.ToSingle(MemoryMarshal.Read<ushort>(block));
            float dmin = F16.ToSingle(MemoryMarshal.Read<ushort>(block[2..]));
            Q4_K.UnpackScaleMins(block.Slice(ScalesOffset, 12), sc, mn);
            ReadOnlySpan<byte> qh = block.Slice(QhOffset, 32), qs = block[QsOffset..];
            for (int c = 0; c < 4; c++)
            {
                float d1 = d * sc[2 * c], m1 = dmin * mn[2 * c];
                float d2 = d * sc[2 * c + 1], m2 = dmin * mn[2 * c + 1];
                for (int l = 0; l < 32; l++)
                {
                    int lo = (qs[32 * c + l] & 0xF) | (((qh[l] >> (2 * c)) & 1) << 4);
                    int hi = (qs[32 * c + l] >> 4) | (((qh[l] >> (2 * c + 1)) & 1) << 4);
                    y[64 * c + l] = d1 * lo - m1;
                    y[64 * c + 32 + l] = d2 * hi - m2;
                }
            }
        }
    }

    /// <summary>
    /// Q5_K row · Q8_K activation over <paramref name="blocks"/> super-blocks, with the integer sums and float
    /// scaling of <see cref="Q4_K.Dot"/> (ggml_vec_dot_q5_K_q8_K). Every tier gives the same bits.
    /// </summary>
    public static unsafe float Dot(byte* w, byte* x, int blocks, SimdTier tier)
    {
        byte* sc = stackalloc byte[8];
        byte* mn = stackalloc byte[8];
        float sum = 0f;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            byte* xb = x + (long)b * Q8_K.BlockBytes;
            StreamPrefetch.Ahead(wb);
            StreamPrefetch.Ahead(wb + 64);
            StreamPrefetch.Ahead(wb + 128);
            Q4_K.UnpackScaleMins(new ReadOnlySpan<byte>(wb + ScalesOffset, 12), new Span<byte>(sc, 8), new Span<byte>(mn, 8));
            sbyte* y = (sbyte*)(xb + Q8_K.QsOffset);
            int s = tier switch
            {
                SimdTier.Vector512 => Sum512(wb + QhOffset, wb + QsOffset, y, sc),
                SimdTier.Vector256 => Sum256(wb + QhOffset, wb + QsOffset, y, sc),
                _ => SumScalar(wb + QhOffset, wb + QsOffset, y, sc),
            };
            short* bsums = (short*)(xb + Q8_K.BsumsOffset);
            int m = 0;
            for (int j = 0; j < 8; j++)
            {
                m += mn[j] * (bsums[2 * j] + bsums[2 * j + 1]);
            }
            float yd = Unsafe.ReadUnaligned<float>(xb);
            sum += F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb)) * yd * s;
            sum -= F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb + 2)) * yd * m;
        }
        return sum;
    }

    private static unsafe int SumScalar(byte* qh, byte* q, sbyte* y, byte* sc)
    {
        int total = 0;
        for (int c = 0; c < 4; c++)
        {
            int lo = 0, hi = 0;
            for (int l = 0; l < 32; l++)
            {
                lo += ((q[32 * c + l] & 0xF) | (((qh[l] >> (2 * c)) & 1) << 4)) * y[64 * c + l];
                hi += ((q[32 * c + l] >> 4) | (((qh[l] >> (2 * c + 1)) & 1) << 4)) * y[64 * c + 32 + l];
            }
            total += sc[2 * c] * lo + sc[2 * c + 1] * hi;
        }
        return total;
    }

    /// <summary>The 64 five-bit quants of chunk <paramref name="c"/>: elements 64c .. 64c+31, then 64c+32 .. 64c+63.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe (Vector256<byte> Lo, Vector256<byte> Hi) Unpack(Vector256<byte> high, byte* q, int c)
    {
        Vector256<byte> mask = Vector256.Create((byte)0x0F), sixteen = Vector256.Create((byte)16);
        Vector256<byte> bitLo = Vector256.Create((byte)(1 << (2 * c))), bitHi = Vector256.Create((byte)(2 << (2 * c)));
        Vector256<byte> packed = Vector256.Load(q + 32 * c);
        // A set fifth bit adds 16: compare against the bit gives 0xFF, masked to 16.
        Vector256<byte> lo = (packed & mask) | (Vector256.Equals(high & bitLo, bitLo) & sixteen);
        Vector256<byte> hi = (Vector256.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & mask) | (Vector256.Equals(high & bitHi, bitHi) & sixteen);
        return (lo, hi);
    }

    private static unsafe int Sum256(byte* qh, byte* q, sbyte* y, byte* sc)
    {
        Vector256<int> acc = Vector256<int>.Zero;
        Vector256<byte> high = Vector256.Load(qh);
        for (int c = 0; c < 4; c++)
        {
            var (lo, hi) = Unpack(high, q, c);
            acc = Q8_K.MultiplyAddScaled(acc, lo, Vector256.Load(y + 64 * c), sc[2 * c], sc[2 * c]);
            acc = Q8_K.MultiplyAddScaled(acc, hi, Vector256.Load(y + 64 * c + 32), sc[2 * c + 1], sc[2 * c + 1]);
        }
        return Vector256.Sum(acc);
    }

    private static unsafe int Sum512(byte* qh, byte* q, sbyte* y, byte* sc)
    {
        Vector512<int> acc = Vector512<int>.Zero;
        Vector256<byte> high = Vector256.Load(qh);
        for (int c = 0; c < 4; c++)
        {
            var (lo, hi) = Unpack(high, q, c);
            acc = Q8_K.MultiplyAddScaled(acc, Vector512.Create(lo, hi), Vector512.Load(y + 64 * c), sc[2 * c], sc[2 * c], sc[2 * c + 1], sc[2 * c + 1]);
        }
        return Vector512.Sum(acc);
    }
}

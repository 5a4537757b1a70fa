using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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

    /// <summary>Q5_K row · Q8_K activation: Q4_K's lanes and float steps (<see cref="AffineKDot{T}.Dot"/>), as ggml's AVX2 dot of Q5_K follows its Q4_K one.</summary>
    public static unsafe float Dot(byte* w, byte* x, int blocks, SimdTier tier) => AffineKDot<Quants>.Dot(w, x, blocks, tier);

    /// <summary>One row, four tokens; see <see cref="AffineKDot{T}.Dot4"/>.</summary>
    public static unsafe void Dot4(byte* w, byte* x, long xStride, int blocks, float* y, long yStride, SimdTier tier) =>
        AffineKDot<Quants>.Dot4(w, x, xStride, blocks, y, yStride, tier);

    /// <summary>Two rows, four tokens; see <see cref="AffineKDot{T}.Dot2x4"/>.</summary>
    public static unsafe void Dot2x4(byte* w, long wStride, byte* x, long xStride, int blocks, float* y, long yStride, SimdTier tier) =>
        AffineKDot<Quants>.Dot2x4(w, wStride, x, xStride, blocks, y, yStride, tier);

    /// <summary>One row, eight tokens; see <see cref="AffineKDot{T}.Dot8"/>.</summary>
    public static unsafe void Dot8(byte* w, byte* x, long xStride, byte* table, int blocks, float* state, EightTokenPart part, float* y, long yStride, SimdTier tier) =>
        AffineKDot<Quants>.Dot8(w, x, xStride, table, blocks, state, part, y, yStride, tier);

    /// <summary>Nibbles as Q4_K's, each with its fifth bit from qh: bit 2c of qh[i] for chunk c's low quant i, bit 2c+1 for its high one.</summary>
    private readonly unsafe struct Quants : IAffineKQuants
    {
        public static int BlockBytes => Q5_K.BlockBytes;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (Vector256<byte> Lo, Vector256<byte> Hi) Chunk(byte* wb, int c)
        {
            Vector256<byte> mask = Vector256.Create((byte)0x0F), sixteen = Vector256.Create((byte)16);
            Vector256<byte> bitLo = Vector256.Create((byte)(1 << (2 * c))), bitHi = Vector256.Create((byte)(2 << (2 * c)));
            Vector256<byte> packed = Vector256.Load(wb + QsOffset + 32 * c), high = Vector256.Load(wb + QhOffset);
            // A set fifth bit adds 16: the compare against the bit gives 0xFF, masked to 16.
            Vector256<byte> lo = (packed & mask) | (Vector256.Equals(high & bitLo, bitLo) & sixteen);
            Vector256<byte> hi = (Vector256.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & mask) | (Vector256.Equals(high & bitHi, bitHi) & sixteen);
            return (lo, hi);
        }

        /// <summary>
        /// The fifth bits by one rotate per vector: rotating each 32-bit lane of qh left by 4 − b (mod 32) brings bit b
        /// of every byte to bit 4 of the same byte (a rotation moves every bit, so nothing else lands there), and one
        /// vpternlog ORs that bit alone onto the nibbles. The rotate counts differ between the halves (chunks 2p and 2p+1).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (Vector512<byte> Lo, Vector512<byte> Hi) ChunkPair(byte* wb, int p)
        {
            Vector512<byte> mask = Vector512.Create((byte)0x0F), sixteen = Vector512.Create((byte)16);
            Vector512<byte> packed = Vector512.Load(wb + QsOffset + 64 * p);
            Vector256<byte> qh = Vector256.Load(wb + QhOffset);
            Vector512<uint> high = Vector512.Create(qh, qh).AsUInt32();
            // Low quants: bits 4p and 4p+2; high quants: bits 4p+1 and 4p+3.
            Vector512<uint> countLo = p == 0 ? Vector512.Create(Vector256.Create(4u), Vector256.Create(2u)) : Vector512.Create(Vector256.Create(0u), Vector256.Create(30u));
            Vector512<uint> countHi = p == 0 ? Vector512.Create(Vector256.Create(3u), Vector256.Create(1u)) : Vector512.Create(Vector256.Create(31u), Vector256.Create(29u));
            Vector512<byte> fifthLo = Avx512F.RotateLeftVariable(high, countLo).AsByte(), fifthHi = Avx512F.RotateLeftVariable(high, countHi).AsByte();
            const byte AOrBAndC = 0xF8;   // truth table of a | (b & c)
            Vector512<byte> lo = Avx512F.TernaryLogic(packed & mask, fifthLo, sixteen, AOrBAndC);
            Vector512<byte> hi = Avx512F.TernaryLogic(Vector512.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & mask, fifthHi, sixteen, AOrBAndC);
            return (lo, hi);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int Quant(byte* wb, int c, int i, bool high)
        {
            int q = wb[QsOffset + 32 * c + i], h = wb[QhOffset + i];
            return high ? (q >> 4) | (((h >> (2 * c + 1)) & 1) << 4) : (q & 0xF) | (((h >> (2 * c)) & 1) << 4);
        }
    }
}

using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_Q3_K: super-blocks of 256 weights in 16 groups of 16, 110 bytes each (ggml-common.h block_q3_K):
/// <code>
/// offset   0  byte   hmask[32]   bit b of hmask[l]: the third bit of element 32b + l
/// offset  32  byte   qs[64]      low 2 bits; half h (elements 128h ..), quarter k: element 128h+32k+l ← qs[32h+l] bits 2k..2k+1
/// offset  96  byte   scales[12]  16 six-bit group scales (g = element / 16), see <see cref="GroupScales(ReadOnlySpan{byte})"/>
/// offset 108  ushort d           super-block scale, IEEE half (last)
/// value = d·(scale[g] − 32)·(q − 4), q = low bits | third bit &lt;&lt; 2 (0..7)
/// </code>
/// Its vec_dot_type is Q8_K. <see cref="QuantizeReference"/> writes it as llama-quantize does without an importance matrix.
/// </summary>
internal static class Q3_K
{
    public const int BlockSize = Q8_K.BlockSize;
    public const int BlockBytes = 110;
    private const int QsOffset = 32;
    private const int ScalesOffset = 96;
    private const int DOffset = 108;

    /// <summary>
    /// The 16 group scales, already minus 32 (−32..31). Scale g keeps its low 4 bits in scales[g] (g &lt; 8, low nibble)
    /// or scales[g − 8] (high nibble), and its top 2 bits in scales[8 + g % 4] at bit 2·(g / 4); four groups at a time
    /// that is one mask-and-shift on a 32-bit word, byte g % 4 of word g / 4.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> GroupScales(ReadOnlySpan<byte> scales)
    {
        const uint LowNibbles = 0x0F0F0F0F, LowPairs = 0x03030303;
        uint a = MemoryMarshal.Read<uint>(scales), b = MemoryMarshal.Read<uint>(scales[4..]), top = MemoryMarshal.Read<uint>(scales[8..]);
        Vector128<uint> six = Vector128.Create(
            (a & LowNibbles) | ((top & LowPairs) << 4),
            (b & LowNibbles) | (((top >> 2) & LowPairs) << 4),
            ((a >> 4) & LowNibbles) | (((top >> 4) & LowPairs) << 4),
            ((b >> 4) & LowNibbles) | (((top >> 6) & LowPairs) << 4));
        return six.AsSByte() - Vector128.Create((sbyte)32);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector128<sbyte> GroupScales(byte* wb) => GroupScales(new ReadOnlySpan<byte>(wb + ScalesOffset, 12));

    /// <summary>
    /// Reference quantizer (ggml-quants.c quantize_row_q3_K_ref, what llama-quantize runs without an importance
    /// matrix): a symmetric fit per group of 16 (<see cref="MakeQ3Quants"/>, levels −4..3), the 16 group scales
    /// quantized to 6 signed bits against the scale of largest magnitude (<c>iscale = −32 / max_scale</c>), then every
    /// weight requantized against the stored scales and split into its low 2 bits (qs) and third bit (hmask).
    /// </summary>
    public static void QuantizeReference(ReadOnlySpan<float> src, Span<byte> dst)
    {
        Debug.Assert(src.Length % BlockSize == 0 && dst.Length == src.Length / BlockSize * BlockBytes);
        Span<sbyte> levels = stackalloc sbyte[BlockSize];
        Span<float> scales = stackalloc float[16];
        for (int b = 0; b < src.Length / BlockSize; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> block = dst.Slice(b * BlockBytes, BlockBytes);

            float maxScale = 0f, maxAbsScale = 0f;
            for (int g = 0; g < 16; g++)
            {
                scales[g] = MakeQ3Quants(4, x.Slice(16 * g, 16), levels.Slice(16 * g, 16));
                float abs = MathF.Abs(scales[g]);
                if (abs > maxAbsScale)
                {
                    maxAbsScale = abs;
                    maxScale = scales[g];
                }
            }

            Span<byte> packed = block.Slice(ScalesOffset, 12);
            packed.Clear();
            ushort dBits = 0;
            if (maxScale != 0f)
            {
                float iscale = -32f / maxScale;
                for (int g = 0; g < 16; g++)
                {
                    // C keeps the code in an int8_t before clamping: keep the truncation.
                    int code = Math.Clamp((int)(sbyte)Q8_K.NearestInt(iscale * scales[g]), -32, 31) + 32;
                    if (g < 8)
                    {
                        packed[g] = (byte)(code & 0xF);
                    }
                    else
                    {
                        packed[g - 8] |= (byte)((code & 0xF) << 4);
                    }
                    packed[8 + g % 4] |= (byte)((code >> 4) << (2 * (g / 4)));
                }
                dBits = F16.FromSingle(1 / iscale);
            }
            MemoryMarshal.Write(block[DOffset..], dBits);
            RequantizeAndPack(x, block, levels);
        }
    }

    /// <summary>
    /// What llama-quantize writes with an importance matrix (ggml-quants.c quantize_row_q3_K_impl), one row of
    /// <paramref name="src"/> with the importance of each of its columns: per group of 16 the symmetric fit weighted by
    /// <c>importance·sqrt(σ² + x²)</c> (σ² twice the super-block's mean square), then the 16 group scales fitted to
    /// 6-bit codes by the same weighted fit over the groups' total weights, then every weight requantized.
    /// </summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst)
    {
        Debug.Assert(src.Length % BlockSize == 0 && columnWeights.Length == src.Length && dst.Length == src.Length / BlockSize * BlockBytes);
        Span<sbyte> levels = stackalloc sbyte[BlockSize];
        Span<float> scales = stackalloc float[16], sw = stackalloc float[16], weights = stackalloc float[16];
        Span<byte> codes = stackalloc byte[16];
        for (int b = 0; b < src.Length / BlockSize; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> block = dst.Slice(b * BlockBytes, BlockBytes);
            float sigma2 = 2 * WeightedFits.SumOfSquares(x) / BlockSize;
            for (int g = 0; g < 16; g++)
            {
                ReadOnlySpan<float> xs = x.Slice(16 * g, 16);
                WeightedFits.Importance(xs, columnWeights.Slice(b * BlockSize + 16 * g, 16), sigma2, weights);
                float sumW = 0f;
                foreach (float w in weights) sumW += w;
                sw[g] = sumW;
                scales[g] = WeightedFits.MakeQxQuants(4, xs, MemoryMarshal.AsBytes(levels.Slice(16 * g, 16)), weights);
            }
            float dBlock = WeightedFits.MakeQxQuants(32, scales, codes, sw);
            Span<byte> packed = block.Slice(ScalesOffset, 12);
            packed.Clear();
            for (int g = 0; g < 16; g++)
            {
                int code = codes[g];
                if (g < 8) packed[g] = (byte)(code & 0xF);
                else packed[g - 8] |= (byte)((code & 0xF) << 4);
                packed[8 + g % 4] |= (byte)((code >> 4) << (2 * (g / 4)));
            }
            MemoryMarshal.Write(block[DOffset..], F16.FromSingle(dBlock));
            RequantizeAndPack(x, block, levels);
        }
    }

    // Both quantizers end alike: requantize against what a reader will see (the half super-scale times the 6-bit
    // codes already in the block), then split the levels 0..7 into hmask and qs.
    private static void RequantizeAndPack(ReadOnlySpan<float> x, Span<byte> block, Span<sbyte> levels)
    {
        ReadOnlySpan<byte> packed = block.Slice(ScalesOffset, 12);
        float dAll = F16.ToSingle(MemoryMarshal.Read<ushort>(block[DOffset..]));
        for (int g = 0; g < 16; g++)
        {
            int low = g < 8 ? packed[g] & 0xF : packed[g - 8] >> 4;
            int sc = (low | (((packed[8 + g % 4] >> (2 * (g / 4))) & 3) << 4)) - 32;
            float d = dAll * sc;
            if (d == 0f)
            {
                continue; // keeps the levels of the fit (0 for an all-zero group), as ggml does
            }
            for (int l = 0; l < 16; l++)
            {
                int q = Q8_K.NearestInt(x[16 * g + l] / d);
                levels[16 * g + l] = (sbyte)(Math.Clamp(q, -4, 3) + 4);
            }
        }

        // Levels 0..7: the third bit of element j goes to bit j / 32 of hmask[j % 32], the low two bits to qs.
        Span<byte> hmask = block[..32];
        hmask.Clear();
        for (int j = 0; j < BlockSize; j++)
        {
            if (levels[j] > 3)
            {
                hmask[j % 32] |= (byte)(1 << (j / 32));
                levels[j] -= 4;
            }
        }
        Span<byte> qs = block.Slice(QsOffset, 64);
        for (int h = 0; h < 2; h++)
        {
            ReadOnlySpan<byte> L = MemoryMarshal.AsBytes(levels.Slice(128 * h, 128)); // 0..3 by now
            for (int l = 0; l < 32; l++)
            {
                qs[32 * h + l] = (byte)(L[l] | (L[l + 32] << 2) | (L[l + 64] << 4) | (L[l + 96] << 6));
            }
        }
    }

    /// <summary>
    /// ggml-quants.c make_q3_quants with do_rmse: the symmetric fit <c>x ≈ scale·l</c>, l in −nmax..nmax−1, weighted
    /// by x². Starts from <c>iscale = −nmax / max</c> (max: the signed value of largest magnitude), then up to five
    /// passes move single levels to their least-squares optimum given the others, keeping a move only if it raises
    /// <c>(Σwxl)² / Σwl²</c>. Writes levels + nmax (all 0 for a group below GROUP_MAX_EPS) and returns
    /// <c>Σwxl / Σwl²</c>. Single float operations in C's order.
    /// </summary>
    internal static float MakeQ3Quants(int nmax, ReadOnlySpan<float> x, Span<sbyte> levels)
    {
        int n = x.Length;
        float max = 0, amax = 0;
        for (int i = 0; i < n; i++)
        {
            float ax = MathF.Abs(x[i]);
            if (ax > amax)
            {
                amax = ax;
                max = x[i];
            }
        }
        if (amax < Q6_K.GroupMaxEps)
        {
            levels[..n].Clear();
            return 0f;
        }
        float iscale = -nmax / max;
        float sumLX = 0, sumL2 = 0;
        for (int i = 0; i < n; i++)
        {
            int l = Math.Clamp(Q8_K.NearestInt(iscale * x[i]), -nmax, nmax - 1);
            levels[i] = (sbyte)l;
            float w = x[i] * x[i];
            sumLX += w * x[i] * l;
            sumL2 += w * l * l;
        }
        for (int pass = 0; pass < 5; pass++)
        {
            int changed = 0;
            for (int i = 0; i < n; i++)
            {
                float w = x[i] * x[i];
                float slx = sumLX - w * x[i] * levels[i];
                if (slx > 0)
                {
                    float sl2 = sumL2 - w * levels[i] * levels[i];
                    int l = Math.Clamp(Q8_K.NearestInt(x[i] * sl2 / slx), -nmax, nmax - 1);
                    if (l != levels[i])
                    {
                        slx += w * x[i] * l;
                        sl2 += w * l * l;
                        if (sl2 > 0 && slx * slx * sumL2 > sumLX * sumLX * sl2)
                        {
                            levels[i] = (sbyte)l;
                            sumLX = slx;
                            sumL2 = sl2;
                            changed++;
                        }
                    }
                }
            }
            if (changed == 0)
            {
                break;
            }
        }
        for (int i = 0; i < n; i++)
        {
            levels[i] += (sbyte)nmax;
        }
        return sumLX / sumL2;
    }

    /// <summary>
    /// dequantize_row_q3_K: <c>y = (d·(scale − 32))·(q − 4)</c>, the group's factor rounded to float first, then the
    /// product, as ggml does.
    /// </summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
        => Dequantize(src, dst, SimdCapabilities.Best);

    /// <summary>The decoder at <paramref name="tier"/>: eight lanes at a time (<see cref="DequantizeLanes"/>) or the scalar twin, the same bits.</summary>
    internal static unsafe void Dequantize(ReadOnlySpan<byte> src, Span<float> dst, SimdTier tier) =>
        DequantizeLanes.Run<LaneDecoder>(src, dst, tier, &DequantizeScalar);

    private readonly unsafe struct LaneDecoder : DequantizeLanes.IBlockDecoder
    {
        public static int BlockSize => Q3_K.BlockSize;
        public static int BlockBytes => Q3_K.BlockBytes;

        public static void Decode(byte* block, float* y)
        {
            float d = F16.ToSingle(Unsafe.ReadUnaligned<ushort>(block + DOffset));
            Vector128<sbyte> scales = GroupScales(block);
            for (int g = 0; g < 16; g++)
            {
                float dl = d * scales.GetElement(g);
                int quarter = g / 2;   // as in the scalar loop: its hmask bit, and qs[32h ..] bits 2k..2k+1
                byte* q = block + QsOffset + 32 * (quarter / 4);
                int shift = 2 * (quarter % 4);
                for (int l = 16 * (g % 2); l < 16 * (g % 2) + 16; l += 8)
                {
                    Vector256<int> low = (DequantizeLanes.Widen(q + l) >>> shift) & Vector256.Create(3);
                    // Minus 4 where the hmask bit is clear: (1 − bit)·4.
                    Vector256<int> clear = ((DequantizeLanes.Widen(block + l) >>> quarter) & Vector256.Create(1)) ^ Vector256.Create(1);
                    DequantizeLanes.StoreScaled(y + 32 * quarter + l, low - (clear << 2), dl);
                }
            }
        }
    }

    private static void DequantizeScalar(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        Span<sbyte> sc = stackalloc sbyte[16];
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * BlockBytes, BlockBytes);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            float d = F16.ToSingle(MemoryMarshal.Read<ushort>(block[DOffset..]));
            GroupScales(block.Slice(ScalesOffset, 12)).CopyTo(sc);
            ReadOnlySpan<byte> hmask = block[..QsOffset], qs = block.Slice(QsOffset, 64);
            for (int g = 0; g < 16; g++)
            {
                float dl = d * sc[g];
                int quarter = g / 2;   // quarter 4h+k: its hmask bit, and qs[32h ..] bits 2k..2k+1
                ReadOnlySpan<byte> q = qs.Slice(32 * (quarter / 4), 32);
                int shift = 2 * (quarter % 4);
                for (int l = 16 * (g % 2); l < 16 * (g % 2) + 16; l++)
                {
                    int value = ((q[l] >> shift) & 3) - (((hmask[l] >> quarter) & 1) != 0 ? 0 : 4);
                    y[32 * quarter + l] = dl * value;
                }
            }
        }
    }

    /// <summary>
    /// Q3_K row · Q8_K activation over <paramref name="blocks"/> super-blocks, as llama.cpp's AVX2
    /// ggml_vec_dot_q3_K_q8_K takes it. Per super-block the products go into eight exact int32 lanes S_l: lane l takes
    /// bytes 4l .. 4l+3 of each of the eight 32-quant quarters, <c>(scale[g] − 32)·Σ (u − 4)·y</c> with u the unsigned
    /// 3-bit quant (0..7) and g the bytes' group. The lanes are scaled into float lanes, <c>acc_l = fma(y_d·d, S_l, acc_l)</c>,
    /// and reduced once at the end, halves first, so the result has llama.cpp's bits. Every tier gives the same bits:
    /// the Vector512 tier computes quarters k and k+1 in the two halves of a 512-bit vector and adds the halves at the
    /// end, which is exact in integers. |S_l| ≤ 8·4·4·128·32 = 2^19, so the conversion to float is exact too.
    /// </summary>
    /// <remarks>
    /// The −4 stays inside each int16 pair sum (vpmaddubsw of u minus vpmaddubsw of 4, both against y). Taking it from
    /// the activation's group sums, as <see cref="Q6_K"/> does its −32, would save one vpmaddubsw per 32 quants but
    /// put the offset into other lanes than llama.cpp's AVX2 loop does, which changes the float rounding.
    /// </remarks>
    public static unsafe float Dot(byte* w, byte* x, int blocks, SimdTier tier)
    {
        if (tier == SimdTier.Scalar)
        {
            return DotScalar(w, x, blocks);
        }
        if (Uses512(tier))
        {
            return DotVector512(w, x, blocks);
        }
        Vector256<float> acc = Vector256<float>.Zero;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            byte* xb = x + (long)b * Q8_K.BlockBytes;
            PrefetchBlock(wb);
            Vector256<int> lanes = Avx2.IsSupported ? Lanes256(wb, xb) : LanesPortable(wb, xb);
            acc = Step(acc, F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb + DOffset)), xb, lanes);
        }
        return Int8BlockDot.Sum(acc);
    }

    /// <summary>
    /// The Vector512 loop of <see cref="Dot"/>, apart from the Vector256 one so that it holds no call: the JIT keeps the
    /// accumulator of a loop that calls out in memory.
    /// </summary>
    private static unsafe float DotVector512(byte* w, byte* x, int blocks)
    {
        Vector256<float> acc = Vector256<float>.Zero;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            byte* xb = x + (long)b * Q8_K.BlockBytes;
            PrefetchBlock(wb);
            acc = Step(acc, F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb + DOffset)), xb, Lanes512(wb, xb));
        }
        return Int8BlockDot.Sum(acc);
    }

    /// <summary>
    /// Asks for the lines <see cref="StreamPrefetch.Distance"/> bytes ahead of <paramref name="wb"/> and 64 bytes later:
    /// with 110-byte blocks, consecutive blocks' two requests leave no line of the row out.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchBlock(byte* wb)
    {
        StreamPrefetch.Ahead(wb);
        StreamPrefetch.Ahead(wb + 64);
    }

    /// <summary>Scalar twin of <see cref="Dot"/>: the same lanes and float steps.</summary>
    private static unsafe float DotScalar(byte* w, byte* x, int blocks)
    {
        float* acc = stackalloc float[8];
        int* lanes = stackalloc int[8];
        new Span<float>(acc, 8).Clear();
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            byte* xb = x + (long)b * Q8_K.BlockBytes;
            ScalarLanes(wb, xb, lanes);
            float d = Unsafe.ReadUnaligned<float>(xb) * F16.ToSingle(Unsafe.ReadUnaligned<ushort>(wb + DOffset));
            for (int l = 0; l < 8; l++)
            {
                acc[l] = MathF.FusedMultiplyAdd(d, lanes[l], acc[l]);
            }
        }
        return Int8BlockDot.Sum(acc);
    }

    /// <summary>The eight lanes of one super-block (see <see cref="Dot"/>), element by element; xb is the Q8_K block.</summary>
    private static unsafe void ScalarLanes(byte* wb, byte* xb, int* lanes)
    {
        sbyte* sc = stackalloc sbyte[16];
        GroupScales(wb).Store(sc);
        sbyte* y = (sbyte*)(xb + Q8_K.QsOffset);
        for (int l = 0; l < 8; l++)
        {
            int lane = 0;
            for (int quarter = 0; quarter < 8; quarter++)
            {
                // Quarter 4h+k: elements 32·quarter .. +31, groups 2·quarter (bytes 0..15) and 2·quarter+1.
                byte* qs = wb + QsOffset + 32 * (quarter / 4);
                int part = 0;
                for (int i = 4 * l; i < 4 * l + 4; i++)
                {
                    int u = ((qs[i] >> (2 * (quarter % 4))) & 3) | (((wb[i] >> quarter) & 1) << 2);
                    part += (u - 4) * y[32 * quarter + i];
                }
                lane += sc[2 * quarter + (l >= 4 ? 1 : 0)] * part;
            }
            lanes[l] = lane;
        }
    }

    // Without AVX2 the Vector256 tier only runs when a test forces it; the lanes come from the scalar formula.
    private static unsafe Vector256<int> LanesPortable(byte* wb, byte* xb)
    {
        int* lanes = stackalloc int[8];
        ScalarLanes(wb, xb, lanes);
        return Vector256.Load(lanes);
    }

    /// <summary>
    /// One quarter's unsigned quants (0..7): qs bits <paramref name="shift"/>.. of each byte, and 4 where the quarter's
    /// hmask bit (<paramref name="bit"/>, a one-bit mask) is set.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Quarter(Vector256<byte> qs, Vector256<byte> hmask, int shift, Vector256<byte> bit)
    {
        // Shift 16-bit lanes and mask per byte: the bits that cross a byte boundary are masked away.
        Vector256<byte> low = Vector256.ShiftRightLogical(qs.AsUInt16(), shift).AsByte() & Vector256.Create((byte)3);
        return low | (Vector256.Equals(hmask & bit, bit) & Vector256.Create((byte)4));
    }

    /// <summary>
    /// The four quarters of half <paramref name="h"/> as unsigned quants, in element order, and their scales
    /// (bytes 0..15 of quarter k take group 8h+2k, bytes 16..31 group 8h+2k+1) as int16 for vpmaddwd. AVX2 only.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void UnpackHalf(byte* wb, int h, Vector256<byte> hmask, Vector128<sbyte> groupScales,
        out Vector256<byte> q0, out Vector256<byte> q1, out Vector256<byte> q2, out Vector256<byte> q3,
        out Vector256<short> s0, out Vector256<short> s1, out Vector256<short> s2, out Vector256<short> s3)
    {
        Vector256<byte> qs = Vector256.Load(wb + QsOffset + 32 * h);
        Vector256<byte> bit = Vector256.Create((byte)(1 << (4 * h)));
        q0 = Quarter(qs, hmask, 0, bit);
        q1 = Quarter(qs, hmask, 2, bit + bit);
        q2 = Quarter(qs, hmask, 4, Vector256.ShiftLeft(bit, 2));
        q3 = Quarter(qs, hmask, 6, Vector256.ShiftLeft(bit, 3));
        // Byte pattern (g ×8, g+1 ×8) picks a quarter's two group scales; they are then widened to int16.
        Vector128<sbyte> pick = Vector128.Create(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1) + Vector128.Create((sbyte)(8 * h));
        Vector128<sbyte> two = Vector128.Create((sbyte)2);
        s0 = Avx2.ConvertToVector256Int16(Ssse3.Shuffle(groupScales, pick));
        s1 = Avx2.ConvertToVector256Int16(Ssse3.Shuffle(groupScales, pick + two));
        s2 = Avx2.ConvertToVector256Int16(Ssse3.Shuffle(groupScales, pick + two + two));
        s3 = Avx2.ConvertToVector256Int16(Ssse3.Shuffle(groupScales, pick + two + two + two));
    }

    /// <summary>
    /// One quarter's lanes: <c>scales · Σ pairs (u − 4)·y</c>. Both vpmaddubsw pair sums are exact (at most 2·7·128 and
    /// 2·4·128), and so is their difference, for any y including −128.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> QuarterLanes(Vector256<byte> q, Vector256<sbyte> y, Vector256<short> scales) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, y) - Avx2.MultiplyAddAdjacent(Vector256.Create((byte)4), y), scales);

    /// <summary>The lanes of one half's four quarters against the half's 128 activation quants at <paramref name="y"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<int> Quarters(Vector256<byte> q0, Vector256<byte> q1, Vector256<byte> q2, Vector256<byte> q3,
        Vector256<short> s0, Vector256<short> s1, Vector256<short> s2, Vector256<short> s3, sbyte* y) =>
        QuarterLanes(q0, Vector256.Load(y), s0) + QuarterLanes(q1, Vector256.Load(y + 32), s1)
        + QuarterLanes(q2, Vector256.Load(y + 64), s2) + QuarterLanes(q3, Vector256.Load(y + 96), s3);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<int> Lanes256(byte* wb, byte* xb)
    {
        Vector128<sbyte> groupScales = GroupScales(wb);
        Vector256<byte> hmask = Vector256.Load(wb);
        Vector256<int> acc = Vector256<int>.Zero;
        for (int h = 0; h < 2; h++)
        {
            UnpackHalf(wb, h, hmask, groupScales, out var q0, out var q1, out var q2, out var q3, out var s0, out var s1, out var s2, out var s3);
            acc += Quarters(q0, q1, q2, q3, s0, s1, s2, s3, (sbyte*)(xb + Q8_K.QsOffset) + 128 * h);
        }
        return acc;
    }

    /// <summary>
    /// <see cref="Dot"/> of one weight row with four activation rows (<c>x + t·xStride</c>), written to
    /// <c>y[t·yStride]</c>: each super-block's quants and scales are unpacked once for the four tokens. Every output is
    /// <see cref="Dot"/> of its pair bit for bit (the same lanes, the same float steps).
    /// </summary>
    public static unsafe void Dot4(byte* w, byte* x, long xStride, int blocks, float* y, long yStride, SimdTier tier)
    {
        if (tier == SimdTier.Scalar || !Avx2.IsSupported)
        {
            for (int t = 0; t < 4; t++)
            {
                y[t * yStride] = Dot(w, x + t * xStride, blocks, tier);
            }
            return;
        }
        if (Uses512(tier))
        {
            Dot4Vector512(w, x, xStride, blocks, y, yStride);
            return;
        }
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            PrefetchBlock(wb);
            byte* x0 = x + (long)b * Q8_K.BlockBytes, x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
            Vector128<sbyte> groupScales = GroupScales(wb);
            Vector256<byte> hmask = Vector256.Load(wb);
            Vector256<int> l0 = Vector256<int>.Zero, l1 = l0, l2 = l0, l3 = l0;
            for (int h = 0; h < 2; h++)
            {
                UnpackHalf(wb, h, hmask, groupScales, out var q0, out var q1, out var q2, out var q3, out var s0, out var s1, out var s2, out var s3);
                int yo = Q8_K.QsOffset + 128 * h;
                l0 += Quarters(q0, q1, q2, q3, s0, s1, s2, s3, (sbyte*)(x0 + yo));
                l1 += Quarters(q0, q1, q2, q3, s0, s1, s2, s3, (sbyte*)(x1 + yo));
                l2 += Quarters(q0, q1, q2, q3, s0, s1, s2, s3, (sbyte*)(x2 + yo));
                l3 += Quarters(q0, q1, q2, q3, s0, s1, s2, s3, (sbyte*)(x3 + yo));
            }
            float d = F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb + DOffset));
            acc0 = Step(acc0, d, x0, l0);
            acc1 = Step(acc1, d, x1, l1);
            acc2 = Step(acc2, d, x2, l2);
            acc3 = Step(acc3, d, x3, l3);
        }
        y[0] = Int8BlockDot.Sum(acc0);
        y[yStride] = Int8BlockDot.Sum(acc1);
        y[2 * yStride] = Int8BlockDot.Sum(acc2);
        y[3 * yStride] = Int8BlockDot.Sum(acc3);
    }

    /// <summary><see cref="Dot4"/> with the 512-bit lanes of <see cref="Lanes512"/>: every output keeps <see cref="Dot"/>'s bits.</summary>
    private static unsafe void Dot4Vector512(byte* w, byte* x, long xStride, int blocks, float* y, long yStride)
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            PrefetchBlock(wb);
            byte* x0 = x + (long)b * Q8_K.BlockBytes, x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
            Vector512<short> groupScales = Avx2.ConvertToVector256Int16(GroupScales(wb)).ToVector512Unsafe();
            Vector256<byte> hmask256 = Vector256.Load(wb);
            Vector512<byte> hmask = Vector512.Create(hmask256, hmask256);
            Vector512<int> l0 = Vector512<int>.Zero, l1 = l0, l2 = l0, l3 = l0;
            for (int h = 0; h < 2; h++)
            {
                Vector256<byte> qs256 = Vector256.Load(wb + QsOffset + 32 * h);
                Vector512<byte> qs = Vector512.Create(qs256, qs256);
                for (int k = 0; k < 4; k += 2)
                {
                    PairQuants512(qs, hmask, h, k, out Vector512<byte> u, out Vector512<short> pick);
                    Vector512<short> scales = Avx512BW.PermuteVar32x16(groupScales, pick);
                    int yo = Q8_K.QsOffset + 128 * h + 32 * k;
                    l0 += PairProducts512(u, Vector512.Load((sbyte*)(x0 + yo)), scales);
                    l1 += PairProducts512(u, Vector512.Load((sbyte*)(x1 + yo)), scales);
                    l2 += PairProducts512(u, Vector512.Load((sbyte*)(x2 + yo)), scales);
                    l3 += PairProducts512(u, Vector512.Load((sbyte*)(x3 + yo)), scales);
                }
            }
            float d = F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb + DOffset));
            acc0 = Step(acc0, d, x0, l0.GetLower() + l0.GetUpper());
            acc1 = Step(acc1, d, x1, l1.GetLower() + l1.GetUpper());
            acc2 = Step(acc2, d, x2, l2.GetLower() + l2.GetUpper());
            acc3 = Step(acc3, d, x3, l3.GetLower() + l3.GetUpper());
        }
        y[0] = Int8BlockDot.Sum(acc0);
        y[yStride] = Int8BlockDot.Sum(acc1);
        y[2 * yStride] = Int8BlockDot.Sum(acc2);
        y[3 * yStride] = Int8BlockDot.Sum(acc3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Uses512(SimdTier tier) => tier == SimdTier.Vector512 && Avx512BW.IsSupported;

    /// <summary>
    /// The eight lanes of one super-block with 512-bit vectors (AVX-512BW): quarters k and k+1 of a half fill one
    /// vector, against 64 consecutive activation quants, so no activation needs reordering; the halves of the lanes
    /// are added at the end, giving <see cref="Lanes256"/>'s lanes exactly.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<int> Lanes512(byte* wb, byte* xb)
    {
        sbyte* y = (sbyte*)(xb + Q8_K.QsOffset);
        Vector512<short> groupScales = Avx2.ConvertToVector256Int16(GroupScales(wb)).ToVector512Unsafe();
        Vector256<byte> hmask256 = Vector256.Load(wb);
        Vector512<byte> hmask = Vector512.Create(hmask256, hmask256);
        Vector512<int> acc = Vector512<int>.Zero;
        for (int h = 0; h < 2; h++)
        {
            Vector256<byte> qs256 = Vector256.Load(wb + QsOffset + 32 * h);
            Vector512<byte> qs = Vector512.Create(qs256, qs256);
            acc = PairLanes512(acc, qs, hmask, h, 0, groupScales, y + 128 * h);
            acc = PairLanes512(acc, qs, hmask, h, 2, groupScales, y + 128 * h + 64);
        }
        return acc.GetLower() + acc.GetUpper();
    }

    /// <summary>
    /// Quarters k and k+1 of half h (qs and hmask in both 256-bit halves) against their 64 activation quants at
    /// <paramref name="y"/>, added to acc.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<int> PairLanes512(Vector512<int> acc, Vector512<byte> qs, Vector512<byte> hmask, int h, int k,
        Vector512<short> groupScales, sbyte* y)
    {
        PairQuants512(qs, hmask, h, k, out Vector512<byte> u, out Vector512<short> pick);
        Vector512<short> scales = Avx512BW.PermuteVar32x16(groupScales, pick);
        return acc + PairProducts512(u, Vector512.Load(y), scales);
    }

    /// <summary>The 512-bit <see cref="QuarterLanes"/>: <c>scales · Σ pairs (u − 4)·y</c> for two quarters.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> PairProducts512(Vector512<byte> u, Vector512<sbyte> y, Vector512<short> scales) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, y) - Avx512BW.MultiplyAddAdjacent(Vector512.Create((byte)4), y), scales);

    /// <summary>The unsigned quants of quarters k and k+1 of half h, and the vpermw indices of their four groups' scales.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PairQuants512(Vector512<byte> qs, Vector512<byte> hmask, int h, int k, out Vector512<byte> u, out Vector512<short> pick)
    {
        Vector512<ushort> shifts = k == 0 ? QsShifts01 : QsShifts23;
        Vector512<byte> low = Avx512BW.ShiftRightLogicalVariable(qs.AsUInt16(), shifts).AsByte() & Vector512.Create((byte)3);
        Vector512<byte> bit = Vector512.ShiftLeft(k == 0 ? HmaskBits01 : HmaskBits23, 4 * h);
        u = low | (Vector512.Equals(hmask & bit, bit) & Vector512.Create((byte)4));
        pick = (h, k) switch
        {
            (0, 0) => PickGroups0123,
            (0, _) => PickGroups4567,
            (_, 0) => PickGroups89AB,
            _ => PickGroupsCDEF,
        };
    }

    // Per 256-bit half: the qs shift of quarter k and of quarter k+1, and the hmask bit of each (half 0; half 1 shifts it by 4).
    private static readonly Vector512<ushort> QsShifts01 = Vector512.Create(Vector256<ushort>.Zero, Vector256.Create((ushort)2));
    private static readonly Vector512<ushort> QsShifts23 = Vector512.Create(Vector256.Create((ushort)4), Vector256.Create((ushort)6));
    private static readonly Vector512<byte> HmaskBits01 = Vector512.Create(Vector256.Create((byte)1), Vector256.Create((byte)2));
    private static readonly Vector512<byte> HmaskBits23 = Vector512.Create(Vector256.Create((byte)4), Vector256.Create((byte)8));

    // vpermw indices giving each 128-bit quarter of a vector one group's scale (8 int16 lanes): groups 8h+2k .. 8h+2k+3
    // for the vector of quarters k and k+1 of half h.
    private static readonly Vector512<short> PickGroups0123 = PickGroups(0), PickGroups4567 = PickGroups(4),
        PickGroups89AB = PickGroups(8), PickGroupsCDEF = PickGroups(12);

    private static Vector512<short> PickGroups(int first)
    {
        var idx = new short[32];
        for (int i = 0; i < 32; i++)
        {
            idx[i] = (short)(first + i / 8);
        }
        return Vector512.Create(idx);
    }

    /// <summary>One super-block's float step of <see cref="Dot"/> (and of each token of <see cref="Dot4"/>): <c>acc_l = fma(y_d·d, S_l, acc_l)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<float> Step(Vector256<float> acc, float d, byte* xb, Vector256<int> lanes) =>
        Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.ReadUnaligned<float>(xb) * d), Vector256.ConvertToSingle(lanes), acc);
}

using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_Q6_K: super-blocks of 256 weights in 16 groups of 16, 210 bytes each (ggml-common.h block_q6_K):
/// <code>
/// offset   0  byte   ql[128]     low 4 bits
/// offset 128  byte   qh[64]      high 2 bits
/// offset 192  sbyte  scales[16]  signed 8-bit scale of group g = element / 16
/// offset 208  ushort d           super-block scale, IEEE half (last, unlike the other K-quants)
/// Half h (elements 128h .. 128h+127) uses ql[64h ..], qh[32h ..]; for l = 0..31 its quants are
///   element 128h+l    : ql[l]    &amp; 0xF | (qh[l] bits 0-1) &lt;&lt; 4
///   element 128h+32+l : ql[l+32] &amp; 0xF | (qh[l] bits 2-3) &lt;&lt; 4
///   element 128h+64+l : ql[l]    &gt;&gt; 4  | (qh[l] bits 4-5) &lt;&lt; 4
///   element 128h+96+l : ql[l+32] &gt;&gt; 4  | (qh[l] bits 6-7) &lt;&lt; 4
/// value = d·scales[g]·(q − 32)
/// </code>
/// Its vec_dot_type is Q8_K.
/// </summary>
internal static class Q6_K
{
    public const int BlockSize = Q8_K.BlockSize;
    public const int BlockBytes = 210;
    private const int QhOffset = 128;
    private const int ScalesOffset = 192;
    private const int DOffset = 208;

    // ggml-quants.c GROUP_MAX_EPS: groups whose largest magnitude is below this are treated as zero.
    internal const float GroupMaxEps = 1e-15f;

    /// <summary>
    /// Reference quantizer (ggml-quants.c quantize_row_q6_K_ref): a symmetric fit per group of 16
    /// (make_qx_quants, levels −32..31, weights x²), the 16 group scales quantized to int8 against the scale of
    /// largest magnitude (<c>iscale = −128 / max_scale</c>), then every weight requantized against the stored scales.
    /// </summary>
    public static void QuantizeReference(ReadOnlySpan<float> src, Span<byte> dst) => Quantize(src, default, dst);

    /// <summary>
    /// What llama-quantize writes with an importance matrix (ggml-quants.c quantize_row_q6_K_impl): the same, but each
    /// group's fit weighs its weights by their columns' importance instead of x² (one row of <paramref name="src"/>).
    /// </summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst) => Quantize(src, columnWeights, dst);

    private static void Quantize(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst)
    {
        Debug.Assert(src.Length % BlockSize == 0 && dst.Length == src.Length / BlockSize * BlockBytes);
        Span<byte> levels = stackalloc byte[BlockSize];
        Span<float> scales = stackalloc float[16];
        for (int b = 0; b < src.Length / BlockSize; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> block = dst.Slice(b * BlockBytes, BlockBytes);

            float maxScale = 0f, maxAbsScale = 0f;
            for (int g = 0; g < 16; g++)
            {
                float scale = columnWeights.IsEmpty
                    ? MakeQxQuants(32, x.Slice(16 * g, 16), levels.Slice(16 * g, 16))
                    : WeightedFits.MakeQxQuants(32, x.Slice(16 * g, 16), levels.Slice(16 * g, 16), columnWeights.Slice(b * BlockSize + 16 * g, 16));
                scales[g] = scale;
                float abs = MathF.Abs(scale);
                if (abs > maxAbsScale)
                {
                    maxAbsScale = abs;
                    maxScale = scale;
                }
            }
            if (maxAbsScale < GroupMaxEps)
            {
                block.Clear();
                continue;
            }

            float iscale = -128f / maxScale;
            ushort dBits = F16.FromSingle(1 / iscale);
            MemoryMarshal.Write(block[DOffset..], dBits);
            Span<byte> packedScales = block.Slice(ScalesOffset, 16);
            for (int g = 0; g < 16; g++)
            {
                packedScales[g] = (byte)(sbyte)Math.Min(127, Q8_K.NearestInt(iscale * scales[g]));
            }

            float dAll = F16.ToSingle(dBits);
            for (int g = 0; g < 16; g++)
            {
                float d = dAll * (sbyte)packedScales[g];
                if (d == 0f)
                {
                    continue; // keeps the levels of the fit, as ggml does
                }
                for (int l = 0; l < 16; l++)
                {
                    int q = Q8_K.NearestInt(x[16 * g + l] / d);
                    levels[16 * g + l] = (byte)(Math.Clamp(q, -32, 31) + 32);
                }
            }

            Span<byte> ql = block[..QhOffset], qh = block.Slice(QhOffset, 64);
            for (int h = 0; h < 2; h++)
            {
                ReadOnlySpan<byte> L = levels.Slice(128 * h, 128);
                for (int l = 0; l < 32; l++)
                {
                    ql[64 * h + l] = (byte)((L[l] & 0xF) | ((L[l + 64] & 0xF) << 4));
                    ql[64 * h + l + 32] = (byte)((L[l + 32] & 0xF) | ((L[l + 96] & 0xF) << 4));
                    qh[32 * h + l] = (byte)((L[l] >> 4) | ((L[l + 32] >> 4) << 2) | ((L[l + 64] >> 4) << 4) | ((L[l + 96] >> 4) << 6));
                }
            }
        }
    }

    /// <summary>
    /// ggml-quants.c make_qx_quants with rmse_type = 1 and no importance weights: the symmetric fit
    /// <c>x ≈ scale·l</c>, l in −nmax..nmax−1, weighted by x². Starts at <c>iscale = −nmax / max</c> (max: the signed
    /// value of largest magnitude) and tries <c>−(nmax + 0.1·is) / max</c> for is = ±1..±9, keeping the best
    /// <c>Σwxl² / Σwl²</c>. Writes levels + nmax; returns the scale. Single float operations in C's order.
    /// </summary>
    internal static float MakeQxQuants(int nmax, ReadOnlySpan<float> x, Span<byte> levels)
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
        if (amax < GroupMaxEps)
        {
            levels[..n].Clear();
            return 0f;
        }
        float iscale = -nmax / max;
        float sumLX = 0, sumL2 = 0;
        for (int i = 0; i < n; i++)
        {
            int l = Math.Clamp(Q8_K.NearestInt(iscale * x[i]), -nmax, nmax - 1);
            levels[i] = (byte)(l + nmax);
            float w = x[i] * x[i];
            sumLX += w * x[i] * l;
            sumL2 += w * l * l;
        }
        float scale = sumL2 != 0 ? sumLX / sumL2 : 0f;
        float best = scale * sumLX;
        for (int step = -9; step <= 9; step++)
        {
            if (step == 0)
            {
                continue;
            }
            iscale = -(nmax + 0.1f * step) / max;
            sumLX = sumL2 = 0;
            for (int i = 0; i < n; i++)
            {
                int l = Math.Clamp(Q8_K.NearestInt(iscale * x[i]), -nmax, nmax - 1);
                float w = x[i] * x[i];
                sumLX += w * x[i] * l;
                sumL2 += w * l * l;
            }
            if (sumL2 > 0 && sumLX * sumLX > best * sumL2)
            {
                for (int i = 0; i < n; i++)
                {
                    levels[i] = (byte)(nmax + Math.Clamp(Q8_K.NearestInt(iscale * x[i]), -nmax, nmax - 1));
                }
                scale = sumLX / sumL2;
                best = scale * sumLX;
            }
        }
        return scale;
    }

    /// <summary>dequantize_row_q6_K: <c>y = (d·scale)·(q − 32)</c>, each product rounded to float.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
        => Dequantize(src, dst, SimdCapabilities.Best);

    /// <summary>The decoder at <paramref name="tier"/>: eight lanes at a time (<see cref="DequantizeLanes"/>) or the scalar twin, the same bits.</summary>
    internal static unsafe void Dequantize(ReadOnlySpan<byte> src, Span<float> dst, SimdTier tier) =>
        DequantizeLanes.Run<LaneDecoder>(src, dst, tier, &DequantizeScalar);

    private readonly unsafe struct LaneDecoder : DequantizeLanes.IBlockDecoder
    {
        public static int BlockSize => Q6_K.BlockSize;
        public static int BlockBytes => Q6_K.BlockBytes;

        public static void Decode(byte* block, float* y)
        {
            float d = F16.ToSingle(Unsafe.ReadUnaligned<ushort>(block + DOffset));
            sbyte* sc = (sbyte*)(block + ScalesOffset);
            Vector256<int> four = Vector256.Create(0xF), three = Vector256.Create(3), offset = Vector256.Create(32);
            for (int h = 0; h < 2; h++)
            {
                byte* ql = block + 64 * h, qh = block + QhOffset + 32 * h;
                for (int l = 0; l < 32; l += 8)
                {
                    int g = 8 * h + l / 16;
                    Vector256<int> lo = DequantizeLanes.Widen(ql + l), hi = DequantizeLanes.Widen(ql + l + 32), top = DequantizeLanes.Widen(qh + l);
                    DequantizeLanes.StoreScaled(y + 128 * h + l, ((lo & four) | ((top & three) << 4)) - offset, d * sc[g]);
                    DequantizeLanes.StoreScaled(y + 128 * h + 32 + l, ((hi & four) | (((top >>> 2) & three) << 4)) - offset, d * sc[g + 2]);
                    DequantizeLanes.StoreScaled(y + 128 * h + 64 + l, ((lo >>> 4) | (((top >>> 4) & three) << 4)) - offset, d * sc[g + 4]);
                    DequantizeLanes.StoreScaled(y + 128 * h + 96 + l, ((hi >>> 4) | (((top >>> 6) & three) << 4)) - offset, d * sc[g + 6]);
                }
            }
        }
    }

    private static void DequantizeScalar(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * BlockBytes, BlockBytes);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            float d = F16.ToSingle(MemoryMarshal.Read<ushort>(block[DOffset..]));
            ReadOnlySpan<sbyte> sc = MemoryMarshal.Cast<byte, sbyte>(block.Slice(ScalesOffset, 16));
            for (int h = 0; h < 2; h++)
            {
                ReadOnlySpan<byte> ql = block.Slice(64 * h, 64), qh = block.Slice(QhOffset + 32 * h, 32);
                for (int l = 0; l < 32; l++)
                {
                    int g = 8 * h + l / 16;
                    y[128 * h + l] = d * sc[g] * (((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32);
                    y[128 * h + 32 + l] = d * sc[g + 2] * (((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                    y[128 * h + 64 + l] = d * sc[g + 4] * (((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                    y[128 * h + 96 + l] = d * sc[g + 6] * (((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
                }
            }
        }
    }

    /// <summary>
    /// Q6_K row · Q8_K activation over <paramref name="blocks"/> super-blocks, as llama.cpp's AVX2
    /// ggml_vec_dot_q6_K_q8_K takes it. Per super-block the products go into eight exact int32 lanes S_l: lane l takes
    /// bytes 4l .. 4l+3 of each of the eight 32-quant quarters, <c>scales[g]·Σ q·y</c> with q unsigned (0..63) and g the
    /// bytes' group, minus the offset of groups 2l and 2l+1, <c>32·(scales[2l]·bsums[2l] + scales[2l+1]·bsums[2l+1])</c>,
    /// from the activation's group sums. Taking the −32 from the group sums costs one vpmaddwd per super-block and
    /// token instead of a vpmaddubsw of 32 with every 32 quants: a third of the multiplies, which bound the dots of a
    /// batch of eight. The lanes are scaled into float lanes, <c>acc_l = fma(y_d·d, S_l, acc_l)</c>, and reduced once at
    /// the end, halves first. Every tier gives the same bits: the Vector512 tier computes quarters k and k+1 in the two
    /// halves of a 512-bit vector and adds the halves at the end, which is exact in integers.
    /// </summary>
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
            sbyte* y = (sbyte*)(xb + Q8_K.QsOffset);
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
    /// <see cref="Dot"/> (one token) or <see cref="Dot4"/> (four) with 512-bit vectors over a part of a row
    /// (<see cref="EightTokenPart"/>), each token's running sums kept in <paramref name="state"/> between parts; see
    /// <see cref="AffineKDot{T}.DotPart"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static unsafe void DotPart(byte* w, byte* x, long xStride, int tokens, int blocks, float* state, EightTokenPart part, float* y, long yStride)
    {
        Debug.Assert(tokens is 1 or 4);
        if (tokens == 4)
        {
            Dot4Vector512(w, x, xStride, blocks, state, part, y, yStride);
            return;
        }
        Vector256<float> acc = (part & EightTokenPart.First) == 0 ? Vector256.Load(state) : Vector256<float>.Zero;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            byte* xb = x + (long)b * Q8_K.BlockBytes;
            PrefetchBlock(wb);
            acc = Step(acc, F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb + DOffset)), xb, Lanes512(wb, xb));
        }
        if ((part & EightTokenPart.Last) == 0)
        {
            acc.Store(state);
            return;
        }
        y[0] = Int8BlockDot.Sum(acc);
    }

    /// <summary>Asks for the four lines of the super-block <see cref="StreamPrefetch.Distance"/> bytes ahead of <paramref name="wb"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchBlock(byte* wb)
    {
        StreamPrefetch.Ahead(wb);
        StreamPrefetch.Ahead(wb + 64);
        StreamPrefetch.Ahead(wb + 128);
        StreamPrefetch.Ahead(wb + 192);
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
        sbyte* sc = (sbyte*)(wb + ScalesOffset);
        sbyte* y = (sbyte*)(xb + Q8_K.QsOffset);
        short* bsums = (short*)(xb + Q8_K.BsumsOffset);
        for (int l = 0; l < 8; l++)
        {
            int lane = 0;
            for (int h = 0; h < 2; h++)
            {
                byte* ql = wb + 64 * h, qh = wb + QhOffset + 32 * h;
                for (int k = 0; k < 4; k++)
                {
                    // Quarter k of half h: elements 128h+32k .. +31, groups 8h+2k (bytes 0..15) and 8h+2k+1.
                    int part = 0;
                    for (int i = 4 * l; i < 4 * l + 4; i++)
                    {
                        int low = (k & 1) == 0 ? ql[i] : ql[i + 32];
                        int q = (k < 2 ? low & 0xF : low >> 4) | (((qh[i] >> (2 * k)) & 3) << 4);
                        part += q * y[128 * h + 32 * k + i];
                    }
                    lane += sc[8 * h + 2 * k + (l >= 4 ? 1 : 0)] * part;
                }
            }
            lanes[l] = lane - 32 * (sc[2 * l] * bsums[2 * l] + sc[2 * l + 1] * bsums[2 * l + 1]);
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
    /// The unsigned 6-bit quants (0..63) of quarters k and k+2 of a half (shift = 2k): the low nibbles of
    /// <paramref name="ql"/> with qh bits 2k..2k+1 on top, and its high nibbles with qh bits 2k+4..2k+5 on top.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<byte> Low, Vector256<byte> High) Unpack(Vector256<byte> ql, Vector256<byte> qh, int shift)
    {
        Vector256<byte> mask = Vector256.Create((byte)0x0F), three = Vector256.Create((byte)0x30);
        // Shift 16-bit lanes and mask per byte: the bits that cross a byte boundary are masked away.
        Vector256<ushort> shifted = Vector256.ShiftRightLogical(qh.AsUInt16(), shift);
        Vector256<byte> lowTop = Vector256.ShiftLeft(shifted, 4).AsByte() & three;
        Vector256<byte> highTop = shifted.AsByte() & three;
        return ((ql & mask) | lowTop, (Vector256.ShiftRightLogical(ql.AsUInt16(), 4).AsByte() & mask) | highTop);
    }

    /// <summary>
    /// The four quarters of half <paramref name="h"/> as unsigned quants, in element order, and their scales
    /// (bytes 0..15 of quarter k take group 8h+2k, bytes 16..31 group 8h+2k+1) as int16 for vpmaddwd. AVX2 only.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void UnpackHalf(byte* wb, int h, Vector128<sbyte> groupScales,
        out Vector256<byte> q0, out Vector256<byte> q1, out Vector256<byte> q2, out Vector256<byte> q3,
        out Vector256<short> s0, out Vector256<short> s1, out Vector256<short> s2, out Vector256<short> s3)
    {
        Vector256<byte> qh = Vector256.Load(wb + QhOffset + 32 * h);
        (q0, q2) = Unpack(Vector256.Load(wb + 64 * h), qh, 0);
        (q1, q3) = Unpack(Vector256.Load(wb + 64 * h + 32), qh, 2);
        // Byte pattern (g ×8, g+1 ×8) picks a quarter's two group scales; they are then widened to int16.
        Vector128<sbyte> pick = Vector128.Create(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1) + Vector128.Create((sbyte)(8 * h));
        Vector128<sbyte> two = Vector128.Create((sbyte)2);
        s0 = Avx2.ConvertToVector256Int16(Ssse3.Shuffle(groupScales, pick));
        s1 = Avx2.ConvertToVector256Int16(Ssse3.Shuffle(groupScales, pick + two));
        s2 = Avx2.ConvertToVector256Int16(Ssse3.Shuffle(groupScales, pick + two + two));
        s3 = Avx2.ConvertToVector256Int16(Ssse3.Shuffle(groupScales, pick + two + two + two));
    }

    /// <summary>One quarter's lanes: <c>scales · Σ pairs q·y</c> (each int16 pair sum fits: 2·63·128 &lt; 2^15).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> QuarterLanes(Vector256<byte> q, Vector256<sbyte> y, Vector256<short> scales) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, y), scales);

    /// <summary>
    /// The −32 of every quant, per lane (see <see cref="Dot"/>): <c>32·(scales[2l]·bsums[2l] + scales[2l+1]·bsums[2l+1])</c>
    /// for the 16 group scales as int16 and the Q8_K block <paramref name="xb"/>. |bsums| ≤ 16·128, so a lane stays
    /// under 2^25.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<int> OffsetLanes(Vector256<short> scales, byte* xb) =>
        Avx2.ShiftLeftLogical(Avx2.MultiplyAddAdjacent(scales, Vector256.Load((short*)(xb + Q8_K.BsumsOffset))), 5);

    /// <summary><see cref="OffsetLanes"/> of two 256-bit halves: <paramref name="scales"/> and <paramref name="bsums"/> hold
    /// each half's scales and group sums (two tokens' sums from <see cref="Q8_K.SumPair"/>, or two rows' scales).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> OffsetLanes(Vector512<short> scales, Vector512<short> bsums) =>
        Avx512F.ShiftLeftLogical(Avx512BW.MultiplyAddAdjacent(scales, bsums), 5);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<int> Lanes256(byte* wb, byte* xb)
    {
        Vector128<sbyte> groupScales = Vector128.Load((sbyte*)(wb + ScalesOffset));
        Vector256<int> acc = Vector256<int>.Zero;
        for (int h = 0; h < 2; h++)
        {
            UnpackHalf(wb, h, groupScales, out var q0, out var q1, out var q2, out var q3, out var s0, out var s1, out var s2, out var s3);
            sbyte* yh = (sbyte*)(xb + Q8_K.QsOffset) + 128 * h;
            acc += Quarters(q0, q1, q2, q3, s0, s1, s2, s3, yh);
        }
        return acc - OffsetLanes(Avx2.ConvertToVector256Int16(groupScales), xb);
    }

    /// <summary>
    /// <see cref="Dot"/> of one weight row with four activation rows (<c>x + t·xStride</c>), written to
    /// <c>y[t·yStride]</c>: each super-block's 6-bit quants and scales are unpacked once for the four tokens. Every
    /// output is <see cref="Dot"/> of its pair bit for bit (the same lanes, the same float steps).
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
            Dot4Vector512(w, x, xStride, blocks, null, EightTokenPart.Whole, y, yStride);
            return;
        }
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            PrefetchBlock(wb);
            long o = (long)b * Q8_K.BlockBytes;
            byte* x0 = x + o, x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
            Vector128<sbyte> groupScales = Vector128.Load((sbyte*)(wb + ScalesOffset));
            Vector256<int> l0 = Vector256<int>.Zero, l1 = l0, l2 = l0, l3 = l0;
            for (int h = 0; h < 2; h++)
            {
                UnpackHalf(wb, h, groupScales, out var q0, out var q1, out var q2, out var q3, out var s0, out var s1, out var s2, out var s3);
                int yo = Q8_K.QsOffset + 128 * h;
                l0 += Quarters(q0, q1, q2, q3, s0, s1, s2, s3, (sbyte*)(x0 + yo));
                l1 += Quarters(q0, q1, q2, q3, s0, s1, s2, s3, (sbyte*)(x1 + yo));
                l2 += Quarters(q0, q1, q2, q3, s0, s1, s2, s3, (sbyte*)(x2 + yo));
                l3 += Quarters(q0, q1, q2, q3, s0, s1, s2, s3, (sbyte*)(x3 + yo));
            }
            Vector256<short> scales16 = Avx2.ConvertToVector256Int16(groupScales);
            l0 -= OffsetLanes(scales16, x0);
            l1 -= OffsetLanes(scales16, x1);
            l2 -= OffsetLanes(scales16, x2);
            l3 -= OffsetLanes(scales16, x3);
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
    private static unsafe void Dot4Vector512(byte* w, byte* x, long xStride, int blocks, float* state, EightTokenPart part, float* y, long yStride)
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        if ((part & EightTokenPart.First) == 0)
        {
            acc0 = Vector256.Load(state); acc1 = Vector256.Load(state + 12); acc2 = Vector256.Load(state + 24); acc3 = Vector256.Load(state + 36);
        }
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            if (state != null)
            {
                PrefetchBlock(wb);   // part-major rows stream from memory; a batch's row-major rows sit in cache
            }
            long o = (long)b * Q8_K.BlockBytes;
            byte* x0 = x + o, x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
            Vector512<short> groupScales = GroupScales(wb);
            Vector512<int> l0 = Vector512<int>.Zero, l1 = l0, l2 = l0, l3 = l0;
            for (int h = 0; h < 2; h++)
            {
                UnpackHalf512(wb, h, out var low, out var high);
                Vector512<short> sLow = Avx512BW.PermuteVar32x16(groupScales, h == 0 ? PickGroups0123 : PickGroups89AB);
                Vector512<short> sHigh = Avx512BW.PermuteVar32x16(groupScales, h == 0 ? PickGroups4567 : PickGroupsCDEF);
                int yo = Q8_K.QsOffset + 128 * h;
                l0 = HalfLanes512(l0, low, high, sLow, sHigh, (sbyte*)(x0 + yo));
                l1 = HalfLanes512(l1, low, high, sLow, sHigh, (sbyte*)(x1 + yo));
                l2 = HalfLanes512(l2, low, high, sLow, sHigh, (sbyte*)(x2 + yo));
                l3 = HalfLanes512(l3, low, high, sLow, sHigh, (sbyte*)(x3 + yo));
            }
            float d = F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb + DOffset));
            Vector256<short> scales16 = groupScales.GetLower();
            acc0 = Step(acc0, d, x0, l0.GetLower() + l0.GetUpper() - OffsetLanes(scales16, x0));
            acc1 = Step(acc1, d, x1, l1.GetLower() + l1.GetUpper() - OffsetLanes(scales16, x1));
            acc2 = Step(acc2, d, x2, l2.GetLower() + l2.GetUpper() - OffsetLanes(scales16, x2));
            acc3 = Step(acc3, d, x3, l3.GetLower() + l3.GetUpper() - OffsetLanes(scales16, x3));
        }
        if ((part & EightTokenPart.Last) == 0)
        {
            acc0.Store(state); acc1.Store(state + 12); acc2.Store(state + 24); acc3.Store(state + 36);
            return;
        }
        y[0] = Int8BlockDot.Sum(acc0);
        y[yStride] = Int8BlockDot.Sum(acc1);
        y[2 * yStride] = Int8BlockDot.Sum(acc2);
        y[3 * yStride] = Int8BlockDot.Sum(acc3);
    }

    /// <summary>
    /// <see cref="Dot4"/> of two weight rows (<c>w</c> and <c>w + wStride</c>) with four activation rows: row r's output
    /// for token t goes to <c>y[t·yStride + r]</c>. Every output is <see cref="Dot"/> of its pair bit for bit.
    /// </summary>
    /// <remarks>
    /// With 512-bit vectors the two rows share each token's quant loads and the float step, whose two rows' lanes sit in
    /// the halves of one vector (the offsets of both rows are one vpmaddwd). Other tiers run two <see cref="Dot4"/> calls.
    /// </remarks>
    public static unsafe void Dot2x4(byte* w, long wStride, byte* x, long xStride, int blocks, float* y, long yStride, SimdTier tier)
    {
        if (!Uses512(tier))
        {
            Dot4(w, x, xStride, blocks, y, yStride, tier);
            Dot4(w + wStride, x, xStride, blocks, y + 1, yStride, tier);
            return;
        }
        // Row 0's eight lanes in the low half of each accumulator, row 1's in the high half.
        Vector512<float> acc0 = Vector512<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int b = 0; b < blocks; b++)
        {
            byte* w0 = w + (long)b * BlockBytes, w1 = w0 + wStride;
            PrefetchBlock(w0);   // both rows stream from DRAM in a decode step of four to seven (see MatMul.HasDot8)
            PrefetchBlock(w1);
            byte* x0 = x + (long)b * Q8_K.BlockBytes;
            Vector512<short> groupScales0 = GroupScales(w0), groupScales1 = GroupScales(w1);
            Vector512<int> r0t0 = Vector512<int>.Zero, r0t1 = r0t0, r0t2 = r0t0, r0t3 = r0t0;
            Vector512<int> r1t0 = Vector512<int>.Zero, r1t1 = r1t0, r1t2 = r1t0, r1t3 = r1t0;
            for (int h = 0; h < 2; h++)
            {
                UnpackHalf512(w0, h, out var low0, out var high0);
                UnpackHalf512(w1, h, out var low1, out var high1);
                Vector512<short> pickLow = h == 0 ? PickGroups0123 : PickGroups89AB, pickHigh = h == 0 ? PickGroups4567 : PickGroupsCDEF;
                Vector512<short> sLow0 = Avx512BW.PermuteVar32x16(groupScales0, pickLow), sHigh0 = Avx512BW.PermuteVar32x16(groupScales0, pickHigh);
                Vector512<short> sLow1 = Avx512BW.PermuteVar32x16(groupScales1, pickLow), sHigh1 = Avx512BW.PermuteVar32x16(groupScales1, pickHigh);
                sbyte* y0 = (sbyte*)(x0 + Q8_K.QsOffset + 128 * h);
                HalfLanesTwoRows(ref r0t0, ref r1t0, low0, high0, sLow0, sHigh0, low1, high1, sLow1, sHigh1, y0);
                HalfLanesTwoRows(ref r0t1, ref r1t1, low0, high0, sLow0, sHigh0, low1, high1, sLow1, sHigh1, y0 + xStride);
                HalfLanesTwoRows(ref r0t2, ref r1t2, low0, high0, sLow0, sHigh0, low1, high1, sLow1, sHigh1, y0 + 2 * xStride);
                HalfLanesTwoRows(ref r0t3, ref r1t3, low0, high0, sLow0, sHigh0, low1, high1, sLow1, sHigh1, y0 + 3 * xStride);
            }
            var d = Vector512.Create(Vector256.Create(F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(w0 + DOffset))),
                                     Vector256.Create(F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(w1 + DOffset))));
            var scales01 = Vector512.Create(groupScales0.GetLower(), groupScales1.GetLower());
            acc0 = TwoRowStep(acc0, d, x0, r0t0, r1t0, scales01);
            acc1 = TwoRowStep(acc1, d, x0 + xStride, r0t1, r1t1, scales01);
            acc2 = TwoRowStep(acc2, d, x0 + 2 * xStride, r0t2, r1t2, scales01);
            acc3 = TwoRowStep(acc3, d, x0 + 3 * xStride, r0t3, r1t3, scales01);
        }
        Q8_K.StoreEight(y, yStride, 1, acc0, acc1, acc2, acc3, default, default, hasMin: false);   // token t's rows: y[t·yStride], y[t·yStride + 1]
    }

    /// <summary>
    /// <see cref="Dot"/> of one weight row with eight activation rows (<c>x + t·xStride</c>), written to
    /// <c>y[t·yStride]</c>: each super-block's quants and scales are unpacked once for all eight tokens, so a batch of
    /// eight sequences reads every weight once. Every output is <see cref="Dot"/> of its pair bit for bit.
    /// <paramref name="table"/> holds the eight rows' <see cref="Q8_K.BuildEightTokenTable"/>; <paramref name="part"/> says whether it runs over the whole row or a part of it, with the running sums in <paramref name="state"/> (<see cref="EightTokenPart"/>). Other tiers than Vector512
    /// run two <see cref="Dot4"/> calls (and ignore the table).
    /// </summary>
    /// <remarks>Written out token by token with no ref or out arguments, so that the JIT keeps the eight integer and four
    /// float accumulators (two tokens' lanes per vector) in registers.</remarks>
    public static unsafe void Dot8(byte* w, byte* x, long xStride, byte* table, int blocks, float* state, EightTokenPart part, float* y, long yStride, SimdTier tier)
    {
        if (!Uses512(tier))
        {
            Debug.Assert(part == EightTokenPart.Whole, "rows are split for the 512-bit kernel only");
            Dot4(w, x, xStride, blocks, y, yStride, tier);
            Dot4(w, x + 4 * xStride, xStride, blocks, y + 4 * yStride, yStride, tier);
            return;
        }
        Vector512<float> acc01 = Vector512<float>.Zero, acc23 = acc01, acc45 = acc01, acc67 = acc01;
        if ((part & EightTokenPart.First) == 0)
        {
            acc01 = Vector512.Load(state); acc23 = Vector512.Load(state + 16); acc45 = Vector512.Load(state + 32); acc67 = Vector512.Load(state + 48);
        }
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            PrefetchBlock(wb);   // a decode step of eight streams its weights from DRAM too: 13 % off the FFN (see MatMul.HasDot8)
            byte* x0 = x + (long)b * Q8_K.BlockBytes;
            Vector512<short> groupScales = GroupScales(wb);
            // The two halves written out: the first starts the lanes, and each takes its scale picks as constants
            // (a loop over the halves kept two branches and two constant loads per half).
            UnpackHalf512(wb, 0, out var low, out var high);
            Vector512<short> sLow = Avx512BW.PermuteVar32x16(groupScales, PickGroups0123), sHigh = Avx512BW.PermuteVar32x16(groupScales, PickGroups4567);
            sbyte* q = (sbyte*)(x0 + Q8_K.QsOffset);
            Vector512<int> s0 = FirstHalfLanes(low, high, sLow, sHigh, q);
            Vector512<int> s1 = FirstHalfLanes(low, high, sLow, sHigh, q + xStride);
            Vector512<int> s2 = FirstHalfLanes(low, high, sLow, sHigh, q + 2 * xStride);
            Vector512<int> s3 = FirstHalfLanes(low, high, sLow, sHigh, q + 3 * xStride);
            Vector512<int> s4 = FirstHalfLanes(low, high, sLow, sHigh, q + 4 * xStride);
            Vector512<int> s5 = FirstHalfLanes(low, high, sLow, sHigh, q + 5 * xStride);
            Vector512<int> s6 = FirstHalfLanes(low, high, sLow, sHigh, q + 6 * xStride);
            Vector512<int> s7 = FirstHalfLanes(low, high, sLow, sHigh, q + 7 * xStride);
            UnpackHalf512(wb, 1, out low, out high);
            sLow = Avx512BW.PermuteVar32x16(groupScales, PickGroups89AB);
            sHigh = Avx512BW.PermuteVar32x16(groupScales, PickGroupsCDEF);
            q += 128;
            s0 = HalfLanes512(s0, low, high, sLow, sHigh, q);
            s1 = HalfLanes512(s1, low, high, sLow, sHigh, q + xStride);
            s2 = HalfLanes512(s2, low, high, sLow, sHigh, q + 2 * xStride);
            s3 = HalfLanes512(s3, low, high, sLow, sHigh, q + 3 * xStride);
            s4 = HalfLanes512(s4, low, high, sLow, sHigh, q + 4 * xStride);
            s5 = HalfLanes512(s5, low, high, sLow, sHigh, q + 5 * xStride);
            s6 = HalfLanes512(s6, low, high, sLow, sHigh, q + 6 * xStride);
            s7 = HalfLanes512(s7, low, high, sLow, sHigh, q + 7 * xStride);
            byte* tb = table + (long)b * Q8_K.EightTokenTableBytes;
            var d = Vector512.Create(F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb + DOffset)));
            var scales2 = Vector512.Create(groupScales.GetLower(), groupScales.GetLower());
            acc01 = Q8_K.TwoTokenStep(acc01, d, Q8_K.ScalePair(tb, 0), s0, s1, OffsetLanes(scales2, Q8_K.SumPair(tb, 0)));
            acc23 = Q8_K.TwoTokenStep(acc23, d, Q8_K.ScalePair(tb, 1), s2, s3, OffsetLanes(scales2, Q8_K.SumPair(tb, 1)));
            acc45 = Q8_K.TwoTokenStep(acc45, d, Q8_K.ScalePair(tb, 2), s4, s5, OffsetLanes(scales2, Q8_K.SumPair(tb, 2)));
            acc67 = Q8_K.TwoTokenStep(acc67, d, Q8_K.ScalePair(tb, 3), s6, s7, OffsetLanes(scales2, Q8_K.SumPair(tb, 3)));
        }
        if ((part & EightTokenPart.Last) == 0)
        {
            acc01.Store(state); acc23.Store(state + 16); acc45.Store(state + 32); acc67.Store(state + 48);
            return;
        }
        Q8_K.StoreEightTokens(y, yStride, acc01, acc23, acc45, acc67, default, default, hasMin: false);
    }

    /// <summary><see cref="HalfLanes512"/> for two rows against one token's quants, loaded once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void HalfLanesTwoRows(ref Vector512<int> row0, ref Vector512<int> row1,
        Vector512<byte> low0, Vector512<byte> high0, Vector512<short> sLow0, Vector512<short> sHigh0,
        Vector512<byte> low1, Vector512<byte> high1, Vector512<short> sLow1, Vector512<short> sHigh1, sbyte* y)
    {
        Vector512<sbyte> yLow = Vector512.Load(y), yHigh = Vector512.Load(y + 64);
        row0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(low0, yLow), sLow0)
              + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(high0, yHigh), sHigh0);
        row1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(low1, yLow), sLow1)
              + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(high1, yHigh), sHigh1);
    }

    /// <summary>
    /// <see cref="Step"/> for two rows: the 256-bit halves of each row's lanes added ([row 0, row 1]), and d holding row 0's
    /// scale in the low half and row 1's in the high half, so each lane sees Step's products.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<float> TwoRowStep(Vector512<float> acc, Vector512<float> d, byte* xb, Vector512<int> row0, Vector512<int> row1,
        Vector512<short> scales01)
    {
        Vector256<short> bsums = Vector256.Load((short*)(xb + Q8_K.BsumsOffset));
        Vector512<int> lanes = Avx512F.Shuffle4x128(row0, row1, 0x44) + Avx512F.Shuffle4x128(row0, row1, 0xEE) - OffsetLanes(scales01, Vector512.Create(bsums, bsums));
        return Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.ReadUnaligned<float>(xb)) * d, Vector512.ConvertToSingle(lanes), acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Uses512(SimdTier tier) => tier == SimdTier.Vector512 && Avx512BW.IsSupported;

    /// <summary>
    /// The eight lanes of one super-block with 512-bit vectors (AVX-512BW): per half, quarters 0 and 1 fill one vector
    /// and quarters 2 and 3 another, each against 64 consecutive activation quants, so no activation needs reordering;
    /// the halves of the lanes are added at the end, giving <see cref="Lanes256"/>'s lanes exactly.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<int> Lanes512(byte* wb, byte* xb)
    {
        sbyte* y = (sbyte*)(xb + Q8_K.QsOffset);
        Vector512<short> groupScales = GroupScales(wb);
        UnpackHalf512(wb, 0, out var low, out var high);
        Vector512<int> acc = HalfLanes512(Vector512<int>.Zero, low, high,
            Avx512BW.PermuteVar32x16(groupScales, PickGroups0123), Avx512BW.PermuteVar32x16(groupScales, PickGroups4567), y);
        UnpackHalf512(wb, 1, out low, out high);
        acc = HalfLanes512(acc, low, high,
            Avx512BW.PermuteVar32x16(groupScales, PickGroups89AB), Avx512BW.PermuteVar32x16(groupScales, PickGroupsCDEF), y + 128);
        return acc.GetLower() + acc.GetUpper() - OffsetLanes(groupScales.GetLower(), xb);
    }

    /// <summary>The 16 group scales sign-extended to int16 (in the low 256 bits), for the group picks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<short> GroupScales(byte* wb) =>
        Avx2.ConvertToVector256Int16(Vector128.Load((sbyte*)(wb + ScalesOffset))).ToVector512Unsafe();

    // vpermw indices giving each 128-bit quarter of a vector one group's scale (8 int16 lanes): groups 8h+0..3 for the
    // vector of quarters 0 and 1 of half h (bytes 0-15 and 16-31 of each quarter take consecutive groups), 8h+4..7 for
    // quarters 2 and 3.
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

    // Right shifts of qh per 256-bit half: 0 for quarter 0 (and 2), 2 for quarter 1 (and 3).
    private static readonly Vector512<ushort> QhShifts = Vector512.Create(Vector256<ushort>.Zero, Vector256.Create((ushort)2));

    /// <summary>
    /// Half <paramref name="h"/>'s quants as unsigned 6-bit values: <paramref name="low"/> = quarters 0 and 1 (the low
    /// nibbles of ql[0..32] and ql[32..64] with qh bits 0-1 and 2-3), <paramref name="high"/> = quarters 2 and 3 (their
    /// high nibbles with qh bits 4-5 and 6-7), qh in both halves.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void UnpackHalf512(byte* wb, int h, out Vector512<byte> low, out Vector512<byte> high)
    {
        Vector512<byte> mask = Vector512.Create((byte)0x0F), three = Vector512.Create((byte)0x30);
        Vector512<byte> ql = Vector512.Load(wb + 64 * h);
        // Not Avx512F.BroadcastVector256ToVector512(ulong*): on .NET 10.0.12 it broadcast the pointer's own bytes.
        Vector256<ushort> qh256 = Vector256.Load((ushort*)(wb + QhOffset + 32 * h));
        Vector512<ushort> qh = Vector512.Create(qh256, qh256);
        Vector512<ushort> shifted = Avx512BW.ShiftRightLogicalVariable(qh, QhShifts);
        low = (ql & mask) | (Vector512.ShiftLeft(shifted, 4).AsByte() & three);
        high = (Vector512.ShiftRightLogical(ql.AsUInt16(), 4).AsByte() & mask) | (shifted.AsByte() & three);
    }

    /// <summary><see cref="HalfLanes512"/> into zero lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<int> FirstHalfLanes(Vector512<byte> low, Vector512<byte> high, Vector512<short> sLow, Vector512<short> sHigh, sbyte* y) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(low, Vector512.Load(y)), sLow)
        + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(high, Vector512.Load(y + 64)), sHigh);

    /// <summary>One half's lanes added to acc: <c>scales · Σ pairs q·y</c> for both quant vectors of the half (the −32 comes later, from <see cref="OffsetLanes(Vector256{short}, byte*)"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<int> HalfLanes512(Vector512<int> acc, Vector512<byte> low, Vector512<byte> high,
        Vector512<short> sLow, Vector512<short> sHigh, sbyte* y)
    {
        Vector512<sbyte> yLow = Vector512.Load(y), yHigh = Vector512.Load(y + 64);
        return acc + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(low, yLow), sLow)
                   + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(high, yHigh), sHigh);
    }

    /// <summary>One super-block's float step of <see cref="Dot"/> (and of each token of <see cref="Dot4"/>): <c>acc_l = fma(y_d·d, S_l, acc_l)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<float> Step(Vector256<float> acc, float d, byte* xb, Vector256<int> lanes) =>
        Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.ReadUnaligned<float>(xb) * d), Vector256.ConvertToSingle(lanes), acc);

    /// <summary>The lanes of one half's four quarters against the half's 128 activation quants at <paramref name="y"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<int> Quarters(Vector256<byte> q0, Vector256<byte> q1, Vector256<byte> q2, Vector256<byte> q3,
        Vector256<short> s0, Vector256<short> s1, Vector256<short> s2, Vector256<short> s3, sbyte* y) =>
        QuarterLanes(q0, Vector256.Load(y), s0) + QuarterLanes(q1, Vector256.Load(y + 32), s1)
        + QuarterLanes(q2, Vector256.Load(y + 64), s2) + QuarterLanes(q3, Vector256.Load(y + 96), s3);
}

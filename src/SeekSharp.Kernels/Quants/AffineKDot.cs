using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// Where the 4- or 5-bit quants of an affine K-quant super-block are (Q4_K, Q5_K): both share the header (d, dmin,
/// 12 bytes of six-bit scales and minimums at offset 4) and the value <c>d·sc[j]·q − dmin·m[j]</c>, and differ only in
/// how q is stored. Chunk c (0..3) holds elements 64c .. 64c+31 (sub-block 2c, the "low" quants) and 64c+32 ..
/// 64c+63 (sub-block 2c+1, the "high" ones). <see cref="AffineKDot{T}"/> holds the dots, written once for both.
/// </summary>
internal unsafe interface IAffineKQuants
{
    /// <summary>Bytes per super-block of 256 weights.</summary>
    static abstract int BlockBytes { get; }

    /// <summary>Chunk <paramref name="c"/>'s low and high quants, 32 bytes each (AVX2).</summary>
    static abstract (Vector256<byte> Lo, Vector256<byte> Hi) Chunk(byte* wb, int c);

    /// <summary>Chunks 2p and 2p+1 (<paramref name="p"/> = 0, 1): the low quants of chunk 2p in the low 256 bits and of chunk 2p+1 in the high 256 bits, the same for the high quants (AVX-512BW).</summary>
    static abstract (Vector512<byte> Lo, Vector512<byte> Hi) ChunkPair(byte* wb, int p);

    /// <summary>Scalar twin: quant <paramref name="i"/> (0..31) of chunk <paramref name="c"/>, low or high.</summary>
    static abstract int Quant(byte* wb, int c, int i, bool high);
}

/// <summary>What the affine K-quant dots share that does not depend on the quants' layout.</summary>
internal static class AffineKDot
{
    /// <summary>
    /// Puts Q8_K activation blocks (in place) into the order the vector dots read (AVX2 and AVX-512BW; the scalar tier
    /// and a Vector256 tier without AVX2 read Q8_K as it is). Each 128-quant half holds four sub-blocks A, B, C, D of
    /// 32, in 16-byte pieces A0 A1 B0 B1 C0 C1 D0 D1; they are stored as A0 B0 C0 D0 A1 B1 C1 D1, the order of the
    /// weight vectors that put the first and the second 16 quants of four sub-blocks side by side (see
    /// <see cref="AffineKDot{T}"/>): each 64-byte half (and each 32-byte quarter for AVX2) is then one load.
    /// The first eight of the 16 group sums are replaced by the pair sums the minimum terms use (bsums[2j] +
    /// bsums[2j+1], at most 32·128 in magnitude), which each dot would otherwise form again for every weight row.
    /// </summary>
    public static unsafe void PrepareActivation(byte* x, int blocks, SimdTier tier)
    {
        if (!Rearranged(tier))
        {
            return;
        }
        for (int b = 0; b < blocks; b++)
        {
            byte* qs = x + (long)b * Q8_K.BlockBytes + Q8_K.QsOffset;
            for (int h = 0; h < 2; h++)
            {
                byte* half = qs + 128 * h;
                Vector128<byte> p0 = Vector128.Load(half), p1 = Vector128.Load(half + 16), p2 = Vector128.Load(half + 32), p3 = Vector128.Load(half + 48);
                Vector128<byte> p4 = Vector128.Load(half + 64), p5 = Vector128.Load(half + 80), p6 = Vector128.Load(half + 96), p7 = Vector128.Load(half + 112);
                p0.Store(half); p2.Store(half + 16); p4.Store(half + 32); p6.Store(half + 48);
                p1.Store(half + 64); p3.Store(half + 80); p5.Store(half + 96); p7.Store(half + 112);
            }
            short* bsums = (short*)(x + (long)b * Q8_K.BlockBytes + Q8_K.BsumsOffset);
            Ssse3.HorizontalAdd(Vector128.Load(bsums), Vector128.Load(bsums + 8)).Store(bsums);
        }
    }

    /// <summary>Whether the dots of <paramref name="tier"/> read the order of <see cref="PrepareActivation"/> (AVX2 or AVX-512BW lanes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool Rearranged(SimdTier tier) => tier != SimdTier.Scalar && Avx2.IsSupported;

    /// <summary>Whether <paramref name="tier"/> runs the 512-bit lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool Uses512(SimdTier tier) => tier == SimdTier.Vector512 && Avx512BW.IsSupported;
}

/// <summary>
/// The dots of the affine K-quants (<see cref="IAffineKQuants"/>) against Q8_K activations: one token, four, two rows
/// of four and eight, each output bit for bit the one-token dot of its pair. The integer lanes are exact in float:
/// a lane sums 32 products of at most <c>q_max·63·128</c> (Q5_K: 8.0·10^6 &lt; 2^24); vpmaddubsw's pair sums, and
/// the int16 sums of two of them, stay below 2^15 (4·31·128).
/// Each loop is its own compilation root (NoInlining): inlined into a type's one-line forward, the JIT ran out of
/// inlining budget and left Q5_K's unpacking as calls, and its dot took 34-40 ns per super-block instead of 6.7.
/// </summary>
internal static unsafe class AffineKDot<T> where T : struct, IAffineKQuants
{
    private const int ScalesOffset = 4;

    /// <summary>
    /// Q4_K or Q5_K row · Q8_K activation over <paramref name="blocks"/> super-blocks, with the float steps of llama.cpp's
    /// AVX2 ggml_vec_dot_q4_K_q8_K (and _q5_K_q8_K). Per super-block the products go into eight exact int32 lanes:
    /// lane 4h + r (h = 0, 1; r = 0..3) takes the sub-blocks j of parity h, each one's quants 4r .. 4r+3 and
    /// 16+4r .. 16+4r+3 times its scale. (ggml's lane l takes quants 4l .. 4l+3 of every sub-block; ours let two
    /// vpmaddubsw results be added in int16 before the one vpmaddwd by the scales, a quarter fewer instructions per token
    /// in the multi-token dots: the eight-token Q4_K product went from 2.09 to 1.85 ns per super-block and token.)
    /// The minimum terms go into four exact lanes M_k = m[2k]·(bsums[4k] + bsums[4k+1]) + m[2k+1]·(bsums[4k+2] + bsums[4k+3]).
    /// Both are scaled into float lanes, <c>acc_l = fma(y_d·d, S_l, acc_l)</c> and <c>accm_k = fma(−y_d·dmin, M_k, accm_k)</c>,
    /// and reduced once at the end, halves first. Every tier gives the same bits: the Vector512 tier computes the lanes
    /// of four sub-blocks at once, one per 128-bit quarter, and adds the 256-bit halves, which is exact in integers.
    /// <paramref name="x"/> must be in the order <see cref="AffineKDot.PrepareActivation"/> gives for <paramref name="tier"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
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
        Vector128<float> accMin = Vector128<float>.Zero;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * T.BlockBytes;
            byte* xb = x + (long)b * Q8_K.BlockBytes;
            PrefetchBlock(wb);
            var (scales, mins) = Q4_K.UnpackScaleMinsWords(wb + ScalesOffset);
            Vector256<int> lanes = Lanes256(wb, (sbyte*)(xb + Q8_K.QsOffset), scales);
            Vector128<int> minLanes = Avx2.IsSupported ? PairSumMinLanes(MinsAsShorts(mins), xb) : MinLanes(MinsAsShorts(mins), xb);
            acc = Step(acc, ref accMin, HalfAt(wb), HalfAt(wb + 2), minLanes, xb, lanes);
        }
        return Int8BlockDot.Sum(acc) + SumMin(accMin);
    }

    /// <summary>
    /// The Vector512 loop of <see cref="Dot"/>, apart from the Vector256 one so that it holds no call: sharing one loop, the
    /// JIT left the lanes uninlined and kept the accumulators in memory, and a super-block took 6.3-9.7 ns instead of 3.9
    /// (one thread, 128 × 1536 weights in L2).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe float DotVector512(byte* w, byte* x, int blocks)
    {
        Vector256<float> acc = Vector256<float>.Zero;
        Vector128<float> accMin = Vector128<float>.Zero;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * T.BlockBytes;
            byte* xb = x + (long)b * Q8_K.BlockBytes;
            PrefetchBlock(wb);
            var (scales, mins) = Q4_K.UnpackScaleMinsWords(wb + ScalesOffset);
            Vector256<int> lanes = Lanes512(wb, (sbyte*)(xb + Q8_K.QsOffset), scales);
            acc = Step(acc, ref accMin, HalfAt(wb), HalfAt(wb + 2), PairSumMinLanes(MinsAsShorts(mins), xb), xb, lanes);
        }
        return Int8BlockDot.Sum(acc) + SumMin(accMin);
    }

    /// <summary>
    /// <see cref="Dot"/> (one token) or <see cref="Dot4"/> (four, <c>x + t·xStride</c>) with 512-bit vectors over a part
    /// of a row (<see cref="EightTokenPart"/>), each token's running sums kept in <paramref name="state"/>
    /// (<c>MatMul.PartStateFloats</c> floats per token) between parts: the parts of a row in order give <see cref="Dot"/>'s
    /// bits, for rows stored part-major (<see cref="MatMul.MatMulRowsPartMajor"/>). The last part writes <c>y[t·yStride]</c>.
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
        Vector256<float> acc = Vector256<float>.Zero;
        Vector128<float> accMin = Vector128<float>.Zero;
        if ((part & EightTokenPart.First) == 0)
        {
            acc = Vector256.Load(state);
            accMin = Vector128.Load(state + 8);
        }
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * T.BlockBytes;
            byte* xb = x + (long)b * Q8_K.BlockBytes;
            PrefetchBlock(wb);
            var (scales, mins) = Q4_K.UnpackScaleMinsWords(wb + ScalesOffset);
            Vector256<int> lanes = Lanes512(wb, (sbyte*)(xb + Q8_K.QsOffset), scales);
            acc = Step(acc, ref accMin, HalfAt(wb), HalfAt(wb + 2), PairSumMinLanes(MinsAsShorts(mins), xb), xb, lanes);
        }
        if ((part & EightTokenPart.Last) == 0)
        {
            acc.Store(state);
            accMin.Store(state + 8);
            return;
        }
        y[0] = Int8BlockDot.Sum(acc) + SumMin(accMin);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe float HalfAt(byte* p) => F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(p));

    /// <summary>Asks for the lines of the super-block <see cref="StreamPrefetch.Distance"/> bytes ahead of <paramref name="wb"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchBlock(byte* wb)
    {
        StreamPrefetch.Ahead(wb);
        StreamPrefetch.Ahead(wb + 64);
        StreamPrefetch.Ahead(wb + 128);
        if (T.BlockBytes > 144)
        {
            StreamPrefetch.Ahead(wb + T.BlockBytes - 1);   // a constant test: the JIT keeps one branch
        }
    }

    /// <summary>
    /// <see cref="Dot"/> of one weight row with four activation rows (<c>x + t·xStride</c>), written to
    /// <c>y[t·yStride]</c>: the quants and scales of each super-block are unpacked once for the four tokens.
    /// Every output is <see cref="Dot"/> of its pair bit for bit (the same lanes, the same float steps).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
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
        Vector128<float> min0 = Vector128<float>.Zero, min1 = min0, min2 = min0, min3 = min0;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * T.BlockBytes;
            PrefetchBlock(wb);
            long o = (long)b * Q8_K.BlockBytes;
            byte* x0 = x + o, x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
            var (scaleWord, mins) = Q4_K.UnpackScaleMinsWords(wb + ScalesOffset);
            Vector256<byte> scales = ScalesPerHalf(scaleWord);
            Vector256<int> s0 = Vector256<int>.Zero, s1 = s0, s2 = s0, s3 = s0;
            for (int c = 0; c < 4; c++)
            {
                var (first, second) = Sixteens(T.Chunk(wb, c));
                Vector256<short> sc = Avx2.Shuffle(scales, PickChunk(c)).AsInt16();
                int yo = Q8_K.QsOffset + ChunkOffset(c);
                s0 += SixteensTimesScales(first, second, (sbyte*)(x0 + yo), sc);
                s1 += SixteensTimesScales(first, second, (sbyte*)(x1 + yo), sc);
                s2 += SixteensTimesScales(first, second, (sbyte*)(x2 + yo), sc);
                s3 += SixteensTimesScales(first, second, (sbyte*)(x3 + yo), sc);
            }
            float d = F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb)), dmin = F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb + 2));
            Vector128<short> m = MinsAsShorts(mins);
            acc0 = Step(acc0, ref min0, d, dmin, PairSumMinLanes(m, x0), x0, s0);
            acc1 = Step(acc1, ref min1, d, dmin, PairSumMinLanes(m, x1), x1, s1);
            acc2 = Step(acc2, ref min2, d, dmin, PairSumMinLanes(m, x2), x2, s2);
            acc3 = Step(acc3, ref min3, d, dmin, PairSumMinLanes(m, x3), x3, s3);
        }
        y[0] = Int8BlockDot.Sum(acc0) + SumMin(min0);
        y[yStride] = Int8BlockDot.Sum(acc1) + SumMin(min1);
        y[2 * yStride] = Int8BlockDot.Sum(acc2) + SumMin(min2);
        y[3 * yStride] = Int8BlockDot.Sum(acc3) + SumMin(min3);
    }

    /// <summary>
    /// <see cref="Dot4"/> with 512-bit vectors: chunks 2p and 2p+1 of the quants in one vector, each token's lanes as in
    /// <see cref="Lanes512"/>, so every output keeps <see cref="Dot"/>'s bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe void Dot4Vector512(byte* w, byte* x, long xStride, int blocks, float* state, EightTokenPart part, float* y, long yStride)
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        Vector128<float> min0 = Vector128<float>.Zero, min1 = min0, min2 = min0, min3 = min0;
        if ((part & EightTokenPart.First) == 0)
        {
            acc0 = Vector256.Load(state); min0 = Vector128.Load(state + 8);
            acc1 = Vector256.Load(state + 12); min1 = Vector128.Load(state + 20);
            acc2 = Vector256.Load(state + 24); min2 = Vector128.Load(state + 32);
            acc3 = Vector256.Load(state + 36); min3 = Vector128.Load(state + 44);
        }
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * T.BlockBytes;
            if (state != null)
            {
                PrefetchBlock(wb);   // part-major rows stream from memory; a batch's row-major rows sit in cache
            }
            long o = (long)b * Q8_K.BlockBytes;
            byte* x0 = x + o, x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
            var (scaleWord, mins) = Q4_K.UnpackScaleMinsWords(wb + ScalesOffset);
            Vector512<byte> scales = ScalesPerQuarter(scaleWord);
            Vector512<int> s0 = Vector512<int>.Zero, s1 = s0, s2 = s0, s3 = s0;
            ChunkPairFourTokens(ref s0, ref s1, ref s2, ref s3, T.ChunkPair(wb, 0), x0, xStride, Q8_K.QsOffset, scales, PickPair0);
            ChunkPairFourTokens(ref s0, ref s1, ref s2, ref s3, T.ChunkPair(wb, 1), x0, xStride, Q8_K.QsOffset + 128, scales, PickPair1);
            float d = F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb)), dmin = F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb + 2));
            Vector128<short> m = MinsAsShorts(mins);
            acc0 = Step(acc0, ref min0, d, dmin, PairSumMinLanes(m, x0), x0, s0.GetLower() + s0.GetUpper());
            acc1 = Step(acc1, ref min1, d, dmin, PairSumMinLanes(m, x1), x1, s1.GetLower() + s1.GetUpper());
            acc2 = Step(acc2, ref min2, d, dmin, PairSumMinLanes(m, x2), x2, s2.GetLower() + s2.GetUpper());
            acc3 = Step(acc3, ref min3, d, dmin, PairSumMinLanes(m, x3), x3, s3.GetLower() + s3.GetUpper());
        }
        if ((part & EightTokenPart.Last) == 0)
        {
            acc0.Store(state); min0.Store(state + 8);
            acc1.Store(state + 12); min1.Store(state + 20);
            acc2.Store(state + 24); min2.Store(state + 32);
            acc3.Store(state + 36); min3.Store(state + 44);
            return;
        }
        y[0] = Int8BlockDot.Sum(acc0) + SumMin(min0);
        y[yStride] = Int8BlockDot.Sum(acc1) + SumMin(min1);
        y[2 * yStride] = Int8BlockDot.Sum(acc2) + SumMin(min2);
        y[3 * yStride] = Int8BlockDot.Sum(acc3) + SumMin(min3);
    }

    /// <summary>
    /// <see cref="Dot4"/> of two weight rows (<c>w</c> and <c>w + wStride</c>) with four activation rows: row r's output
    /// for token t goes to <c>y[t·yStride + r]</c>. Every output is <see cref="Dot"/> of its pair bit for bit.
    /// </summary>
    /// <remarks>
    /// With 512-bit vectors the float steps of the two rows share their instructions: their lanes sit in the two halves
    /// of one vector, so one conversion and one multiply-add serve both rows, and each token's minimum terms for both
    /// rows take one vpmaddwd. The integer work is that of two <see cref="Dot4"/> calls. Other tiers run those calls.
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static unsafe void Dot2x4(byte* w, long wStride, byte* x, long xStride, int blocks, float* y, long yStride, SimdTier tier)
    {
        if (!Uses512(tier))
        {
            Dot4(w, x, xStride, blocks, y, yStride, tier);
            Dot4(w + wStride, x, xStride, blocks, y + 1, yStride, tier);
            return;
        }
        // Float accumulators: row 0's eight lanes in the low half, row 1's in the high half; the minimum ones four and four.
        Vector512<float> acc0 = Vector512<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        Vector256<float> min0 = Vector256<float>.Zero, min1 = min0, min2 = min0, min3 = min0;
        for (int b = 0; b < blocks; b++)
        {
            byte* w0 = w + (long)b * T.BlockBytes, w1 = w0 + wStride;
            PrefetchBlock(w0);   // both rows stream from DRAM in a decode step of four to seven (see MatMul.HasDot8)
            PrefetchBlock(w1);
            byte* x0 = x + (long)b * Q8_K.BlockBytes;
            var (scaleWord0, mins0) = Q4_K.UnpackScaleMinsWords(w0 + ScalesOffset);
            var (scaleWord1, mins1) = Q4_K.UnpackScaleMinsWords(w1 + ScalesOffset);
            Vector512<byte> scales0 = ScalesPerQuarter(scaleWord0), scales1 = ScalesPerQuarter(scaleWord1);
            Vector512<int> r0t0 = Vector512<int>.Zero, r0t1 = r0t0, r0t2 = r0t0, r0t3 = r0t0;
            Vector512<int> r1t0 = Vector512<int>.Zero, r1t1 = r1t0, r1t2 = r1t0, r1t3 = r1t0;
            ChunkPairFourTokens(ref r0t0, ref r0t1, ref r0t2, ref r0t3, T.ChunkPair(w0, 0), x0, xStride, Q8_K.QsOffset, scales0, PickPair0);
            ChunkPairFourTokens(ref r0t0, ref r0t1, ref r0t2, ref r0t3, T.ChunkPair(w0, 1), x0, xStride, Q8_K.QsOffset + 128, scales0, PickPair1);
            ChunkPairFourTokens(ref r1t0, ref r1t1, ref r1t2, ref r1t3, T.ChunkPair(w1, 0), x0, xStride, Q8_K.QsOffset, scales1, PickPair0);
            ChunkPairFourTokens(ref r1t0, ref r1t1, ref r1t2, ref r1t3, T.ChunkPair(w1, 1), x0, xStride, Q8_K.QsOffset + 128, scales1, PickPair1);
            var d = Vector512.Create(Vector256.Create(HalfAt(w0)), Vector256.Create(HalfAt(w1)));
            var dmin = Vector256.Create(Vector128.Create(HalfAt(w0 + 2)), Vector128.Create(HalfAt(w1 + 2)));
            var mins = Vector256.Create(MinsAsShorts(mins0), MinsAsShorts(mins1));
            acc0 = TwoRowStep(acc0, ref min0, d, dmin, mins, x0, r0t0, r1t0);
            acc1 = TwoRowStep(acc1, ref min1, d, dmin, mins, x0 + xStride, r0t1, r1t1);
            acc2 = TwoRowStep(acc2, ref min2, d, dmin, mins, x0 + 2 * xStride, r0t2, r1t2);
            acc3 = TwoRowStep(acc3, ref min3, d, dmin, mins, x0 + 3 * xStride, r0t3, r1t3);
        }
        // Token t's rows are results 2t and 2t + 1: y[t·yStride] and y[t·yStride + 1].
        Q8_K.StoreEight(y, yStride, 1, acc0, acc1, acc2, acc3, Vector512.Create(min0, min1), Vector512.Create(min2, min3), hasMin: true);
    }

    /// <summary>
    /// <see cref="Dot"/> of one weight row with eight activation rows (<c>x + t·xStride</c>), written to
    /// <c>y[t·yStride]</c>: each super-block's quants and scales are unpacked once for all eight tokens, so a batch of
    /// eight sequences reads every weight once, as a single token does. Every output is <see cref="Dot"/> of its pair
    /// bit for bit. <paramref name="table"/> holds the eight rows' <see cref="Q8_K.BuildEightTokenTable"/>; <paramref name="part"/> says whether it runs over the whole row or a part of it, with the running sums in <paramref name="state"/> (<see cref="EightTokenPart"/>). Other tiers
    /// than Vector512 run two <see cref="Dot4"/> calls (and ignore the table).
    /// </summary>
    /// <remarks>
    /// Written out token by token, with no ref arguments: the JIT keeps the eight integer accumulators, four float ones
    /// (two tokens' eight lanes per vector, as the rows of <see cref="Dot2x4"/>) and two minimum ones (four tokens' four
    /// lanes each) in registers.
    /// Dot2x4 with its accumulators passed by reference spilled them to the stack on every super-block (89 stack
    /// accesses in its loop).
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
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
        Vector512<float> min0123 = Vector512<float>.Zero, min4567 = min0123;
        if ((part & EightTokenPart.First) == 0)
        {
            acc01 = Vector512.Load(state); acc23 = Vector512.Load(state + 16); acc45 = Vector512.Load(state + 32); acc67 = Vector512.Load(state + 48);
            min0123 = Vector512.Load(state + 64); min4567 = Vector512.Load(state + 80);
        }
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * T.BlockBytes;
            PrefetchBlock(wb);   // a decode step of eight streams its weights from DRAM too: 13 % off the FFN (see MatMul.HasDot8)
            byte* x0 = x + (long)b * Q8_K.BlockBytes;
            sbyte* q0 = (sbyte*)(x0 + Q8_K.QsOffset);
            var (scaleWord, mins) = Q4_K.UnpackScaleMinsWords(wb + ScalesOffset);
            Vector512<byte> scales = ScalesPerQuarter(scaleWord);

            // Chunks 0 and 1 (sub-blocks 0-3) against quants 0-127 of each token.
            var (first, second) = Sixteens(T.ChunkPair(wb, 0));
            Vector512<short> sc = Avx512BW.Shuffle(scales, PickPair0).AsInt16();
            Vector512<int> s0 = SixteensTimesScales(first, second, q0, sc);
            Vector512<int> s1 = SixteensTimesScales(first, second, q0 + xStride, sc);
            Vector512<int> s2 = SixteensTimesScales(first, second, q0 + 2 * xStride, sc);
            Vector512<int> s3 = SixteensTimesScales(first, second, q0 + 3 * xStride, sc);
            Vector512<int> s4 = SixteensTimesScales(first, second, q0 + 4 * xStride, sc);
            Vector512<int> s5 = SixteensTimesScales(first, second, q0 + 5 * xStride, sc);
            Vector512<int> s6 = SixteensTimesScales(first, second, q0 + 6 * xStride, sc);
            Vector512<int> s7 = SixteensTimesScales(first, second, q0 + 7 * xStride, sc);

            // Chunks 2 and 3 (sub-blocks 4-7) against quants 128-255.
            (first, second) = Sixteens(T.ChunkPair(wb, 1));
            sc = Avx512BW.Shuffle(scales, PickPair1).AsInt16();
            sbyte* q1 = q0 + 128;
            s0 += SixteensTimesScales(first, second, q1, sc);
            s1 += SixteensTimesScales(first, second, q1 + xStride, sc);
            s2 += SixteensTimesScales(first, second, q1 + 2 * xStride, sc);
            s3 += SixteensTimesScales(first, second, q1 + 3 * xStride, sc);
            s4 += SixteensTimesScales(first, second, q1 + 4 * xStride, sc);
            s5 += SixteensTimesScales(first, second, q1 + 5 * xStride, sc);
            s6 += SixteensTimesScales(first, second, q1 + 6 * xStride, sc);
            s7 += SixteensTimesScales(first, second, q1 + 7 * xStride, sc);

            byte* tb = table + (long)b * Q8_K.EightTokenTableBytes;
            var d = Vector512.Create(HalfAt(wb));
            acc01 = Q8_K.TwoTokenStep(acc01, d, Q8_K.ScalePair(tb, 0), s0, s1, Vector512<int>.Zero);
            acc23 = Q8_K.TwoTokenStep(acc23, d, Q8_K.ScalePair(tb, 1), s2, s3, Vector512<int>.Zero);
            acc45 = Q8_K.TwoTokenStep(acc45, d, Q8_K.ScalePair(tb, 2), s4, s5, Vector512<int>.Zero);
            acc67 = Q8_K.TwoTokenStep(acc67, d, Q8_K.ScalePair(tb, 3), s6, s7, Vector512<int>.Zero);
            // The minimum terms of four tokens per vector: each token's four lanes as PairSumMinLanes forms them, times
            // y_d·(−dmin), the product (−y_d)·dmin of the one-token step with its sign moved (exact).
            Vector128<short> m = MinsAsShorts(mins);
            var m4 = Vector512.Create(Vector256.Create(m, m), Vector256.Create(m, m));
            var minusDmin = Vector512.Create(-HalfAt(wb + 2));
            min0123 = Vector512.FusedMultiplyAdd(Q8_K.ScaleQuad(tb, 0) * minusDmin, Vector512.ConvertToSingle(Avx512BW.MultiplyAddAdjacent(m4, Q8_K.SumQuad(tb, 0))), min0123);
            min4567 = Vector512.FusedMultiplyAdd(Q8_K.ScaleQuad(tb, 1) * minusDmin, Vector512.ConvertToSingle(Avx512BW.MultiplyAddAdjacent(m4, Q8_K.SumQuad(tb, 1))), min4567);
        }
        if ((part & EightTokenPart.Last) == 0)
        {
            acc01.Store(state); acc23.Store(state + 16); acc45.Store(state + 32); acc67.Store(state + 48);
            min0123.Store(state + 64); min4567.Store(state + 80);
            return;
        }
        Q8_K.StoreEightTokens(y, yStride, acc01, acc23, acc45, acc67, min0123, min4567, hasMin: true);
    }

    /// <summary>
    /// <see cref="Step"/> for two rows at once: <paramref name="row0"/> and <paramref name="row1"/> are the rows' 512-bit lanes
    /// (chunk pairs in the halves), <paramref name="d"/> holds row 0's d in the low half and row 1's in the high half,
    /// <paramref name="dmin"/> and <paramref name="mins"/> likewise. Each lane sees the same products as in Step.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<float> TwoRowStep(Vector512<float> acc, ref Vector256<float> accMin, Vector512<float> d, Vector256<float> dmin,
        Vector256<short> mins, byte* xb, Vector512<int> row0, Vector512<int> row1)
    {
        float yd = Unsafe.ReadUnaligned<float>(xb);
        Vector128<short> pairSums = Vector128.Load((short*)(xb + Q8_K.BsumsOffset));
        Vector256<int> minLanes = Avx2.MultiplyAddAdjacent(mins, Vector256.Create(pairSums, pairSums));
        accMin = Vector256.FusedMultiplyAdd(Vector256.Create(-yd) * dmin, Vector256.ConvertToSingle(minLanes), accMin);
        // [row0 low + row0 high, row1 low + row1 high]: the 256-bit halves of each row added, as in Dot4Vector512.
        Vector512<int> lanes = Avx512F.Shuffle4x128(row0, row1, 0x44) + Avx512F.Shuffle4x128(row0, row1, 0xEE);
        return Vector512.FusedMultiplyAdd(Vector512.Create(yd) * d, Vector512.ConvertToSingle(lanes), acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Uses512(SimdTier tier) => AffineKDot.Uses512(tier);

    /// <summary>One super-block's float steps of <see cref="Dot"/> (and of each token of <see cref="Dot4"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<float> Step(Vector256<float> acc, ref Vector128<float> accMin, float d, float dmin, Vector128<int> minLanes, byte* xb, Vector256<int> lanes)
    {
        float yd = Unsafe.ReadUnaligned<float>(xb);
        accMin = Vector128.FusedMultiplyAdd(Vector128.Create(-yd * dmin), Vector128.ConvertToSingle(minLanes), accMin);
        return Vector256.FusedMultiplyAdd(Vector256.Create(yd * d), Vector256.ConvertToSingle(lanes), acc);
    }

    /// <summary>The minimum lanes' reduction, as ggml's movehl / movehdup pair: <c>(m0 + m2) + (m1 + m3)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float SumMin(Vector128<float> m) => (m.GetElement(0) + m.GetElement(2)) + (m.GetElement(1) + m.GetElement(3));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<short> MinsAsShorts(ulong mins) =>
        Sse41.IsSupported ? Sse41.ConvertToVector128Int16(Vector128.CreateScalar(mins).AsByte()) : Vector128.WidenLower(Vector128.CreateScalar(mins).AsByte()).AsInt16();

    /// <summary>The four exact minimum lanes of <see cref="Dot"/>: M_k = m[2k]·g[2k] + m[2k+1]·g[2k+1], g[j] = bsums[2j] + bsums[2j+1].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector128<int> MinLanes(Vector128<short> mins, byte* xb)
    {
        short* bsums = (short*)(xb + Q8_K.BsumsOffset);
        if (Ssse3.IsSupported)
        {
            // Group sums are at most 16·128 in magnitude, so the pairwise int16 adds cannot overflow.
            Vector128<short> g = Ssse3.HorizontalAdd(Vector128.Load(bsums), Vector128.Load(bsums + 8));
            return Sse2.MultiplyAddAdjacent(mins, g);
        }
        return Vector128.Create(
            mins.GetElement(0) * (bsums[0] + bsums[1]) + mins.GetElement(1) * (bsums[2] + bsums[3]),
            mins.GetElement(2) * (bsums[4] + bsums[5]) + mins.GetElement(3) * (bsums[6] + bsums[7]),
            mins.GetElement(4) * (bsums[8] + bsums[9]) + mins.GetElement(5) * (bsums[10] + bsums[11]),
            mins.GetElement(6) * (bsums[12] + bsums[13]) + mins.GetElement(7) * (bsums[14] + bsums[15]));
    }

    /// <summary>
    /// <see cref="MinLanes"/> for an activation in <see cref="AffineKDot.PrepareActivation"/>'s 512-bit order, whose first eight group
    /// sums already hold the pair sums g[j] = bsums[2j] + bsums[2j+1]: one vpmaddwd instead of a horizontal add and it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector128<int> PairSumMinLanes(Vector128<short> mins, byte* xb) =>
        Sse2.MultiplyAddAdjacent(mins, Vector128.Load((short*)(xb + Q8_K.BsumsOffset)));

    /// <summary>Scalar twin of <see cref="Dot"/>: the same lanes and float steps, one element at a time.</summary>
    private static unsafe float DotScalar(byte* w, byte* x, int blocks)
    {
        byte* sc = stackalloc byte[8];
        byte* mn = stackalloc byte[8];
        float* acc = stackalloc float[8];
        float* accMin = stackalloc float[4];
        int* lanes = stackalloc int[8];
        new Span<float>(acc, 8).Clear();
        new Span<float>(accMin, 4).Clear();
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * T.BlockBytes;
            byte* xb = x + (long)b * Q8_K.BlockBytes;
            Q4_K.UnpackScaleMins(wb + ScalesOffset, sc, mn);
            sbyte* y = (sbyte*)(xb + Q8_K.QsOffset);
            short* bsums = (short*)(xb + Q8_K.BsumsOffset);
            float yd = Unsafe.ReadUnaligned<float>(xb);
            float d = yd * F16.ToSingle(Unsafe.ReadUnaligned<ushort>(wb));
            float dmin = -yd * F16.ToSingle(Unsafe.ReadUnaligned<ushort>(wb + 2));
            ScalarLanes(wb, y, sc, lanes);
            for (int l = 0; l < 8; l++)
            {
                acc[l] = MathF.FusedMultiplyAdd(d, lanes[l], acc[l]);
            }
            for (int k = 0; k < 4; k++)
            {
                int lane = mn[2 * k] * (bsums[4 * k] + bsums[4 * k + 1]) + mn[2 * k + 1] * (bsums[4 * k + 2] + bsums[4 * k + 3]);
                accMin[k] = MathF.FusedMultiplyAdd(dmin, lane, accMin[k]);
            }
        }
        return Int8BlockDot.Sum(acc) + ((accMin[0] + accMin[2]) + (accMin[1] + accMin[3]));
    }

    /// <summary>The eight lanes of one super-block (see <see cref="Dot"/>), one chunk (two sub-blocks) per step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<int> Lanes256(byte* wb, sbyte* y, ulong scaleWord)
    {
        if (!Avx2.IsSupported)
        {
            return LanesPortable(wb, y, (byte*)&scaleWord);
        }
        Vector256<int> acc = Vector256<int>.Zero;
        Vector256<byte> scales = ScalesPerHalf(scaleWord);
        for (int c = 0; c < 4; c++)
        {
            var (first, second) = Sixteens(T.Chunk(wb, c));
            acc += SixteensTimesScales(first, second, y + ChunkOffset(c), Avx2.Shuffle(scales, PickChunk(c)).AsInt16());
        }
        return acc;
    }

    /// <summary>
    /// The eight lanes of one super-block with 512-bit vectors (AVX-512BW): chunks 2p and 2p+1 fill one vector, its
    /// quarters holding sub-blocks 4p .. 4p+3; adding the 256-bit halves (sub-blocks of one parity) gives
    /// <see cref="Lanes256"/>'s lanes exactly.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<int> Lanes512(byte* wb, sbyte* y, ulong scaleWord)
    {
        Vector512<byte> scales = ScalesPerQuarter(scaleWord);
        var (first, second) = Sixteens(T.ChunkPair(wb, 0));
        Vector512<int> acc = SixteensTimesScales(first, second, y, Avx512BW.Shuffle(scales, PickPair0).AsInt16());
        (first, second) = Sixteens(T.ChunkPair(wb, 1));
        acc += SixteensTimesScales(first, second, y + 128, Avx512BW.Shuffle(scales, PickPair1).AsInt16());
        return acc.GetLower() + acc.GetUpper();
    }

    /// <summary><see cref="SixteensTimesScales(Vector512{byte}, Vector512{byte}, sbyte*, Vector512{short})"/> of one chunk pair for four tokens (activation rows <c>x0 + t·xStride</c>, quants at offset yo).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ChunkPairFourTokens(ref Vector512<int> s0, ref Vector512<int> s1, ref Vector512<int> s2, ref Vector512<int> s3,
        (Vector512<byte> Lo, Vector512<byte> Hi) quants, byte* x0, long xStride, int yo, Vector512<byte> scales, Vector512<byte> pick)
    {
        var (first, second) = Sixteens(quants);
        Vector512<short> sc = Avx512BW.Shuffle(scales, pick).AsInt16();
        sbyte* y = (sbyte*)(x0 + yo);
        s0 += SixteensTimesScales(first, second, y, sc);
        s1 += SixteensTimesScales(first, second, y + xStride, sc);
        s2 += SixteensTimesScales(first, second, y + 2 * xStride, sc);
        s3 += SixteensTimesScales(first, second, y + 3 * xStride, sc);
    }

    /// <summary>
    /// Chunk c's quants as two vectors of 16-quant pieces: its low sub-block's first 16 then its high sub-block's first
    /// 16, and the same for the second 16 of each (two lane permutes, shared by every token of a multi-token dot).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<byte> First, Vector256<byte> Second) Sixteens((Vector256<byte> Lo, Vector256<byte> Hi) chunk) =>
        (Avx2.Permute2x128(chunk.Lo, chunk.Hi, 0x20), Avx2.Permute2x128(chunk.Lo, chunk.Hi, 0x31));

    /// <summary>
    /// Chunks 2p and 2p+1 (<see cref="IAffineKQuants.ChunkPair"/>: low quants A | C, high quants B | D by 256-bit halves)
    /// as A0 B0 C0 D0 and A1 B1 C1 D1 by 128-bit quarters, where 0 and 1 are the first and the second 16 quants of a
    /// sub-block: quarter i of both then belongs to sub-block 4p+i.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<byte> First, Vector512<byte> Second) Sixteens((Vector512<byte> Lo, Vector512<byte> Hi) pair)
    {
        Vector512<ulong> lo = pair.Lo.AsUInt64(), hi = pair.Hi.AsUInt64();
        return (Avx512F.PermuteVar8x64x2(lo, FirstSixteens, hi).AsByte(), Avx512F.PermuteVar8x64x2(lo, SecondSixteens, hi).AsByte());
    }

    // Quadword indices into (lo, hi) of Sixteens: quarters 0 and 2 of lo and hi interleaved, then quarters 1 and 3.
    private static readonly Vector512<ulong> FirstSixteens = Vector512.Create(0ul, 1, 8, 9, 4, 5, 12, 13);
    private static readonly Vector512<ulong> SecondSixteens = Vector512.Create(2ul, 3, 10, 11, 6, 7, 14, 15);

    /// <summary>
    /// The scaled products of 64 quants, as the first and second pieces of <see cref="Sixteens(ValueTuple{Vector256{byte}, Vector256{byte}})"/>
    /// meet the activation (<paramref name="y"/>: the pieces in the same order, the second 64 bytes on): vpmaddubsw of
    /// each, the two added in int16, then one vpmaddwd by the sub-block scales (<paramref name="scales"/>: each 128-bit
    /// half's sub-block scale as int16). The int16 sum of four products is exact: 4·31·128 &lt; 2^15.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<int> SixteensTimesScales(Vector256<byte> first, Vector256<byte> second, sbyte* y, Vector256<short> scales) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(first, Vector256.Load(y)) + Avx2.MultiplyAddAdjacent(second, Vector256.Load(y + 64)), scales);

    /// <summary>The 512-bit <see cref="SixteensTimesScales(Vector256{byte}, Vector256{byte}, sbyte*, Vector256{short})"/>: four sub-blocks, one per quarter.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<int> SixteensTimesScales(Vector512<byte> first, Vector512<byte> second, sbyte* y, Vector512<short> scales) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(first, Vector512.Load(y)) + Avx512BW.MultiplyAddAdjacent(second, Vector512.Load(y + 64)), scales);

    /// <summary>Where chunk c's first pieces start in a prepared 256-quant block: 128 per chunk pair, 32 for the odd chunk.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ChunkOffset(int c) => 128 * (c >> 1) + 32 * (c & 1);

    /// <summary>
    /// The eight scales as int16 in every 128-bit quarter, for the pick shuffles: the scale bytes broadcast to four
    /// quadwords and zero-extended, two instructions.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> ScalesPerQuarter(ulong scaleWord) =>
        Avx512BW.ConvertToVector512Int16(Vector256.Create(scaleWord).AsByte()).AsByte();

    // Byte-shuffle indices that broadcast, as int16, sub-block 4p+i's scale to quarter i (chunk pair p = 0, 1), and
    // for 256 bits sub-block 2c's scale to the low half and 2c+1's to the high half (chunk c). Loaded as constants.
    private static readonly Vector512<byte> PickPair0 = Pick4(0), PickPair1 = Pick4(4);
    private static readonly Vector256<byte> PickChunk0 = Pick2(0);

    // Chunk c's pick: sub-block j's scale is int16 j, bytes 2j and 2j+1, so chunk c's is chunk 0's moved 4c bytes on.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> PickChunk(int c) => PickChunk0 + Vector256.Create((byte)(4 * c));

    private static Vector128<byte> PickOne(int j) => Vector128.Create((ushort)(2 * j | (2 * j + 1) << 8)).AsByte();

    private static Vector256<byte> Pick2(int j) => Vector256.Create(PickOne(j), PickOne(j + 1));

    private static Vector512<byte> Pick4(int j) => Vector512.Create(Pick2(j), Pick2(j + 2));

    /// <summary>
    /// The eight scales as int16 in each 128-bit half: a byte shuffle with (2j, 2j+1) in every pair then broadcasts
    /// sub-block j's scale, one instruction instead of a move and a broadcast from a general register.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> ScalesPerHalf(ulong scaleWord)
    {
        Vector128<short> s8 = Sse41.ConvertToVector128Int16(Vector128.CreateScalar(scaleWord).AsByte());
        return Vector256.Create(s8, s8).AsByte();
    }

    // Without AVX2 the Vector256 tier only runs when a test forces it; the lanes come from the scalar formula.
    private static unsafe Vector256<int> LanesPortable(byte* wb, sbyte* y, byte* sc)
    {
        int* lanes = stackalloc int[8];
        ScalarLanes(wb, y, sc, lanes);
        return Vector256.Load(lanes);
    }

    /// <summary>The eight lanes of one super-block (see <see cref="Dot"/>), element by element.</summary>
    private static unsafe void ScalarLanes(byte* wb, sbyte* y, byte* sc, int* lanes)
    {
        for (int l = 0; l < 8; l++)
        {
            bool high = l >= 4;
            int r = l & 3, lane = 0;
            for (int c = 0; c < 4; c++)
            {
                int j = 2 * c + (high ? 1 : 0), sum = 0;
                for (int i = 4 * r; i < 4 * r + 4; i++)
                {
                    sum += T.Quant(wb, c, i, high) * y[32 * j + i] + T.Quant(wb, c, i + 16, high) * y[32 * j + i + 16];
                }
                lane += sc[j] * sum;
            }
            lanes[l] = lane;
        }
    }
}

using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_Q8_K, the vec_dot_type of every K-quant: the CPU backend quantizes each activation row to Q8_K and dots
/// the weight rows against it. Super-blocks of 256 values with ggml's fields (ggml-common.h block_q8_K) but not its
/// packing:
/// <code>
/// offset   0  float  d          scale, IEEE single
/// offset   4  short  bsums[16]  bsums[g] = Σ qs[16g .. 16g+15]
/// offset  36  (padding)
/// offset  64  sbyte  qs[256]    value j = qs[j] * d
/// </code>
/// 320 bytes where ggml packs 292 (d, qs, bsums). The type never reaches a file, so the layout is ours to choose:
/// with the quants on a 64-byte boundary (MatMul aligns its activation buffer), no 512-bit load of them straddles two
/// cache lines, where ggml's offset 4 made every one do so. The eight-token products, which load each token's quants
/// once per weight row, ran 8–15 % faster for it. The group sums let the Q4_K/Q5_K dots apply their per-sub-block
/// minimum, and the Q6_K dot its −32 offset, without another pass over the quants.
/// </summary>
internal static class Q8_K
{
    /// <summary>QK_K: elements per super-block, shared by every K-quant.</summary>
    public const int BlockSize = 256;
    public const int BlockBytes = 320;
    public const int QsOffset = 64;
    public const int BsumsOffset = 4;

    /// <summary>
    /// ggml-quants.c nearest_int: adding 1.5·2^23 leaves the integer part, rounded to nearest even by the FPU, in the
    /// low mantissa bits. Exact for |x| ≤ 2^22 − 1; beyond that (or for inf/NaN, possible with degenerate inputs)
    /// it returns the same wrapped value as ggml, which the quantizers then clamp, so we keep the bit trick.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int NearestInt(float x) => (BitConverter.SingleToInt32Bits(x + 12582912f) & 0x007FFFFF) - 0x00400000;

    /// <summary>
    /// quantize_row_q8_K_ref, which is also what the x86 CPU backend runs for activations (its quantize_row_q8_K
    /// forwards to the reference). The scale comes from the signed value of largest magnitude (the first on ties):
    /// <c>iscale = −127 / max</c>, <c>q = min(127, nearest_int(iscale·x))</c>, <c>d = 1 / iscale</c>. An all-zero
    /// block gets d = 0 and zero quants.
    /// </summary>
    public static unsafe void QuantizeActivation(float* src, byte* dst, int n, SimdTier tier)
    {
        Debug.Assert(n % BlockSize == 0);
        for (int b = 0; b < n / BlockSize; b++)
        {
            float* x = src + b * BlockSize;
            byte* block = dst + b * BlockBytes;
            float max = tier switch
            {
                SimdTier.Vector512 => SignedAbsMax512(x),
                SimdTier.Vector256 => SignedAbsMax256(x),
                _ => SignedAbsMaxScalar(x),
            };
            if (max == 0f)
            {
                new Span<byte>(block, BlockBytes).Clear();
                continue;
            }
            float iscale = -127f / max;
            sbyte* qs = (sbyte*)(block + QsOffset);
            short* bsums = (short*)(block + BsumsOffset);
            switch (tier)
            {
                case SimdTier.Vector512: Quantize512(x, iscale, qs, bsums); break;
                case SimdTier.Vector256: Quantize256(x, iscale, qs, bsums); break;
                default: QuantizeScalar(x, iscale, qs, bsums); break;
            }
            Unsafe.WriteUnaligned(block, 1f / iscale);
        }
    }

    private static unsafe float SignedAbsMaxScalar(float* x)
    {
        float amax = 0f, max = 0f;
        for (int j = 0; j < BlockSize; j++)
        {
            float ax = MathF.Abs(x[j]);
            if (ax > amax)
            {
                amax = ax;
                max = x[j];
            }
        }
        return max;
    }

    // The vector tiers find the largest magnitude first, then the first element that has it: the same value the
    // scalar scan keeps (strict '>' keeps the first of equal magnitudes, whatever their signs).
    private static unsafe float SignedAbsMax256(float* x)
    {
        Vector256<float> m = Vector256<float>.Zero;
        for (int j = 0; j < BlockSize; j += 8)
        {
            m = Vector256.Max(m, Vector256.Abs(Vector256.Load(x + j)));
        }
        return FirstWithMagnitude(x, HorizontalMax(Vector128.Max(m.GetLower(), m.GetUpper())));
    }

    private static unsafe float SignedAbsMax512(float* x)
    {
        Vector512<float> m = Vector512<float>.Zero;
        for (int j = 0; j < BlockSize; j += 16)
        {
            m = Vector512.Max(m, Vector512.Abs(Vector512.Load(x + j)));
        }
        Vector256<float> h = Vector256.Max(m.GetLower(), m.GetUpper());
        return FirstWithMagnitude(x, HorizontalMax(Vector128.Max(h.GetLower(), h.GetUpper())));
    }

    private static unsafe float FirstWithMagnitude(float* x, float amax)
    {
        if (amax == 0f)
        {
            return 0f;
        }
        Vector256<float> target = Vector256.Create(amax);
        for (int j = 0; j < BlockSize; j += 8)
        {
            Vector256<float> v = Vector256.Load(x + j);
            uint hits = Vector256.Equals(Vector256.Abs(v), target).ExtractMostSignificantBits();
            if (hits != 0)
            {
                return x[j + BitOperations.TrailingZeroCount(hits)];
            }
        }
        return SignedAbsMaxScalar(x); // NaN inputs: no lane compares equal; let the scalar scan decide
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalMax(Vector128<float> m)
    {
        float a = m.GetElement(0), b = m.GetElement(1), c = m.GetElement(2), d = m.GetElement(3);
        float ab = a > b ? a : b, cd = c > d ? c : d;
        return ab > cd ? ab : cd;
    }

    private static unsafe void QuantizeScalar(float* x, float iscale, sbyte* qs, short* bsums)
    {
        for (int j = 0; j < BlockSize; j++)
        {
            qs[j] = (sbyte)Math.Min(127, NearestInt(iscale * x[j]));
        }
        for (int g = 0; g < BlockSize / 16; g++)
        {
            int sum = 0;
            for (int j = 0; j < 16; j++)
            {
                sum += qs[16 * g + j];
            }
            bsums[g] = (short)sum;
        }
    }

    // |iscale·x| ≤ 127 (up to rounding) and Round is ties-to-even, so Round equals nearest_int here.
    private static unsafe void Quantize256(float* x, float iscale, sbyte* qs, short* bsums)
    {
        Vector256<float> s = Vector256.Create(iscale);
        Vector256<int> top = Vector256.Create(127);
        for (int g = 0; g < BlockSize / 16; g++)
        {
            float* xg = x + 16 * g;
            Vector256<int> i0 = Vector256.Min(top, Vector256.ConvertToInt32(Vector256.Round(Vector256.Load(xg) * s)));
            Vector256<int> i1 = Vector256.Min(top, Vector256.ConvertToInt32(Vector256.Round(Vector256.Load(xg + 8) * s)));
            Vector128<short> q16 = Vector128.Narrow(i0.GetLower(), i0.GetUpper());
            Vector128<short> r16 = Vector128.Narrow(i1.GetLower(), i1.GetUpper());
            Vector128.Narrow(q16, r16).Store(qs + 16 * g);
            bsums[g] = (short)Vector256.Sum(i0 + i1);
        }
    }

    private static unsafe void Quantize512(float* x, float iscale, sbyte* qs, short* bsums)
    {
        Vector512<float> s = Vector512.Create(iscale);
        Vector512<int> top = Vector512.Create(127);
        bool bw = Avx512BW.IsSupported;
        for (int g = 0; g < BlockSize / 16; g++)
        {
            Vector512<int> i = Vector512.Min(top, Vector512.ConvertToInt32(Vector512.Round(Vector512.Load(x + 16 * g) * s)));
            Vector256<short> q16 = Vector256.Narrow(i.GetLower(), i.GetUpper());
            Vector128.Narrow(q16.GetLower(), q16.GetUpper()).Store(qs + 16 * g);
            if (!bw)
            {
                bsums[g] = (short)Vector512.Sum(i);
            }
        }
        if (bw)
        {
            GroupSums512(qs, bsums);
        }
    }

    /// <summary>
    /// The 16 group sums of a block's stored quants, four groups per 64-byte vector: vpmaddubsw and vpmaddwd by ones
    /// leave each group's four partial sums in one 128-bit quarter, two in-lane shuffles add them, and two permutes
    /// gather the sixteen. A horizontal sum per group instead had been the larger part of converting an activation,
    /// which decode does on one thread before every product (about 7 µs for eight tokens of 1536 columns).
    /// Integer sums: exact in any order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void GroupSums512(sbyte* qs, short* bsums)
    {
        Vector512<byte> ones8 = Vector512.Create((byte)1);
        Vector512<short> ones16 = Vector512.Create((short)1);
        Vector512<int> s0 = QuarterTotals(Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(ones8, Vector512.Load(qs)), ones16));
        Vector512<int> s1 = QuarterTotals(Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(ones8, Vector512.Load(qs + 64)), ones16));
        Vector512<int> s2 = QuarterTotals(Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(ones8, Vector512.Load(qs + 128)), ones16));
        Vector512<int> s3 = QuarterTotals(Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(ones8, Vector512.Load(qs + 192)), ones16));
        // Lane 0 of each quarter holds its group's sum: groups 0-7 from s0 and s1, 8-15 from s2 and s3.
        Vector512<int> lo = Avx512F.PermuteVar16x32x2(s0, GatherQuarterHeads, s1), hi = Avx512F.PermuteVar16x32x2(s2, GatherQuarterHeads, s3);
        Vector512<int> all = Avx512F.Shuffle4x128(lo, hi, 0x44);   // [groups 0-7 | groups 8-15] in lanes 0-15
        Avx512F.ConvertToVector256Int16(all).Store(bsums);
    }

    // Every lane of a 128-bit quarter becomes the quarter's total (a + b + c + d).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> QuarterTotals(Vector512<int> v)
    {
        v += Avx512F.Shuffle(v, 0x4E);
        return v + Avx512F.Shuffle(v, 0xB1);
    }

    // Lanes 0, 4, 8, 12 of the first source, then of the second, in lanes 0-7 (lanes 8-15 repeat them, unused).
    private static readonly Vector512<int> GatherQuarterHeads = Vector512.Create(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28);

    /// <summary>
    /// Bytes per super-block of <see cref="BuildEightTokenTable"/>: what the eight-token dots (Q4_K.Dot8, Q6_K.Dot8)
    /// need of eight activation rows besides their quants, gathered once per matrix product into whole vectors.
    /// <code>
    /// offset   0  float[4][16]  scale pairs       pair p = [d of token 2p ×8, d of token 2p+1 ×8]
    /// offset 256  float[2][16]  scale quads       quad q = [d of token 4q ×4, … d of token 4q+3 ×4]
    /// offset 384  short[2][32]  group-sum quads   quad q = bsums[0..8] of tokens 4q … 4q+3
    /// offset 512  short[4][32]  group-sum pairs   pair p = bsums[0..16] of tokens 2p, 2p+1
    /// </code>
    /// Built from each weight row's view of the activation instead, these vectors cost two broadcasts and a blend
    /// (scales) or two loads and an insert (group sums) per token pair and super-block, on every weight row: with
    /// them gone, the eight-token Q4_K product ran about an eighth faster (on top of the padded blocks). The group sums
    /// are copied as they stand after the weight type's <c>PrepareActivation</c> (Q4_K's pair sums in its first eight).
    /// </summary>
    public const int EightTokenTableBytes = 768;
    private const int ScalePairsOffset = 0, ScaleQuadsOffset = 256, SumQuadsOffset = 384, SumPairsOffset = 512;

    /// <summary>
    /// Floats that hold an eight-token dot's running sums between two runs over parts of one row (see
    /// <see cref="EightTokenPart"/>): Q4_K's four accumulators and two minimum ones, Q6_K's four.
    /// </summary>
    public const int EightTokenStateFloats = 96;

    /// <summary>Fills <paramref name="table"/> (<c>blocks · <see cref="EightTokenTableBytes"/></c> bytes) from the eight
    /// activation rows <c>x + t·xStride</c>, <paramref name="blocks"/> super-blocks each.</summary>
    public static unsafe void BuildEightTokenTable(byte* x, long xStride, int blocks, byte* table)
    {
        for (int b = 0; b < blocks; b++)
        {
            byte* xb = x + (long)b * BlockBytes;
            byte* tb = table + (long)b * EightTokenTableBytes;
            for (int t = 0; t < 8; t++)
            {
                byte* xt = xb + t * xStride;
                float d = Unsafe.ReadUnaligned<float>(xt);
                new Span<float>(tb + ScalePairsOffset + 32 * t, 8).Fill(d);
                new Span<float>(tb + ScaleQuadsOffset + 16 * t, 4).Fill(d);
                new ReadOnlySpan<byte>(xt + BsumsOffset, 16).CopyTo(new Span<byte>(tb + SumQuadsOffset + 16 * t, 16));
                new ReadOnlySpan<byte>(xt + BsumsOffset, 32).CopyTo(new Span<byte>(tb + SumPairsOffset + 32 * t, 32));
            }
        }
    }

    /// <summary>The [d of token 2p ×8, d of token 2p+1 ×8] vector of a super-block's table.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe Vector512<float> ScalePair(byte* tb, int p) => Vector512.Load((float*)(tb + ScalePairsOffset) + 16 * p);

    /// <summary>The [d ×4 of each of tokens 4q … 4q+3] vector of a super-block's table.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe Vector512<float> ScaleQuad(byte* tb, int q) => Vector512.Load((float*)(tb + ScaleQuadsOffset) + 16 * q);

    /// <summary>bsums[0..8] of tokens 4q … 4q+3 in a super-block's table.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe Vector512<short> SumQuad(byte* tb, int q) => Vector512.Load((short*)(tb + SumQuadsOffset) + 32 * q);

    /// <summary>bsums[0..16] of tokens 2p and 2p+1 in a super-block's table.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe Vector512<short> SumPair(byte* tb, int p) => Vector512.Load((short*)(tb + SumPairsOffset) + 32 * p);

    /// <summary>
    /// Writes the eight results of an eight-token dot (<see cref="StoreEightTokens"/>) or of a two-row dot of four
    /// tokens from their float lanes: result k's eight lanes in half k mod 2 of accumulator k / 2 (as
    /// <see cref="TwoTokenStep"/> leaves them, or the two rows of one token) and, where the type has minimum terms, its
    /// four minimum lanes in quarter k mod 4 of <paramref name="min0123"/> or <paramref name="min4567"/>. Result k goes
    /// to <c>y[(k / 2)·pairStride + (k mod 2)·innerStride]</c>.
    /// Each is summed in the one-token dot's order, <c>Int8BlockDot.Sum(lanes) + ((m0 + m2) + (m1 + m3))</c>: the
    /// halves first (h_i = l_i + l_{i+4}), then (h0 + h2) + (h1 + h3). All eight go through one network of shuffles
    /// instead of eight horizontal sums of their own, which had cost about a tenth of the eight-token kernels on rows
    /// of six super-blocks (1536 columns: the attention, gate, up and output matrices of a 1.5B model).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void StoreEight(float* y, long pairStride, long innerStride, Vector512<float> acc01, Vector512<float> acc23,
        Vector512<float> acc45, Vector512<float> acc67, Vector512<float> min0123, Vector512<float> min4567, bool hasMin)
    {
        // Quarter k of each: result k's h_i (quarters 0 and 2 of a pair's accumulator added to quarters 1 and 3).
        Vector512<float> h0123 = Avx512F.Shuffle4x128(acc01, acc23, 0x88) + Avx512F.Shuffle4x128(acc01, acc23, 0xDD);
        Vector512<float> h4567 = Avx512F.Shuffle4x128(acc45, acc67, 0x88) + Avx512F.Shuffle4x128(acc45, acc67, 0xDD);
        Vector512<float> r0123 = QuarterSums(h0123), r4567 = QuarterSums(h4567);
        if (hasMin)
        {
            r0123 += QuarterSums(min0123);
            r4567 += QuarterSums(min4567);
        }
        y[0] = r0123.ToScalar();
        y[innerStride] = Avx512F.ExtractVector128(r0123, 1).ToScalar();
        y[pairStride] = Avx512F.ExtractVector128(r0123, 2).ToScalar();
        y[pairStride + innerStride] = Avx512F.ExtractVector128(r0123, 3).ToScalar();
        y[2 * pairStride] = r4567.ToScalar();
        y[2 * pairStride + innerStride] = Avx512F.ExtractVector128(r4567, 1).ToScalar();
        y[3 * pairStride] = Avx512F.ExtractVector128(r4567, 2).ToScalar();
        y[3 * pairStride + innerStride] = Avx512F.ExtractVector128(r4567, 3).ToScalar();
    }

    /// <summary><see cref="StoreEight"/> for eight tokens: token t's result to <c>y[t·yStride]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void StoreEightTokens(float* y, long yStride, Vector512<float> acc01, Vector512<float> acc23, Vector512<float> acc45,
        Vector512<float> acc67, Vector512<float> min0123, Vector512<float> min4567, bool hasMin) =>
        StoreEight(y, 2 * yStride, yStride, acc01, acc23, acc45, acc67, min0123, min4567, hasMin);

    // Lane 0 of each 128-bit quarter [a, b, c, d] becomes (a + c) + (b + d).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> QuarterSums(Vector512<float> v)
    {
        v += Avx512F.Permute4x32(v, 0x4E);          // [a + c, b + d, c + a, d + b]
        return v + Avx512F.Permute4x32(v, 0xB1);    // [(a + c) + (b + d), ...]
    }

    /// <summary>
    /// A K-quant's float step for two tokens at once, as the eight-token dots take it: token a's eight lanes in the low
    /// half of the accumulator, token b's in the high half, each lane the sum of the two 256-bit halves of that token's
    /// 512-bit integer lanes less <paramref name="minus"/>, times its own y_d·d (<paramref name="scalePair"/>: the
    /// table's <see cref="ScalePair"/>, <paramref name="d"/>: the weight block's scale, broadcast). Each lane sees the
    /// products of the type's one-token step.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> TwoTokenStep(Vector512<float> acc, Vector512<float> d, Vector512<float> scalePair, Vector512<int> sa, Vector512<int> sb,
        Vector512<int> minus)
    {
        Vector512<int> lanes = Avx512F.Shuffle4x128(sa, sb, 0x44) + Avx512F.Shuffle4x128(sa, sb, 0xEE) - minus;
        return Vector512.FusedMultiplyAdd(scalePair * d, Vector512.ConvertToSingle(lanes), acc);
    }

    /// <summary>dequantize_row_q8_K: <c>y = d * qs[j]</c>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * BlockBytes, BlockBytes);
            float d = MemoryMarshal.Read<float>(block);
            for (int j = 0; j < BlockSize; j++)
            {
                dst[b * BlockSize + j] = d * (sbyte)block[QsOffset + j];
            }
        }
    }
}

/// <summary>
/// Which part of a weight row an eight-token dot runs over. MatMul splits long rows (an FFN down projection's) into
/// parts so that the eight tokens' activation stays in L1 while a group of rows is swept against it, the running sums
/// of each row waiting in memory in between: storing and reloading them is exact, so each output is still the
/// single dot's bit for bit.
/// </summary>
[Flags]
internal enum EightTokenPart
{
    /// <summary>Neither end: start from the saved sums and save them again.</summary>
    Middle = 0,
    /// <summary>The row's first part: start from zero.</summary>
    First = 1,
    /// <summary>The row's last part: write the outputs.</summary>
    Last = 2,
    /// <summary>The whole row in one run.</summary>
    Whole = First | Last,
}


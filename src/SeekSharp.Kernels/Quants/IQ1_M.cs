using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_IQ1_M: super-blocks of 256 weights in 8 sub-blocks of 32, each two halves of 16 (two groups of 8 each),
/// 56 bytes per super-block (ggml-common.h block_iq1_m):
/// <code>
/// offset  0  byte   qs[32]     qs[4ib + l]: low 8 bits of the codebook index of group l of sub-block ib
/// offset 32  byte   qh[16]     qh[2ib + l/2], nibble l % 2: bits 0..2 the high 3 bits of group l's index,
///                              bit 3 the sign of group l's shift
/// offset 48  ushort sc[4]      sc[ib/2] bits 6(ib%2) .. +2: 3-bit scale s1 of the first half of sub-block ib,
///                              bits 6(ib%2)+3 .. +5: s2 of the second half; bits 12..15 of sc[k]: nibble k of d
/// d = IEEE half assembled from the four top nibbles (ggml-common.h iq1m_scale_t), no field of its own
/// group l of sub-block ib: dl = d·(2s + 1) with s = s1 for l &lt; 2, s2 otherwise, shift = sign ? −Delta : +Delta,
/// element 32ib + 8l + j = dl·(grid[index][j] + shift)
/// </code>
/// grid is <see cref="Iq1Grid"/>, shared with IQ1_S. Its vec_dot_type is Q8_K. <see cref="QuantizeReference"/> and
/// <see cref="QuantizeWeighted"/> are ggml's quantize_iq1_m without and with an importance matrix (ggml takes it
/// without one; llama-quantize's IQ1_M mix does not).
/// </summary>
internal static class IQ1_M
{
    public const int BlockSize = Q8_K.BlockSize;
    public const int BlockBytes = 56;

    /// <summary>ggml's GROUP_MAX_EPS_IQ1_M: a sub-block whose largest magnitude is below this is stored as zeros.</summary>
    private const float GroupMaxEps = 1e-7f;
    private const int QhOffset = 32;
    private const int ScalesOffset = 48;

    /// <summary>ggml-common.h IQ1M_DELTA (equal to IQ1S_DELTA, which ggml's dequantize uses for this type).</summary>
    internal const float Delta = 0.125f;

    /// <summary>The super-block scale's half bits: nibble k sits in the top 4 bits of scale word k.</summary>
    internal static ushort ScaleBits(ushort sc0, ushort sc1, ushort sc2, ushort sc3) =>
        (ushort)((sc0 >> 12) | ((sc1 >> 8) & 0x00F0) | ((sc2 >> 4) & 0x0F00) | (sc3 & 0xF000));

    /// <summary>Codebook index of group l (0..3) of a sub-block: qs byte plus 3 bits from the group's qh nibble.</summary>
    private static int Index(byte qs, byte qh, int l) => qs | ((qh << (8 - 4 * (l & 1))) & 0x700);

    /// <summary>ggml's shift codes: bit 3 (first half's shift) and bit 7 (second half's) of a sub-block's qh byte, by
    /// the fitted shift pattern k (0: +,+  1: +,−  2: −,+  3: −,−).</summary>
    private static ReadOnlySpan<byte> ShiftMasks => [0x00, 0x80, 0x08, 0x88];

    /// <summary>What quantize_iq1_m writes with no quant_weights: each weight weighs x².</summary>
    public static void QuantizeReference(ReadOnlySpan<float> src, Span<byte> dst) => Quantize(src, default, dst);

    /// <summary>quantize_iq1_m with quant_weights, one row: each weight weighs <c>importance·sqrt(σ² + x²)</c>.</summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst) => Quantize(src, columnWeights, dst);

    /// <summary>
    /// quantize_row_iq1_m_impl. Per sixteen weights (two groups of eight, each with its own shift sign): the weights
    /// sorted by value, every split into three runs tried with the four shift patterns, keeping the best
    /// <c>(Σwxq)² / Σwq²</c>; the groups then go onto the codebook. The sub-block scales become 3-bit codes under
    /// <c>maxScale/15</c>, and the super-block scale is refitted by least squares over every weight with those codes
    /// and stored (times ggml's fudge factor 1.1125) as a half split into the scale words' top nibbles.
    /// </summary>
    private static void Quantize(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst)
    {
        Debug.Assert(src.Length % BlockSize == 0 && dst.Length == src.Length / BlockSize * BlockBytes);
        IqLattice lattice = IqLattice.Iq1;
        float[] plus = PlusShifted, minus = MinusShifted;
        Span<float> weights = stackalloc float[16], scales = stackalloc float[16];
        Span<int> order = stackalloc int[16], shifts = stackalloc int[16], index = stackalloc int[2];
        Span<sbyte> levels = stackalloc sbyte[16];
        for (int b = 0; b < src.Length / BlockSize; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> block = dst.Slice(b * BlockBytes, BlockBytes);
            block.Clear();
            float maxScale = 0f;
            float sigma2 = 2 * WeightedFits.SumOfSquares(x) / BlockSize;
            for (int ib = 0; ib < 16; ib++)
            {
                ReadOnlySpan<float> xb = x.Slice(16 * ib, 16);
                IqGridFit.Weights(xb, columnWeights.IsEmpty ? default : columnWeights.Slice(b * BlockSize + 16 * ib, 16), sigma2, weights);
                float max = MathF.Abs(xb[0]);
                for (int i = 1; i < 16; i++) max = max > MathF.Abs(xb[i]) ? max : MathF.Abs(xb[i]);
                // The sub-block keeps index 0, scale code 0 and shift pattern 0.
                if (max < GroupMaxEps)
                {
                    scales[ib] = 0f;
                    shifts[ib] = 0;
                    continue;
                }
                Iq1Fit.SortByValue(xb, order);
                var (best1, best2, bestK, scale) = SearchSplit(xb, weights, order, max, plus, minus);
                if (best1 < 0)
                {
                    scales[ib] = 0f;
                    shifts[ib] = 0;
                    continue;
                }
                for (int j = 0; j < 16; j++) levels[order[j]] = (sbyte)(j < best1 ? 0 : j < best2 ? 1 : 2);
                if (scale < 0)
                {
                    for (int j = 0; j < 16; j++) levels[j] = (sbyte)(2 - levels[j]);
                    scale = -scale;
                    bestK = 3 - bestK;
                }
                bool allOnGrid = true;
                for (int k = 0; k < 2; k++)
                {
                    index[k] = Iq1Fit.Place(lattice, xb.Slice(8 * k, 8), weights.Slice(8 * k, 8), scale, GroupValues(bestK, k, plus, minus),
                                            levels.Slice(8 * k, 8), out bool onGrid);
                    allOnGrid &= onGrid;
                }
                if (!allOnGrid)
                {
                    float sumqx = 0f, sumq2 = 0f;
                    for (int i = 0; i < 16; i++)
                    {
                        float w = weights[i];
                        float q = GroupValues(bestK, i / 8, plus, minus)[levels[i]];
                        sumqx += w * q * xb[i];
                        sumq2 += w * q * q;
                    }
                    if (sumqx > 0 && sumq2 > 0) scale = sumqx / sumq2;
                }
                block[2 * ib] = (byte)index[0];
                block[2 * ib + 1] = (byte)index[1];
                block[QhOffset + ib] = (byte)((index[0] >> 8) | ((index[1] >> 8) << 4));
                Debug.Assert(scale >= 0);
                scales[ib] = scale;
                shifts[ib] = bestK;
                maxScale = MathF.Max(maxScale, scale);
            }
            if (maxScale == 0f) continue;

            // The stored scale codes fixed, refit d by least squares over the whole super-block.
            float d = maxScale / 15;
            float id = 1 / d;
            float sumqxAll = 0f, sumq2All = 0f;
            for (int ib = 0; ib < 16; ib++)
            {
                int l = IqGridFit.ScaleCode(scales[ib], id, 7);
                Span<byte> word = block[(ScalesOffset + 2 * (ib / 4))..];
                MemoryMarshal.Write(word, (ushort)(MemoryMarshal.Read<ushort>(word) | l << (3 * (ib % 4))));
                block[QhOffset + ib] |= ShiftMasks[shifts[ib]];
                ReadOnlySpan<float> xb = x.Slice(16 * ib, 16);
                IqGridFit.Weights(xb, columnWeights.IsEmpty ? default : columnWeights.Slice(b * BlockSize + 16 * ib, 16), sigma2, weights);
                for (int k = 0; k < 2; k++)
                {
                    float[] values = GroupValues(shifts[ib], k, plus, minus);
                    ReadOnlySpan<sbyte> p = lattice.Point(block[2 * ib + k] + ((block[QhOffset + ib] << (8 - 4 * k)) & 0x700));
                    for (int j = 0; j < 8; j++)
                    {
                        float w = weights[8 * k + j];
                        float q = values[(p[j] - 1) / 2] * (2 * l + 1);
                        sumqxAll += w * q * xb[8 * k + j];
                        sumq2All += w * q * q;
                    }
                }
            }
            if (sumq2All > 0) d = sumqxAll / sumq2All;
            ushort half = F16.FromSingle(d * 1.1125f);
            for (int k = 0; k < 4; k++)
            {
                Span<byte> word = block[(ScalesOffset + 2 * k)..];
                MemoryMarshal.Write(word, (ushort)(MemoryMarshal.Read<ushort>(word) | ((half >> (4 * k)) & 0xF) << 12));
            }
        }
    }

    /// <summary>The three values of group <paramref name="k"/> (0 or 1) under shift pattern <paramref name="pattern"/>.</summary>
    private static float[] GroupValues(int pattern, int k, float[] plus, float[] minus) =>
        (k == 0 ? pattern < 2 : pattern % 2 == 0) ? plus : minus;

    /// <summary>
    /// The exhaustive split search: for every pair of cut points i1 ≤ i2 in the sorted order (runs of levels 0, 1, 2)
    /// and each shift pattern, the weighted fit's <c>(Σwxq)² / Σwq²</c>, the first strict best kept. Each candidate's
    /// sums are accumulated afresh in sorted order, one term per weight, as the ggml in LLamaSharp 0.30.0's library does
    /// (newer ggml derives them from per-half prefix sums, which rounds differently and so changes some bytes).
    /// Returns the cut points, the pattern and the scale (best1 = −1 if nothing fits).
    /// </summary>
    private static (int Best1, int Best2, int BestK, float Scale) SearchSplit(ReadOnlySpan<float> xb, ReadOnlySpan<float> weights, ReadOnlySpan<int> order,
                                                                             float max, float[] plus, float[] minus)
    {
        Span<float> sumqx = stackalloc float[4], sumq2 = stackalloc float[4];
        float bestScore = -float.MaxValue, scale = max;
        int best1 = -1, best2 = -1, bestK = -1;
        for (int i1 = 0; i1 <= 16; i1++)
        {
            for (int i2 = i1; i2 <= 16; i2++)
            {
                sumqx.Clear();
                sumq2.Clear();
                for (int j = 0; j < 16; j++)
                {
                    int i = order[j];
                    int run = j < i1 ? 0 : j < i2 ? 1 : 2;
                    float w = weights[i];
                    for (int k = 0; k < 4; k++)
                    {
                        float v = PatternValues[2 * k + i / 8][run];
                        sumqx[k] += w * v * xb[i];
                        sumq2[k] += w * v * v;
                    }
                }
                for (int k = 0; k < 4; k++)
                {
                    if (sumq2[k] > 0 && sumqx[k] * sumqx[k] > bestScore * sumq2[k])
                    {
                        scale = sumqx[k] / sumq2[k];
                        bestScore = scale * sumqx[k];
                        best1 = i1;
                        best2 = i2;
                        bestK = k;
                    }
                }
            }
        }
        return (best1, best2, bestK, scale);
    }

    /// <summary>A group's three values with shift +Delta and with −Delta (ggml's x_p and x_m).</summary>
    private static readonly float[] PlusShifted = Iq1Fit.PlusShifted(Delta), MinusShifted = Iq1Fit.MinusShifted(Delta);

    /// <summary>[2·pattern + half]: the three values of each half of a sub-block under each shift pattern.</summary>
    private static readonly float[][] PatternValues =
        [.. Enumerable.Range(0, 8).Select(i => GroupValues(i / 2, i % 2, PlusShifted, MinusShifted))];

    /// <summary>
    /// dequantize_row_iq1_m: per half sub-block <c>dl = d·(2s + 1)</c> in float, then each weight
    /// <c>dl·(grid + shift)</c>, the sum rounded to float first, as ggml does.
    /// </summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        ulong[] grid = Iq1Grid.Values;
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * BlockBytes, BlockBytes);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            ReadOnlySpan<ushort> sc = MemoryMarshal.Cast<byte, ushort>(block.Slice(ScalesOffset, 8));
            float d = F16.ToSingle(ScaleBits(sc[0], sc[1], sc[2], sc[3]));
            for (int ib = 0; ib < 8; ib++)
            {
                int word = sc[ib / 2], shiftBits = 6 * (ib % 2);
                float dl1 = d * (2 * ((word >> shiftBits) & 7) + 1);
                float dl2 = d * (2 * ((word >> (shiftBits + 3)) & 7) + 1);
                for (int l = 0; l < 4; l++)
                {
                    byte qh = block[QhOffset + 2 * ib + l / 2];
                    ulong g = grid[Index(block[4 * ib + l], qh, l)];
                    float shift = (qh & (0x08 << (4 * (l & 1)))) != 0 ? -Delta : Delta;
                    float dl = l < 2 ? dl1 : dl2;
                    for (int j = 0; j < 8; j++)
                    {
                        y[32 * ib + 8 * l + j] = dl * ((sbyte)(g >> (8 * j)) + shift);
                    }
                }
            }
        }
    }

    /// <summary>
    /// IQ1_M row · Q8_K activation over <paramref name="blocks"/> super-blocks. Delta is 1/8, so each weight's
    /// <c>grid + shift</c> is <c>(8·grid ± 1)/8</c>: per super-block eight exact int32 lanes, lane l =
    /// <c>Σ_ib Σ_j ls·(8·grid_j ± 1)·q_j</c> over elements 32ib + 4l .. 32ib + 4l + 3, each with its half sub-block's odd
    /// scale ls (|lane| ≤ 8·15·4·9·127 &lt; 2^24, exact in float), then <c>acc_l = fma(d·y_d, lane_l, acc_l)</c>, and
    /// <c>Delta·</c><see cref="Int8BlockDot.Sum(Vector256{float})"/> at the end, as ggml's AVX2 dots accumulate. The
    /// vector tiers compute the same lanes with AVX2 (the Vector512 tier runs the 256-bit code), so every tier gives the
    /// same bits.
    /// </summary>
    public static unsafe float Dot(byte* w, byte* x, int blocks, SimdTier tier)
    {
        if (tier != SimdTier.Scalar && Avx2.IsSupported)
        {
            return DotAvx2(w, x, blocks);
        }
        ulong[] grid = Iq1Grid.Values;
        float* acc = stackalloc float[Int8BlockDot.Lanes];
        int* lanes = stackalloc int[Int8BlockDot.Lanes];
        new Span<float>(acc, Int8BlockDot.Lanes).Clear();
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            byte* xb = x + (long)b * Q8_K.BlockBytes;
            sbyte* q8 = (sbyte*)(xb + Q8_K.QsOffset);
            ushort* sc = (ushort*)(wb + ScalesOffset);
            new Span<int>(lanes, Int8BlockDot.Lanes).Clear();
            for (int ib = 0; ib < 8; ib++)
            {
                int word = sc[ib / 2], shiftBits = 6 * (ib % 2);
                for (int l = 0; l < 4; l++)
                {
                    // Groups 0 and 1 take the sub-block's first scale, 2 and 3 its second.
                    int ls = 2 * ((word >> (shiftBits + 3 * (l / 2))) & 7) + 1;
                    byte qh = wb[QhOffset + 2 * ib + l / 2];
                    ulong g = grid[Index(wb[4 * ib + l], qh, l)];
                    int sign = (qh & (0x08 << (4 * (l & 1)))) != 0 ? -1 : 1;
                    for (int j = 0; j < 8; j++)
                    {
                        lanes[(8 * l + j) / 4] += ls * (8 * (sbyte)(g >> (8 * j)) + sign) * q8[32 * ib + 8 * l + j];
                    }
                }
            }
            float d = F16.ToSingle(ScaleBits(sc[0], sc[1], sc[2], sc[3])) * *(float*)xb;
            for (int l = 0; l < Int8BlockDot.Lanes; l++)
            {
                acc[l] = MathF.FusedMultiplyAdd(d, lanes[l], acc[l]);
            }
        }
        return Delta * Int8BlockDot.Sum(acc);
    }

    /// <summary>
    /// <see cref="Dot"/> with AVX2: the same lanes and float steps. In its own compilation root with the block loop, as
    /// IQ1_S's, so that the sub-blocks inline within the JIT's budget.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe float DotAvx2(byte* w, byte* x, int blocks)
    {
        fixed (ulong* grid = Iq1Grid.Values)
        {
            Vector256<float> acc = Vector256<float>.Zero;
            for (int b = 0; b < blocks; b++)
            {
                byte* wb = w + (long)b * BlockBytes;
                byte* xb = x + (long)b * Q8_K.BlockBytes;
                StreamPrefetch.Ahead(wb);
                StreamPrefetch.Ahead(wb + BlockBytes - 1);
                sbyte* q8 = (sbyte*)(xb + Q8_K.QsOffset);
                ushort* sc = (ushort*)(wb + ScalesOffset);
                Vector256<int> even = SubBlockAvx2(wb, 0, sc[0], q8, grid);
                Vector256<int> odd = SubBlockAvx2(wb, 1, sc[0] >> 6, q8 + 32, grid);
                even += SubBlockAvx2(wb, 2, sc[1], q8 + 64, grid);
                odd += SubBlockAvx2(wb, 3, sc[1] >> 6, q8 + 96, grid);
                even += SubBlockAvx2(wb, 4, sc[2], q8 + 128, grid);
                odd += SubBlockAvx2(wb, 5, sc[2] >> 6, q8 + 160, grid);
                even += SubBlockAvx2(wb, 6, sc[3], q8 + 192, grid);
                odd += SubBlockAvx2(wb, 7, sc[3] >> 6, q8 + 224, grid);
                float d = F16.ToSingle(ScaleBits(sc[0], sc[1], sc[2], sc[3])) * *(float*)xb;
                acc = Vector256.FusedMultiplyAdd(Vector256.Create(d), Vector256.ConvertToSingle(even + odd), acc);
            }
            return Delta * Int8BlockDot.Sum(acc);
        }
    }

    /// <summary>
    /// Eight int32 lanes summing to <c>Σ ls·(8·grid + sign)·q</c> over sub-block <paramref name="ib"/>, whose scales s1
    /// and s2 are bits 0..2 and 3..5 of <paramref name="scales"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<int> SubBlockAvx2(byte* wb, int ib, int scales, sbyte* q8, ulong* grid)
    {
        byte* qs = wb + 4 * ib;
        byte* qh = wb + QhOffset + 2 * ib;
        Vector256<sbyte> ternary = IqGroup.Groups(grid[Index(qs[0], qh[0], 0)], grid[Index(qs[1], qh[0], 1)],
                                                  grid[Index(qs[2], qh[1], 2)], grid[Index(qs[3], qh[1], 3)]);
        // Group l's shift sign is bit 3 + 4(l % 2) of qh byte l / 2: that byte is spread over the group's eight bytes
        // (vpshufb works within 128-bit halves, which hold groups 0-1 and 2-3), each testing the group's bit. The
        // constants are 64-bit lanes so that this small IL still inlines eight times.
        Vector256<byte> spread = Avx2.Shuffle(Vector256.Create(*(ushort*)qh).AsByte(),
            Vector256.Create(0UL, 0UL, 0x0101010101010101UL, 0x0101010101010101UL).AsByte());
        Vector256<byte> bit = Vector256.Create(0x0808080808080808UL, 0x8080808080808080UL, 0x0808080808080808UL, 0x8080808080808080UL).AsByte();
        Vector256<sbyte> sign = (Vector256.Equals(spread & bit, bit) | Vector256.Create((byte)1)).AsSByte();   // −1 where set, else +1
        Vector256<sbyte> weights = Avx2.Sign(Vector256.Create((sbyte)8), ternary) + sign;                    // grid is −1, 0 or +1
        Vector256<short> scale = Vector256.Create(Vector128.Create((short)(2 * (scales & 7) + 1)), Vector128.Create((short)(2 * ((scales >> 3) & 7) + 1)));
        return IqGroup.ScaledLanes(weights, Vector256.Load(q8), scale);
    }
}

using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_IQ1_S: super-blocks of 256 weights in 8 sub-blocks of 32 (four groups of 8), 50 bytes each
/// (ggml-common.h block_iq1_s):
/// <code>
/// offset  0  ushort d       super-block scale, IEEE half
/// offset  2  byte   qs[32]  qs[4ib + l]: low 8 bits of the codebook index of group l of sub-block ib
/// offset 34  ushort qh[8]   qh[ib]: bits 3l..3l+2 the high 3 bits of group l's index (l = 0..3),
///                           bits 12..14 the 3-bit sub-block scale s, bit 15 the sign of the shift
/// dl = d·(2s + 1), shift = bit15 ? −Delta : +Delta,
/// element 32ib + 8l + j = dl·(grid[qs[4ib + l] | ((qh[ib] &gt;&gt; 3l) &amp; 7) &lt;&lt; 8][j] + shift)
/// </code>
/// grid is <see cref="Iq1Grid"/> (each weight −1, 0 or +1). Its vec_dot_type is Q8_K. <see cref="QuantizeWeighted"/>
/// is ggml's quantize_iq1_s, which needs an importance matrix (so there is no reference quantizer without one).
/// </summary>
internal static class IQ1_S
{
    public const int BlockSize = Q8_K.BlockSize;
    public const int BlockBytes = 50;

    /// <summary>ggml's GROUP_MAX_EPS_IQ1_S: a sub-block whose largest magnitude is below this is stored as zeros.</summary>
    private const float GroupMaxEps = 1e-12f;
    private const int QsOffset = 2;
    private const int QhOffset = 34;

    /// <summary>ggml-common.h IQ1S_DELTA: the shift that moves the ternary grid off zero, by sub-block.</summary>
    internal const float Delta = 0.125f;

    /// <summary>
    /// quantize_iq1_s with quant_weights (quantize_row_iq1_s_impl), one row. Per sub-block of 32: weights
    /// <c>importance·sqrt(σ² + x²)</c>, σ² twice the super-block's mean square; the weights sorted by value, and every
    /// split into three runs (levels 0, 1, 2) tried with both shifts, from prefix sums, keeping the split and shift of
    /// largest <c>(Σwxq)² / Σwq²</c> (a strict gain); a negative scale flips levels and shift. Each group of eight goes
    /// onto the codebook (its best neighbour when off it, and then the scale is refitted). <c>d = maxScale/15</c> is
    /// stored times 1.125 (ggml's fudge factor), each sub-block's 3-bit scale code and shift sign in the top bits of qh.
    /// </summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst)
    {
        Debug.Assert(src.Length % BlockSize == 0 && dst.Length == src.Length / BlockSize * BlockBytes && columnWeights.Length == src.Length);
        IqLattice lattice = IqLattice.Iq1;
        float[] plus = PlusShifted, minus = MinusShifted;
        Span<float> weights = stackalloc float[32], sumX = stackalloc float[33], sumW = stackalloc float[33], scales = stackalloc float[8];
        Span<int> order = stackalloc int[32], shifts = stackalloc int[8];
        Span<sbyte> levels = stackalloc sbyte[32];
        Span<int> index = stackalloc int[4];
        for (int b = 0; b < src.Length / BlockSize; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> block = dst.Slice(b * BlockBytes, BlockBytes);
            block.Clear();
            float maxScale = 0f;
            float sigma2 = 2 * WeightedFits.SumOfSquares(x) / BlockSize;
            for (int ib = 0; ib < 8; ib++)
            {
                ReadOnlySpan<float> xb = x.Slice(32 * ib, 32);
                WeightedFits.Importance(xb, columnWeights.Slice(b * BlockSize + 32 * ib, 32), sigma2, weights);
                float max = MathF.Abs(xb[0]);
                for (int i = 1; i < 32; i++) max = max > MathF.Abs(xb[i]) ? max : MathF.Abs(xb[i]);
                // The sub-block keeps index 0, scale code 0 and a positive shift.
                if (max < GroupMaxEps)
                {
                    scales[ib] = 0f;
                    shifts[ib] = 1;
                    continue;
                }
                Iq1Fit.SortByValue(xb, order);
                sumX[0] = sumW[0] = 0f;
                for (int j = 0; j < 32; j++)
                {
                    int i = order[j];
                    sumX[j + 1] = sumX[j] + weights[i] * xb[i];
                    sumW[j + 1] = sumW[j] + weights[i];
                }
                float bestScore = -float.MaxValue, scale = max;
                int best1 = -1, best2 = -1, bestShift = 0;
                for (int i1 = 0; i1 <= 32; i1++)
                {
                    for (int i2 = i1; i2 <= 32; i2++)
                    {
                        for (int shift = 1; shift >= -1; shift -= 2)
                        {
                            float[] v = shift == 1 ? plus : minus;
                            float sumqx = (sumX[i1] - sumX[0]) * v[0] + (sumX[i2] - sumX[i1]) * v[1] + (sumX[32] - sumX[i2]) * v[2];
                            float sumq2 = (sumW[i1] - sumW[0]) * v[0] * v[0] + (sumW[i2] - sumW[i1]) * v[1] * v[1] + (sumW[32] - sumW[i2]) * v[2] * v[2];
                            if (sumq2 > 0 && sumqx * sumqx > bestScore * sumq2)
                            {
                                scale = sumqx / sumq2;
                                bestScore = scale * sumqx;
                                best1 = i1;
                                best2 = i2;
                                bestShift = shift;
                            }
                        }
                    }
                }
                if (best1 < 0)
                {
                    scales[ib] = 0f;
                    shifts[ib] = 1;
                    continue;
                }
                for (int j = 0; j < 32; j++) levels[order[j]] = (sbyte)(j < best1 ? 0 : j < best2 ? 1 : 2);
                if (scale < 0)
                {
                    for (int j = 0; j < 32; j++) levels[j] = (sbyte)(2 - levels[j]);
                    scale = -scale;
                    bestShift = -bestShift;
                }
                float[] values = bestShift == 1 ? plus : minus;
                bool allOnGrid = true;
                for (int k = 0; k < 4; k++)
                {
                    index[k] = Iq1Fit.Place(lattice, xb.Slice(8 * k, 8), weights.Slice(8 * k, 8), scale, values, levels.Slice(8 * k, 8), out bool onGrid);
                    allOnGrid &= onGrid;
                }
                if (!allOnGrid)
                {
                    float sumqx = 0f, sumq2 = 0f;
                    for (int i = 0; i < 32; i++)
                    {
                        float w = weights[i];
                        float q = values[levels[i]];
                        sumqx += w * q * xb[i];
                        sumq2 += w * q * q;
                    }
                    if (sumqx > 0 && sumq2 > 0) scale = sumqx / sumq2;
                }
                int high = 0;
                for (int k = 0; k < 4; k++)
                {
                    block[QsOffset + 4 * ib + k] = (byte)index[k];
                    high |= (index[k] >> 8) << (3 * k);
                }
                MemoryMarshal.Write(block[(QhOffset + 2 * ib)..], (ushort)high);
                Debug.Assert(scale >= 0);
                scales[ib] = scale;
                shifts[ib] = bestShift;
                maxScale = MathF.Max(maxScale, scale);
            }
            if (maxScale == 0f) continue;
            float d = maxScale / 15;
            MemoryMarshal.Write(block, F16.FromSingle(d * 1.125f));
            float id = 1 / d;
            for (int ib = 0; ib < 8; ib++)
            {
                int l = IqGridFit.ScaleCode(scales[ib], id, 7) | (shifts[ib] == -1 ? 8 : 0);
                Span<byte> qh = block[(QhOffset + 2 * ib)..];
                MemoryMarshal.Write(qh, (ushort)(MemoryMarshal.Read<ushort>(qh) | l << 12));
            }
        }
    }

    /// <summary>A group's three values with shift +Delta and with −Delta (ggml's x_p and x_m).</summary>
    private static readonly float[] PlusShifted = Iq1Fit.PlusShifted(Delta), MinusShifted = Iq1Fit.MinusShifted(Delta);

    /// <summary>
    /// dequantize_row_iq1_s: per sub-block <c>dl = d·(2s + 1)</c> in float, then each weight
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
            float d = F16.ToSingle(MemoryMarshal.Read<ushort>(block));
            for (int ib = 0; ib < 8; ib++)
            {
                int qh = MemoryMarshal.Read<ushort>(block[(QhOffset + 2 * ib)..]);
                float dl = d * (2 * ((qh >> 12) & 7) + 1);
                float shift = (qh & 0x8000) != 0 ? -Delta : Delta;
                for (int l = 0; l < 4; l++)
                {
                    ulong g = grid[block[QsOffset + 4 * ib + l] | (((qh >> (3 * l)) & 7) << 8)];
                    for (int j = 0; j < 8; j++)
                    {
                        y[32 * ib + 8 * l + j] = dl * ((sbyte)(g >> (8 * j)) + shift);
                    }
                }
            }
        }
    }

    /// <summary>
    /// IQ1_S row · Q8_K activation over <paramref name="blocks"/> super-blocks, in the order of ggml's AVX2
    /// ggml_vec_dot_iq1_s_q8_K: per super-block eight exact int32 lanes, lane l = <c>Σ_ib (2s+1)·Σ grid_j·q_j</c> over
    /// elements 32ib + 4l .. 32ib + 4l + 3 (at most 8·15·4·127 in magnitude), and the exact shift term
    /// <c>T = Σ_ib (2s+1)·(±1)·(bsums[2ib] + bsums[2ib+1])</c> (the shift is the same for all 32 weights of a
    /// sub-block); then <c>acc_l = fma(d·y_d, lane_l, acc_l)</c> and <c>accShift = fma(d·y_d, T, accShift)</c>, and
    /// <see cref="Int8BlockDot.Sum(Vector256{float})"/> + Delta·accShift at the end. The vector tiers compute the same
    /// lanes with AVX2 (the Vector512 tier runs the 256-bit code), so every tier gives the same bits.
    /// </summary>
    public static unsafe float Dot(byte* w, byte* x, int blocks, SimdTier tier)
    {
        if (tier != SimdTier.Scalar && Avx2.IsSupported)
        {
            return DotAvx2(w, x, blocks);
        }
        float* acc = stackalloc float[Int8BlockDot.Lanes];
        int* lanes = stackalloc int[Int8BlockDot.Lanes];
        new Span<float>(acc, Int8BlockDot.Lanes).Clear();
        float accShift = 0f;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            byte* xb = x + (long)b * Q8_K.BlockBytes;
            GridLanes(wb, (sbyte*)(xb + Q8_K.QsOffset), lanes);
            float d = F16.ToSingleFast(*(ushort*)wb) * *(float*)xb;
            for (int l = 0; l < Int8BlockDot.Lanes; l++)
            {
                acc[l] = MathF.FusedMultiplyAdd(d, lanes[l], acc[l]);
            }
            accShift = MathF.FusedMultiplyAdd(d, ShiftSum(wb, (short*)(xb + Q8_K.BsumsOffset)), accShift);
        }
        return Int8BlockDot.Sum(acc) + Delta * accShift;
    }

    /// <summary>
    /// <see cref="Dot"/> with AVX2: the same lanes and float steps, in its own compilation root with the block loop so
    /// that the sub-blocks inline within the JIT's budget.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe float DotAvx2(byte* w, byte* x, int blocks)
    {
        fixed (ulong* grid = Iq1Grid.Values)
        {
            Vector256<float> acc = Vector256<float>.Zero;
            float accShift = 0f;
            for (int b = 0; b < blocks; b++)
            {
                byte* wb = w + (long)b * BlockBytes;
                byte* xb = x + (long)b * Q8_K.BlockBytes;
                StreamPrefetch.Ahead(wb);
                StreamPrefetch.Ahead(wb + BlockBytes - 1);
                Vector256<int> lanes = GridLanesAvx2(wb, (sbyte*)(xb + Q8_K.QsOffset), grid);
                float d = F16.ToSingleFast(*(ushort*)wb) * *(float*)xb;
                acc = Vector256.FusedMultiplyAdd(Vector256.Create(d), Vector256.ConvertToSingle(lanes), acc);
                accShift = MathF.FusedMultiplyAdd(d, ShiftSumVector(wb, (short*)(xb + Q8_K.BsumsOffset)), accShift);
            }
            return Int8BlockDot.Sum(acc) + Delta * accShift;
        }
    }

    /// <summary>Grid index of group l (0..3) of a sub-block: its qs byte and three bits of the sub-block's qh.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Index(byte qs, int qh, int l) => qs | (((uint)qh >> (3 * l)) & 7) << 8;

    /// <summary>Scalar twin of <see cref="GridLanesAvx2"/>: lane l gets <c>(2s+1)·grid·q</c> of elements 4l .. 4l+3 of every sub-block.</summary>
    private static unsafe void GridLanes(byte* wb, sbyte* q8, int* lanes)
    {
        ulong[] grid = Iq1Grid.Values;
        ushort* qhs = (ushort*)(wb + QhOffset);
        new Span<int>(lanes, Int8BlockDot.Lanes).Clear();
        for (int ib = 0; ib < 8; ib++)
        {
            int qh = qhs[ib];
            int scale = 2 * ((qh >> 12) & 7) + 1;
            for (int l = 0; l < 4; l++)
            {
                ulong g = grid[Index(wb[QsOffset + 4 * ib + l], qh, l)];
                for (int j = 0; j < 8; j++)
                {
                    lanes[(8 * l + j) / 4] += scale * q8[32 * ib + 8 * l + j] * (sbyte)(g >> (8 * j));
                }
            }
        }
    }

    /// <summary>
    /// The eight lanes of one super-block with AVX2, two running sums for independent work between the grid loads.
    /// Each group's index takes one shift and one mask of qh (ggml's form), the weights (−1, 0, +1) go onto the
    /// activation quants by vpsignb (<see cref="IqGroup.SignedLanes"/>, magnitudes all one: a zero weight zeroes its quant).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<int> GridLanesAvx2(byte* wb, sbyte* q8, ulong* grid)
    {
        ushort* qhs = (ushort*)(wb + QhOffset);
        byte* qs = wb + QsOffset;
        Vector256<int> even = SubBlockAvx2(qs, qhs[0], q8, grid);
        Vector256<int> odd = SubBlockAvx2(qs + 4, qhs[1], q8 + 32, grid);
        even += SubBlockAvx2(qs + 8, qhs[2], q8 + 64, grid);
        odd += SubBlockAvx2(qs + 12, qhs[3], q8 + 96, grid);
        even += SubBlockAvx2(qs + 16, qhs[4], q8 + 128, grid);
        odd += SubBlockAvx2(qs + 20, qhs[5], q8 + 160, grid);
        even += SubBlockAvx2(qs + 24, qhs[6], q8 + 192, grid);
        odd += SubBlockAvx2(qs + 28, qhs[7], q8 + 224, grid);
        return even + odd;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<int> SubBlockAvx2(byte* qs, uint qh, sbyte* q8, ulong* grid)
    {
        Vector256<sbyte> weights = IqGroup.Groups(grid[qs[0] | ((qh << 8) & 0x700)], grid[qs[1] | ((qh << 5) & 0x700)],
            grid[qs[2] | ((qh << 2) & 0x700)], grid[qs[3] | ((qh >> 1) & 0x700)]);
        return IqGroup.SignedLanes(Vector256.Create((byte)1), weights, Vector256.Load(q8), Vector256.Create((short)(2 * ((qh >> 12) & 7) + 1)));
    }

    /// <summary><c>T = Σ_ib (2s+1)·(±1)·(bsums[2ib] + bsums[2ib+1])</c>, exact.</summary>
    private static unsafe int ShiftSum(byte* wb, short* bsums)
    {
        ushort* qhs = (ushort*)(wb + QhOffset);
        int sumShift = 0;
        for (int ib = 0; ib < 8; ib++)
        {
            int qh = qhs[ib];
            int ls = 2 * ((qh >> 12) & 7) + 1;
            int sign = 1 - ((qh >> 14) & 2);   // bit 15: −1, else +1
            sumShift += ls * sign * (bsums[2 * ib] + bsums[2 * ib + 1]);
        }
        return sumShift;
    }

    /// <summary>
    /// <see cref="ShiftSum"/> for all eight sub-blocks at once (SSSE3): the signed scales as int16 lanes, the pair sums
    /// of the group sums (at most 2·16·127, so the int16 adds are exact) by one horizontal add, one vpmaddwd.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe int ShiftSumVector(byte* wb, short* bsums)
    {
        Vector128<ushort> qh = Vector128.Load((ushort*)(wb + QhOffset));
        Vector128<short> scale = (((qh >>> 12) & Vector128.Create((ushort)7)) * 2 + Vector128<ushort>.One).AsInt16();
        Vector128<short> negate = qh.AsInt16() >> 15;   // −1 where bit 15 is set
        Vector128<short> signed = (scale ^ negate) - negate;
        Vector128<short> pairSums = Ssse3.HorizontalAdd(Vector128.Load(bsums), Vector128.Load(bsums + 8));
        return Vector128.Sum(Sse2.MultiplyAddAdjacent(signed, pairSums));
    }
}

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// The steps that ggml's IQ2 and IQ3 quantizers (quantize_row_iq2_xxs_impl, _iq2_xs_impl, _iq2_s_impl,
/// quantize_row_iq3_xxs_impl, quantize_row_iq3_s_impl) share. Those types store magnitudes from a codebook and signs
/// apart, so a sub-block is fitted on |x|: <c>|x| ≈ scale·(2l + 1)</c>, each group of <see cref="IqLattice.Dimension"/>
/// levels a codebook point. Every float operation is ggml's, in C's order, so the bytes are llama-quantize's.
/// </summary>
internal static class IqGridFit
{
    /// <summary>
    /// Splits each group of eight weights into magnitudes <paramref name="xval"/> and a sign byte (bit i set where
    /// x[i] &lt; 0). With <paramref name="evenParity"/> (IQ2_XXS, IQ2_XS, IQ3_XXS store seven sign bits and imply the
    /// eighth by parity) a group with an odd number of negatives flips the sign of its least important weight
    /// (least <c>w·x²</c>, the first on a tie), whose magnitude becomes negative, and the byte keeps seven bits.
    /// </summary>
    public static void FoldSigns(ReadOnlySpan<float> x, ReadOnlySpan<float> weights, Span<float> xval, Span<byte> signs, bool evenParity)
    {
        for (int k = 0; k < x.Length / 8; k++)
        {
            int negatives = 0;
            int s = 0;
            for (int i = 0; i < 8; i++)
            {
                float v = x[8 * k + i];
                if (v >= 0)
                {
                    xval[8 * k + i] = v;
                }
                else
                {
                    xval[8 * k + i] = -v;
                    negatives++;
                    s |= 1 << i;
                }
            }
            if (evenParity)
            {
                if (negatives % 2 != 0)
                {
                    int imin = 0;
                    float min = weights[8 * k] * x[8 * k] * x[8 * k];
                    for (int i = 1; i < 8; i++)
                    {
                        float a = weights[8 * k + i] * x[8 * k + i] * x[8 * k + i];
                        if (a < min)
                        {
                            min = a;
                            imin = i;
                        }
                    }
                    xval[8 * k + imin] = -xval[8 * k + imin];
                    s ^= 1 << imin;
                }
                s &= 127;
            }
            signs[k] = (byte)s;
        }
    }

    /// <summary>The largest of <paramref name="xval"/> by C's <c>MAX(a, b) = a &gt; b ? a : b</c>.</summary>
    public static float Max(ReadOnlySpan<float> xval)
    {
        float max = xval[0];
        for (int i = 1; i < xval.Length; i++) max = max > xval[i] ? max : xval[i];
        return max;
    }

    /// <summary>
    /// Rounds one group to the levels <c>l = clamp(nearest((id·x − 1)/2), 0, maxLevel)</c> and, when that point is not in
    /// the codebook, replaces them by the levels of its best neighbour under <paramref name="scale"/> and the weights
    /// <paramref name="waux"/>. Returns whether the rounded point was in the codebook.
    /// </summary>
    public static bool PlaceGroup(IqLattice lattice, ReadOnlySpan<float> xval, ReadOnlySpan<float> waux, float id, float scale, int maxLevel, Span<sbyte> levels)
    {
        for (int i = 0; i < lattice.Dimension; i++)
        {
            levels[i] = (sbyte)Math.Clamp(Q8_K.NearestInt(0.5f * (id * xval[i] - 1)), 0, maxLevel);
        }
        int key = lattice.Key(levels);
        if (lattice.IndexOf(key) >= 0) return true;
        lattice.NearestNeighbour(key, xval, waux, scale, levels);
        return false;
    }

    /// <summary>The weighted least-squares terms of <c>xval ≈ scale·(2l + 1)</c>: Σw·x·q and Σw·q².</summary>
    public static (float SumQx, float SumQ2) Moments(ReadOnlySpan<float> xval, ReadOnlySpan<float> weights, ReadOnlySpan<sbyte> levels)
    {
        float sumqx = 0f, sumq2 = 0f;
        for (int i = 0; i < xval.Length; i++)
        {
            float w = weights[i];
            float q = 2 * levels[i] + 1;
            sumqx += w * xval[i] * q;
            sumq2 += w * q * q;
        }
        return (sumqx, sumq2);
    }

    /// <summary>
    /// The scale search of IQ2_XS, IQ2_S, IQ3_XXS and IQ3_S: candidate inverse scales
    /// <c>(2·maxQ − 1 + step·stepSize) / max</c> for step in −steps..steps, each rounding every group onto the codebook;
    /// the candidate of largest <c>(Σwxq)² / Σwq²</c> wins (a strict gain over the best so far), with its levels. Then
    /// the groups that were off the codebook (all groups, with <paramref name="refineAll"/>: IQ3_S) are placed again at
    /// the winning scale and the scale refitted. <paramref name="startOnGrid"/> is what the groups count as before any
    /// candidate wins (IQ3_S starts them off the codebook, the others on). Returns the scale; levels in
    /// <paramref name="levels"/>, which the caller cleared.
    /// </summary>
    public static float SearchScale(IqLattice lattice, ReadOnlySpan<float> xval, ReadOnlySpan<float> weights, ReadOnlySpan<float> waux, float max,
                                    int maxQ, int steps, float stepSize, bool startOnGrid, bool refineAll, Span<sbyte> levels)
    {
        int dim = lattice.Dimension;
        int groups = xval.Length / dim;
        Span<sbyte> trial = stackalloc sbyte[xval.Length];
        Span<bool> onGrid = stackalloc bool[groups], trialOnGrid = stackalloc bool[groups];
        onGrid.Fill(startOnGrid);
        float best = 0f;
        float scale = max / (2 * maxQ - 1);
        for (int step = -steps; step <= steps; step++)
        {
            float id = (2 * maxQ - 1 + step * stepSize) / max;
            float thisScale = 1 / id;
            for (int k = 0; k < groups; k++)
            {
                trialOnGrid[k] = PlaceGroup(lattice, xval.Slice(dim * k, dim), waux.Slice(dim * k, dim), id, thisScale, maxQ - 1, trial.Slice(dim * k, dim));
            }
            var (sumqx, sumq2) = Moments(xval, weights, trial);
            if (sumq2 > 0 && sumqx * sumqx > best * sumq2)
            {
                scale = sumqx / sumq2;
                best = scale * sumqx;
                trial.CopyTo(levels);
                trialOnGrid.CopyTo(onGrid);
            }
        }
        if (onGrid.Contains(false) && scale > 0)
        {
            float id = 1 / scale;
            for (int k = 0; k < groups; k++)
            {
                if (!refineAll && onGrid[k]) continue;
                PlaceGroup(lattice, xval.Slice(dim * k, dim), waux.Slice(dim * k, dim), id, scale, maxQ - 1, levels.Slice(dim * k, dim));
            }
            var (sumqx, sumq2) = Moments(xval, weights, levels);
            if (sumq2 > 0) scale = sumqx / sumq2;
        }
        return scale;
    }

    /// <summary>The codebook index of a group's levels, which the search leaves on the codebook.</summary>
    public static int IndexOf(IqLattice lattice, ReadOnlySpan<sbyte> levels)
    {
        int index = lattice.IndexOf(lattice.Key(levels));
        if (index < 0)
        {
            throw new InvalidOperationException("A fitted group is not on the codebook (ggml aborts here: \"found point not on grid\").");
        }
        return index;
    }

    /// <summary>
    /// The 4-bit sub-block scale code that ggml stores for <paramref name="scale"/> under the super-block scale
    /// <c>d = maxScale / 31</c>: <c>clamp(nearest((scale/d − 1)/2), 0, 15)</c>, so the decoded scale is d·(2s + 1).
    /// </summary>
    public static int ScaleCode(float scale, float inverseD, int maxCode) =>
        Math.Clamp(Q8_K.NearestInt(0.5f * (inverseD * scale - 1)), 0, maxCode);

    /// <summary>The importance of each weight: <c>columnWeights·sqrt(σ² + x²)</c> with an importance matrix; without one
    /// x², or <c>σ²/4 + x²</c> with <paramref name="quarterSigma2"/> (ggml's choice for IQ2_S).</summary>
    public static void Weights(ReadOnlySpan<float> x, ReadOnlySpan<float> columnWeights, float sigma2, Span<float> weights, bool quarterSigma2 = false)
    {
        if (!columnWeights.IsEmpty)
        {
            WeightedFits.Importance(x, columnWeights, sigma2, weights);
            return;
        }
        for (int i = 0; i < x.Length; i++) weights[i] = quarterSigma2 ? 0.25f * sigma2 + x[i] * x[i] : x[i] * x[i];
    }

    /// <summary>waux = sqrt(weights): the neighbour searches weigh squared errors by it.</summary>
    public static void SquareRoots(ReadOnlySpan<float> weights, Span<float> waux)
    {
        for (int i = 0; i < weights.Length; i++) waux[i] = MathF.Sqrt(weights[i]);
    }
}

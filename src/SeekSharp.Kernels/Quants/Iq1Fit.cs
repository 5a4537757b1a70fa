namespace SeekSharp.Kernels.Quants;

/// <summary>
/// The steps that ggml's ternary quantizers (quantize_row_iq1_s_impl, quantize_row_iq1_m_impl) share. Each weight
/// becomes one of three values <c>v[l] = l − 1 ± Delta</c> (l = 0, 1, 2) times a sub-block scale; with three values
/// the least-squares split can be searched exhaustively over the weights sorted by value, then each group of eight is
/// moved onto the 2048-point codebook (<see cref="IqLattice.Iq1"/>).
/// </summary>
internal static class Iq1Fit
{
    /// <summary>The three values of a group whose shift is +Delta (ggml's x_p), for a given Delta.</summary>
    public static float[] PlusShifted(float delta) => [-1 + delta, delta, 1 + delta];

    /// <summary>The three values of a group whose shift is −Delta (ggml's x_m).</summary>
    public static float[] MinusShifted(float delta) => [-1 - delta, -delta, 1 - delta];

    /// <summary>
    /// The order that sorts <paramref name="x"/> ascending, equal values kept in index order. ggml sorts (value, index)
    /// pairs by value alone with the C library's qsort, which glibc runs as a merge sort for arrays this small: a
    /// stable sort, so ties keep their index order there too.
    /// </summary>
    public static void SortByValue(ReadOnlySpan<float> x, Span<int> order)
    {
        for (int i = 0; i < x.Length; i++)
        {
            int j = i;
            while (j > 0 && x[i] < x[order[j - 1]])
            {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = i;
        }
    }

    /// <summary>
    /// iq1_find_best_neighbour2: for a group of eight whose rounded levels (key) are off the codebook, the neighbour of
    /// least <c>Σ w·(scale·values[l] − x)²</c> (the first on a tie); writes its levels and returns its index.
    /// When no neighbour's error is below float.MaxValue (an overflow or a NaN in the input) ggml goes on to scan the
    /// whole codebook, but that scan reads its values by codebook index (<c>xval[i]</c> for <c>xval[j]</c>), past the
    /// group and the row, which C leaves undefined; it then finds nothing finite either and aborts. This throws there.
    /// </summary>
    public static int BestNeighbour(IqLattice lattice, int key, ReadOnlySpan<float> x, ReadOnlySpan<float> weights, float scale,
                                    ReadOnlySpan<float> values, Span<sbyte> levels)
    {
        float bestScore = float.MaxValue;
        int best = -1;
        foreach (ushort g in lattice.NeighboursOf(key))
        {
            ReadOnlySpan<sbyte> p = lattice.Point(g);
            float d2 = 0f;
            for (int i = 0; i < 8; i++)
            {
                float q = values[(p[i] - 1) / 2];
                float diff = scale * q - x[i];
                d2 += weights[i] * diff * diff;
            }
            if (d2 < bestScore)
            {
                bestScore = d2;
                best = g;
            }
        }
        if (best < 0)
        {
            throw new InvalidOperationException("No codebook point gives a finite error (non-finite weights or values); ggml aborts here too.");
        }
        lattice.LevelsOf(best, levels);
        return best;
    }

    /// <summary>Places a group's levels on the codebook: its own index when it is there, else
    /// <see cref="BestNeighbour"/>. Returns the index and whether the levels were on the codebook.</summary>
    public static int Place(IqLattice lattice, ReadOnlySpan<float> x, ReadOnlySpan<float> weights, float scale, ReadOnlySpan<float> values,
                            Span<sbyte> levels, out bool onGrid)
    {
        int key = lattice.Key(levels);
        int index = lattice.IndexOf(key);
        onGrid = index >= 0;
        return onGrid ? index : BestNeighbour(lattice, key, x, weights, scale, values, levels);
    }
}

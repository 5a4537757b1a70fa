using System.Diagnostics;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// The search tables that ggml's IQ quantizers read (built by iq2xs_init_impl and iq3xs_init_impl when
/// ggml_quantize_init runs): a codebook seen as points of a lattice, a map from every lattice point to its codebook
/// index, and for each lattice point that is not in the codebook the list of codebook points nearest to it.
/// </summary>
/// <remarks>
/// <para>A point has <see cref="Dimension"/> coordinates (8 for the IQ2 and IQ1 grids, 4 for the IQ3 grids), each an
/// odd value 2l + 1 of a level l in 0 .. levels − 1. Its key packs the levels, <c>bits</c> bits each, coordinate k at
/// bit <c>bits·k</c>: the index ggml's kmap_q2xs / kmap_q3xs take.</para>
/// <para>The quantizers round a group of weights to levels, look the key up, and when it is off the codebook pick,
/// among its neighbours, the one of least weighted error (the first in list order on a tie). So the list order decides
/// ties and must be ggml's: ggml sorts the whole codebook by (squared distance, index) and keeps every point at the
/// <c>nearestDistances</c> smallest distinct distances. Buckets by distance, each filled in index order, give that
/// order without a sort.</para>
/// <para>ggml also lists neighbours for keys with a level no quantizer produces (level 3 of the 2-bit lattices); they
/// are never looked up, so they are not built here.</para>
/// <para>The codebooks are taken from the dequantization grids (<see cref="Iq2Grids"/>, <see cref="Iq3Grids"/>,
/// <see cref="Iq1Grid"/>), whose entry order is ggml's kgrid order; each table is built once, on first use, by
/// <see cref="Lazy{T}"/> (thread-safe), since the IQ1 table takes a moment and most runs never quantize IQ types.</para>
/// </remarks>
internal sealed class IqLattice
{
    /// <summary>Coordinates per point: 8 (IQ2, IQ1) or 4 (IQ3).</summary>
    public int Dimension { get; }

    private readonly int bits;

    /// <summary>[codebook size × Dimension]: the odd coordinates 2l + 1 of each codebook point.</summary>
    private readonly sbyte[] points;

    /// <summary>[2^(bits·Dimension)]: codebook index of a key, or −(start + 1) of its list in <see cref="neighbours"/>.</summary>
    private readonly int[] map;

    /// <summary>The neighbour lists, one after another: a count, then that many codebook indices.</summary>
    private readonly ushort[] neighbours;

    private IqLattice(int dimension, int bits, int levels, int nearestDistances, int gridSize, Func<int, int, int> levelOf)
    {
        Dimension = dimension;
        this.bits = bits;
        points = new sbyte[gridSize * dimension];
        map = new int[1 << (bits * dimension)];
        Array.Fill(map, int.MinValue);
        for (int g = 0; g < gridSize; g++)
        {
            int key = 0;
            for (int k = 0; k < dimension; k++)
            {
                int l = levelOf(g, k);
                points[g * dimension + k] = (sbyte)(2 * l + 1);
                key |= l << (bits * k);
            }
            if (map[key] != int.MinValue)
            {
                throw new InvalidOperationException($"Codebook entries {map[key]} and {g} are the same point: the grid table is corrupt.");
            }
            map[key] = g;
        }

        var lists = new List<ushort>();
        int[] distance = new int[gridSize];
        Span<int> nearest = stackalloc int[nearestDistances];
        Span<int> position = stackalloc int[dimension];
        for (int key = 0; key < map.Length; key++)
        {
            if (map[key] >= 0 || !LevelsBelow(key, levels)) continue;
            for (int k = 0; k < dimension; k++)
            {
                position[k] = 2 * ((key >> (bits * k)) & ((1 << bits) - 1)) + 1;
            }
            // The smallest distinct squared distances, ascending, kept while the distances are computed.
            int found = 0;
            for (int g = 0; g < gridSize; g++)
            {
                int d2 = 0;
                for (int k = 0; k < dimension; k++)
                {
                    int diff = points[g * dimension + k] - position[k];
                    d2 += diff * diff;
                }
                distance[g] = d2;
                int at = 0;
                while (at < found && nearest[at] < d2) at++;
                if (at < found && nearest[at] == d2) continue;
                if (at == nearestDistances) continue;
                for (int m = Math.Min(found, nearestDistances - 1); m > at; m--) nearest[m] = nearest[m - 1];
                nearest[at] = d2;
                if (found < nearestDistances) found++;
            }
            int start = lists.Count;
            lists.Add(0);
            for (int t = 0; t < found; t++)
            {
                for (int g = 0; g < gridSize; g++)
                {
                    if (distance[g] == nearest[t]) lists.Add((ushort)g);
                }
            }
            lists[start] = (ushort)(lists.Count - start - 1);
            map[key] = -(start + 1);
        }
        neighbours = lists.ToArray();
    }

    private bool LevelsBelow(int key, int levels)
    {
        for (int k = 0; k < Dimension; k++)
        {
            if (((key >> (bits * k)) & ((1 << bits) - 1)) >= levels) return false;
        }
        return true;
    }

    /// <summary>The key of <paramref name="levels"/> (one level per coordinate).</summary>
    public int Key(ReadOnlySpan<sbyte> levels)
    {
        int key = 0;
        for (int k = 0; k < Dimension; k++) key |= levels[k] << (bits * k);
        return key;
    }

    /// <summary>The codebook index of <paramref name="key"/>, or a negative number when the point is off the codebook.</summary>
    public int IndexOf(int key) => map[key];

    /// <summary>The odd coordinates 2l + 1 of codebook point <paramref name="index"/>.</summary>
    public ReadOnlySpan<sbyte> Point(int index) => points.AsSpan(index * Dimension, Dimension);

    /// <summary>The codebook points nearest to the off-codebook <paramref name="key"/>, in ggml's order.</summary>
    public ReadOnlySpan<ushort> NeighboursOf(int key)
    {
        Debug.Assert(map[key] < 0 && map[key] != int.MinValue);
        int start = -map[key] - 1;
        return neighbours.AsSpan(start + 1, neighbours[start]);
    }

    /// <summary>Writes the levels (l = (coordinate − 1) / 2) of codebook point <paramref name="index"/>.</summary>
    public void LevelsOf(int index, Span<sbyte> levels)
    {
        for (int k = 0; k < Dimension; k++) levels[k] = (sbyte)((points[index * Dimension + k] - 1) / 2);
    }

    /// <summary>
    /// iq2_find_best_neighbour / iq3_find_best_neighbour: among the neighbours of <paramref name="key"/>, the point of
    /// least <c>Σ w·(scale·(2l + 1) − x)²</c> (the first on a tie); writes its levels and returns its index.
    /// </summary>
    public int NearestNeighbour(int key, ReadOnlySpan<float> x, ReadOnlySpan<float> weights, float scale, Span<sbyte> levels)
    {
        float bestD2 = float.MaxValue;
        int best = -1;
        foreach (ushort g in NeighboursOf(key))
        {
            ReadOnlySpan<sbyte> p = Point(g);
            float d2 = 0f;
            for (int i = 0; i < Dimension; i++)
            {
                float diff = scale * p[i] - x[i];
                d2 += weights[i] * diff * diff;
            }
            if (d2 < bestD2)
            {
                bestD2 = d2;
                best = g;
            }
        }
        if (best < 0)
        {
            throw new InvalidOperationException("No neighbour gives a finite error (non-finite weights or values); ggml aborts here too.");
        }
        LevelsOf(best, levels);
        return best;
    }

    // ggml's nwant per type (iq2xs_init_impl, iq3xs_init_impl): how many distinct distances the neighbour lists span.
    private static readonly Lazy<IqLattice> iq2Xxs = new(() => FromIq2(Iq2Grids.Iq2XxsGrid, nearestDistances: 2));
    private static readonly Lazy<IqLattice> iq2Xs = new(() => FromIq2(Iq2Grids.Iq2XsGrid, nearestDistances: 2));
    private static readonly Lazy<IqLattice> iq2S = new(() => FromIq2(Iq2Grids.Iq2SGrid, nearestDistances: 1));
    private static readonly Lazy<IqLattice> iq1 = new(() => new IqLattice(8, 2, 3, 3, Iq1Grid.Count,
        (g, k) => (sbyte)(Iq1Grid.Values[g] >> (8 * k)) + 1));
    private static readonly Lazy<IqLattice> iq3Xxs = new(() => new IqLattice(4, 3, 8, 2, Iq3Grids.Iq3xxsGrid.Length,
        (g, k) => Iq3xxsLevel((byte)(Iq3Grids.Iq3xxsGrid[g] >> (8 * k)))));
    private static readonly Lazy<IqLattice> iq3S = new(() => new IqLattice(4, 3, 8, 3, Iq3Grids.Iq3sGrid.Length,
        (g, k) => ((byte)(Iq3Grids.Iq3sGrid[g] >> (8 * k)) - 1) / 2));

    /// <summary>IQ2_XXS's 256-point codebook.</summary>
    public static IqLattice Iq2Xxs => iq2Xxs.Value;

    /// <summary>IQ2_XS's 512-point codebook.</summary>
    public static IqLattice Iq2Xs => iq2Xs.Value;

    /// <summary>IQ2_S's 1024-point codebook.</summary>
    public static IqLattice Iq2S => iq2S.Value;

    /// <summary>The 2048-point ternary codebook of IQ1_S and IQ1_M (ggml builds it once per type; both are equal).</summary>
    public static IqLattice Iq1 => iq1.Value;

    /// <summary>IQ3_XXS's 256-point codebook.</summary>
    public static IqLattice Iq3Xxs => iq3Xxs.Value;

    /// <summary>IQ3_S's 512-point codebook.</summary>
    public static IqLattice Iq3S => iq3S.Value;

    /// <summary>The IQ2 grids store magnitudes 8, 25 and 43 for the levels 0, 1 and 2.</summary>
    private static IqLattice FromIq2(ulong[] grid, int nearestDistances) =>
        new(8, 2, 3, nearestDistances, grid.Length, (g, k) => (byte)(grid[g] >> (8 * k)) switch
        {
            8 => 0,
            25 => 1,
            43 => 2,
            var m => throw new InvalidOperationException($"IQ2 grid entry {g} holds magnitude {m}, not 8, 25 or 43."),
        });

    /// <summary>iq3xxs_grid stores 4·(2l + 1) for l = 0..6 and 62 (not 60) for l = 7.</summary>
    private static int Iq3xxsLevel(byte m) => m == 62 ? 7 : (m - 4) / 8;
}

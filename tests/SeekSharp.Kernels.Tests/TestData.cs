using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests;

/// <summary>The vector tiers under test (public mirror of the internal SimdTier, for xunit theories).</summary>
public enum Tier
{
    Vector256 = SimdTier.Vector256,
    Vector512 = SimdTier.Vector512,
}

internal static class TestData
{
    /// <summary>Lengths below, at and above each vector width (4, 8, 16 floats) and their multiples.</summary>
    public static readonly int[] Lengths = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 259];

    /// <summary>Block counts for the 32-element quant formats (odd counts exercise the 2-block Vector512 tail).</summary>
    public static readonly int[] BlockCounts = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17];

    public static TheoryData<Tier, int> VectorTiersAndLengths()
    {
        var data = new TheoryData<Tier, int>();
        foreach (Tier tier in new[] { Tier.Vector256, Tier.Vector512 })
        {
            foreach (int n in Lengths)
            {
                data.Add(tier, n);
            }
        }
        return data;
    }

    public static TheoryData<Tier, int> VectorTiersAndBlockCounts()
    {
        var data = new TheoryData<Tier, int>();
        foreach (Tier tier in new[] { Tier.Vector256, Tier.Vector512 })
        {
            foreach (int n in BlockCounts)
            {
                data.Add(tier, n);
            }
        }
        return data;
    }

    /// <summary>Values of mixed sign and magnitude (spread over ~6 binades), deterministic per seed.</summary>
    public static float[] Random(int n, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            float mag = MathF.Pow(2f, (float)(rng.NextDouble() * 6 - 3));
            x[i] = (rng.Next(2) == 0 ? -mag : mag) * (float)rng.NextDouble() * scale;
        }
        return x;
    }

    /// <summary>Unit roundoff of binary32.</summary>
    public const double U = 1.0 / (1 << 24);

    /// <summary>
    /// Worst-case distance between two float summations (in any order) of the same n terms:
    /// each is within γ_n·Σ|t| of the exact sum (Higham, Accuracy and Stability, §4.2), so the two are
    /// within 2·γ_n·Σ|t|, with γ_n = n·u / (1 − n·u).
    /// </summary>
    public static double SummationBound(int n, double sumAbs)
    {
        double nu = Math.Max(n, 1) * U;
        return 2 * nu / (1 - nu) * sumAbs;
    }

    /// <summary>Gaussian values, smooth in distribution (no outliers beyond the normal tail), deterministic per seed.</summary>
    public static float[] Gaussian(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()))).ToArray();
    }

    /// <summary>
    /// Relative RMS error of quantizing <paramref name="x"/> to <paramref name="type"/> and reading it back: a sanity
    /// check on a layout (a swapped nibble or scale gives errors of order one), not on the quantizer's bits.
    /// </summary>
    public static double RoundTripRelativeRms(GgmlType type, float[] x)
    {
        byte[] q = new byte[TensorTypes.RowBytes(type, x.Length)];
        TensorTypes.Quantize(type, x, q);
        float[] y = new float[x.Length];
        TensorTypes.Dequantize(type, q, y);
        double err = 0, norm = 0;
        for (int i = 0; i < x.Length; i++)
        {
            err += (y[i] - x[i]) * (double)(y[i] - x[i]);
            norm += x[i] * (double)x[i];
        }
        return Math.Sqrt(err / norm);
    }
}

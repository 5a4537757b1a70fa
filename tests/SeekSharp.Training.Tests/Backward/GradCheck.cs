namespace SeekSharp.Training.Tests.Backward;

/// <summary>
/// Finite-difference gradient checks of float32 forwards. The objectives are sums computed in double, so the noise
/// is the forward's float rounding (σ, about one ulp of the objective) divided by the step, plus the stencil's
/// truncation error.
/// </summary>
/// <remarks>
/// <para>The default is the sixth-order central stencil (f at ±h, ±2h, ±3h) with h = 1/16: its O(h⁶) truncation lets
/// the step be large, which divides the rounding noise (≈ 1.1·σ/h) down, so the bound can be tight enough to catch a
/// 1 % error in any single term of a backward: |numeric − analytic| ≤ Atol + Rtol · max(|numeric|, |analytic|) with
/// Atol = 1e-5 and Rtol = 1e-3. A term scaled by 1.01 moves a gradient element by 1 % of that term's share, so Rtol
/// must sit well below 1e-2 (the former Atol 1e-3, Rtol 1e-2 could not see it); an error in a whole gradient (dW of a
/// linear layer, say) is then caught about 10× over. Steps are powers of two, so θ + m·h is exact for most θ.</para>
/// <para><see cref="BackwardMutationTests"/> measures each check's margin both ways: the worst error / bound of the
/// correct backward (every op case ≤ 0.2) and of each mutated one (≥ 9.4).</para>
/// </remarks>
internal static class GradCheck
{
    public const double H = 1.0 / 16, Atol = 1e-5, Rtol = 1e-3;

    /// <summary>The worst element of a comparison: its error / bound (≤ 1 passes) and where it is.</summary>
    public readonly record struct Worst(double Ratio, int Index, double Numeric, double Analytic)
    {
        public override string ToString() => $"[{Index}]: analytic {Analytic:G6}, numeric {Numeric:G6}, error/bound {Ratio:G3}";
    }

    /// <summary>
    /// Central-difference derivatives of <paramref name="objective"/> with respect to <paramref name="input"/>[i] for
    /// each of <paramref name="indices"/>: the order-2 (3-point), order-4 (5-point) or order-6 (7-point) stencil.
    /// </summary>
    public static double[] Numeric(float[] input, Func<double> objective, IReadOnlyList<int> indices, double h = H, int order = 6)
    {
        var result = new double[indices.Count];
        for (int k = 0; k < indices.Count; k++)
        {
            int i = indices[k];
            float saved = input[i];
            double F(int m) { input[i] = (float)(saved + m * h); return objective(); }
            result[k] = order switch
            {
                2 => (F(1) - F(-1)) / ((double)(float)(saved + h) - (float)(saved - h)), // the step actually taken in float
                4 => (8 * (F(1) - F(-1)) - (F(2) - F(-2))) / (12 * h),
                6 => (45 * (F(1) - F(-1)) - 9 * (F(2) - F(-2)) + (F(3) - F(-3))) / (60 * h),
                _ => throw new ArgumentOutOfRangeException(nameof(order)),
            };
            input[i] = saved;
        }
        return result;
    }

    /// <summary>The element of <paramref name="indices"/> whose error is largest relative to its bound.</summary>
    public static Worst Compare(double[] numeric, ReadOnlySpan<float> analytic, IReadOnlyList<int> indices, double atol = Atol, double rtol = Rtol)
    {
        var worst = new Worst(0, -1, 0, 0);
        for (int k = 0; k < indices.Count; k++)
        {
            double a = analytic[indices[k]], n = numeric[k];
            double ratio = Math.Abs(n - a) / (atol + rtol * Math.Max(Math.Abs(n), Math.Abs(a)));
            if (!(ratio <= worst.Ratio)) // NaN counts as worst
                worst = new Worst(ratio, indices[k], n, a);
        }
        return worst;
    }

    /// <summary>Σ r·y in double: a scalar objective whose gradient with respect to y is r.</summary>
    public static double Dot(ReadOnlySpan<float> r, ReadOnlySpan<float> y)
    {
        double s = 0;
        for (int i = 0; i < r.Length; i++) s += (double)r[i] * y[i];
        return s;
    }

    public static float[] Random(Random rng, int n, double scale = 1.0, double offset = 0.0)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(offset + scale * (2 * rng.NextDouble() - 1));
        return a;
    }
}

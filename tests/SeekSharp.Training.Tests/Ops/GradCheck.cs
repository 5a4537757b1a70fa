namespace SeekSharp.Training.Tests.Ops;

/// <summary>
/// Central-difference gradient checks of float32 forwards. The objectives are sums computed in double, so the only
/// noise is the forward's float rounding (relative 1e-7, divided by 2h) plus the O(h²) truncation error.
/// </summary>
/// <remarks>
/// Tolerance: |numeric − analytic| ≤ Atol + Rtol · max(|numeric|, |analytic|). With h = 1e-2 and O(1) inputs the
/// truncation error h²·f‴/6 is ~2e-5 and the rounding noise ~1e-5. Measured: every op also passes with a bound ten
/// times tighter, and the whole model (checked with h = 3e-3, as its deeper composition curves more) nearly so, while
/// mutating one backward term by 2% already fails both (tried on RMSNorm's r³ term).
/// </remarks>
internal static class GradCheck
{
    public const double H = 1e-2, Atol = 1e-3, Rtol = 1e-2;

    /// <summary>Checks every element (or the given <paramref name="indices"/>) of <paramref name="input"/>.</summary>
    public static void Check(string name, float[] input, ReadOnlySpan<float> analytic, Func<double> objective,
        IEnumerable<int>? indices = null, double h = H, double atol = Atol, double rtol = Rtol)
    {
        foreach (int i in indices ?? Enumerable.Range(0, input.Length))
        {
            float saved = input[i];
            input[i] = (float)(saved + h);
            double plus = objective();
            input[i] = (float)(saved - h);
            double minus = objective();
            input[i] = saved;
            double step = (double)(float)(saved + h) - (float)(saved - h); // the step actually taken in float
            double numeric = (plus - minus) / step;
            double error = Math.Abs(numeric - analytic[i]);
            double bound = atol + rtol * Math.Max(Math.Abs(numeric), Math.Abs(analytic[i]));
            Assert.True(error <= bound, $"{name}[{i}]: analytic {analytic[i]:G6}, numeric {numeric:G6}, error {error:G3} > {bound:G3}");
        }
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

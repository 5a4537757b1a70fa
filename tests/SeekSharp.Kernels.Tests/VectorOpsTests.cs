using System.Runtime.Intrinsics;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests;

/// <summary>Every vector tier of every VectorOps kernel against its scalar twin, plus known values.</summary>
public class VectorOpsTests
{
    public static TheoryData<Tier, int> Cases() => TestData.VectorTiersAndLengths();

    [Theory, MemberData(nameof(Cases))]
    public unsafe void DotMatchesScalarWithinSummationBound(Tier t, int n)
    {
        var tier = (SimdTier)t;
        float[] a = TestData.Random(n, 1), b = TestData.Random(n, 2);
        fixed (float* pa = a, pb = b)
        {
            float vec = VectorOps.Dot(pa, pb, n, tier);
            float scalar = VectorOps.Dot(pa, pb, n, SimdTier.Scalar);
            double exact = 0, sumAbs = 0;
            for (int i = 0; i < n; i++)
            {
                exact += (double)a[i] * b[i];
                sumAbs += Math.Abs((double)a[i] * b[i]);
            }
            Assert.True(Math.Abs(vec - scalar) <= TestData.SummationBound(n, sumAbs), $"vec {vec} scalar {scalar}");
            Assert.True(Math.Abs(vec - exact) <= TestData.SummationBound(n, sumAbs) / 2, $"vec {vec} exact {exact}");
        }
    }

    [Fact]
    public void DotKnownValue()
    {
        float[] a = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
        float[] b = new float[17];
        Array.Fill(b, 2f);
        Assert.Equal(2f * 153f, VectorOps.Dot(a, b));   // 1 + ... + 17 = 153, all sums exact
    }

    [Theory, MemberData(nameof(Cases))]
    public void RmsNormIsBitExactAcrossTiers(Tier t, int n)
    {
        var tier = (SimdTier)t;
        float[] x = TestData.Random(n, 3, 4f), w = TestData.Random(n, 4);
        float[] yv = new float[n], ys = new float[n];
        VectorOps.RmsNorm(x, w, 1e-6f, yv, tier);
        VectorOps.RmsNorm(x, w, 1e-6f, ys, SimdTier.Scalar);
        Assert.Equal(ys, yv);
    }

    [Fact]
    public void RmsNormFollowsGgmlRounding()
    {
        // Independent restatement of ggml's rms_norm_f32 + mul: float squares summed in double.
        float[] x = TestData.Random(1000, 5, 3f), w = TestData.Random(1000, 6);
        double sum = 0;
        foreach (float v in x)
        {
            float sq = v * v;
            sum += sq;
        }
        float scale = 1f / MathF.Sqrt((float)(sum / x.Length) + 1e-5f);
        float[] y = new float[x.Length];
        VectorOps.RmsNorm(x, w, 1e-5f, y);
        for (int i = 0; i < x.Length; i++)
        {
            Assert.Equal(x[i] * scale * w[i], y[i]);
        }
    }

    [Fact]
    public void RmsNormKnownValue()
    {
        // mean(x²) = (9 + 16) / 2 = 12.5 → with eps 0 the scale is 1/sqrt(12.5).
        float[] y = new float[2];
        VectorOps.RmsNorm([3f, -4f], [1f, 2f], 0f, y);
        float s = 1f / MathF.Sqrt(12.5f);
        Assert.Equal(3f * s, y[0]);
        Assert.Equal(-4f * s * 2f, y[1]);
        Assert.Equal(1.0, (y[0] * y[0] + y[1] * y[1] / 4) / 2, 6);
    }

    [Fact]
    public void RmsNormWorksInPlace()
    {
        float[] x = TestData.Random(67, 7), w = TestData.Random(67, 8);
        float[] expected = new float[67];
        VectorOps.RmsNorm(x, w, 1e-6f, expected);
        VectorOps.RmsNorm(x, w, 1e-6f, x);
        Assert.Equal(expected, x);
    }

    [Theory, MemberData(nameof(Cases))]
    public void SoftmaxMatchesScalar(Tier t, int n)
    {
        var tier = (SimdTier)t;
        float[] x = TestData.Random(n, 9, 8f);
        float[] v = (float[])x.Clone(), s = (float[])x.Clone();
        VectorOps.SoftmaxInPlace(v, tier);
        VectorOps.SoftmaxInPlace(s, SimdTier.Scalar);
        for (int i = 0; i < n; i++)
        {
            // The exps differ by ≤ ExpUlps (see ExpAccuracy), the reciprocal of the sum by ≤ 1 ulp and the
            // product rounds once on each side: ≤ ExpUlps + 2 ulps of the exp, which can be up to twice
            // the ulp of the (smaller-binade) result.
            Assert.True(Math.Abs(v[i] - s[i]) <= 2 * (ExpUlps + 2) * Ulp(s[i]) + float.Epsilon, $"i={i}: {v[i]} vs {s[i]}");
        }
        if (n > 0)
        {
            Assert.Equal(1.0, v.Sum(f => (double)f), 5);
        }
    }

    [Fact]
    public void SoftmaxIsStableForLargeLogitsAndKnownForTwo()
    {
        // 1.0986328125 = 1125/1024 is exact next to 1000 in float, so the logit gap is exactly that.
        const double gap = 1.0986328125;
        float[] x = [1000f, 1000f + (float)gap];
        VectorOps.SoftmaxInPlace(x);
        Assert.Equal(1 / (1 + Math.Exp(gap)), x[0], 1e-6);
        Assert.Equal(1 / (1 + Math.Exp(-gap)), x[1], 1e-6);
        float[] many = Enumerable.Repeat(88.5f, 40).ToArray();   // exp(88.5) overflows float without max subtraction
        VectorOps.SoftmaxInPlace(many);
        Assert.All(many, p => Assert.Equal(1f / 40, p, 1e-7f));
    }

    /// <summary>
    /// Largest difference, in ulps, between the runtime's vectorised exp and MathF.Exp. Measured on .NET 10
    /// over 2M random arguments in [-88, 88]: Vector256.Exp is within 1.77 ulp of the true value, MathF.Exp
    /// within 0.5, so they can differ by 2 ulps (and do).
    /// </summary>
    private const int ExpUlps = 2;

    [Fact]
    public unsafe void ExpAccuracy()
    {
        // Pins the assumption behind the softmax/silu tolerances on the range they use.
        float[] x = TestData.Random(4096, 10, 10f);   // |x| < 80: no overflow
        for (int i = 0; i < x.Length; i += 8)
        {
            var v = Vector256.Exp(Vector256.Create(x, i));
            var w = Vector512.Exp(Vector512.Create(x.AsSpan(i & ~15, 16)));
            for (int k = 0; k < 8; k++)
            {
                float s = MathF.Exp(x[i + k]);
                Assert.True(Math.Abs(v.GetElement(k) - s) <= ExpUlps * Ulp(s), $"exp({x[i + k]}): {v.GetElement(k)} vs {s}");
            }
            for (int k = 0; k < 16; k++)
            {
                float s = MathF.Exp(x[(i & ~15) + k]);
                Assert.True(Math.Abs(w.GetElement(k) - s) <= ExpUlps * Ulp(s));
            }
        }
    }

    [Theory, MemberData(nameof(Cases))]
    public void SiluMulMatchesScalar(Tier t, int n)
    {
        var tier = (SimdTier)t;
        float[] g = TestData.Random(n, 11, 8f), u = TestData.Random(n, 12);
        float[] v = (float[])g.Clone(), s = (float[])g.Clone();
        Elementwise.Apply(new SiluMultiplyOperator(), v, u, v, tier);
        Elementwise.Apply(new SiluMultiplyOperator(), s, u, s, SimdTier.Scalar);
        for (int i = 0; i < n; i++)
        {
            // One exp (ExpUlps) then 1 + e, a division and a multiplication (3 roundings, ≤ 0.5 ulp each).
            Assert.True(Math.Abs(v[i] - s[i]) <= (ExpUlps + 2) * Ulp(s[i]) + float.Epsilon, $"i={i}: {v[i]} vs {s[i]}");
        }
    }

    [Fact]
    public void SiluMulKnownValues()
    {
        float[] g = [0f, 1f, -1f, 20f];
        float[] u = [5f, 2f, 2f, 1f];
        VectorOps.SiluMulInPlace(g, u);
        Assert.Equal(0f, g[0]);
        Assert.Equal(2f / (1f + MathF.Exp(-1f)), g[1], 1e-6f);      // silu(1) = 0.7310586
        Assert.Equal(-2f / (1f + MathF.Exp(1f)), g[2], 1e-6f);      // silu(-1) = -0.2689414
        Assert.Equal(20f, g[3], 1e-6f);
    }

    [Theory, MemberData(nameof(Cases))]
    public unsafe void IndexOfFirstMaxMatchesTheScan(Tier t, int n)
    {
        if (n == 0) return;
        var tier = (SimdTier)t;
        var rng = new Random(n);
        // Few distinct values so that the maximum repeats, and the cases the scan treats specially.
        float[] ties = TestData.Random(n, 17).Select(v => MathF.Round(v * 3)).ToArray();
        float[] nanFirst = (float[])ties.Clone(); nanFirst[0] = float.NaN;
        float[] nanInside = (float[])ties.Clone(); nanInside[rng.Next(n)] = float.NaN;
        float[] minusInf = Enumerable.Repeat(float.NegativeInfinity, n).ToArray();
        float[] lastWins = Enumerable.Range(0, n).Select(i => (float)i).ToArray();
        float[] twoMaxima = new float[n];   // equal maxima in different lanes: the first must win
        twoMaxima[n / 3] = twoMaxima[n - 1] = 1f;
        foreach (var x in new[] { TestData.Random(n, 18), ties, nanFirst, nanInside, minusInf, lastWins, twoMaxima })
        {
            int scan = 0;
            for (int i = 1; i < n; i++) if (x[i] > x[scan]) scan = i;
            fixed (float* p = x)
            {
                Assert.Equal(scan, VectorOps.IndexOfFirstMax(p, n, tier));
                Assert.Equal(scan, VectorOps.IndexOfFirstMax(p, n, SimdTier.Scalar));
            }
        }
    }

    [Theory]
    [InlineData(16384 * 3 + 37)]   // whole pieces and a ragged last one, whose tail takes the narrower paths
    [InlineData(16384 * 2)]
    [InlineData(1000)]             // one piece: no split
    public void PooledSiluMulEqualsOneCallBitForBit(int n)
    {
        float[] g = TestData.Random(n, 15, 8f), u = TestData.Random(n, 16);
        float[] pooled = (float[])g.Clone();
        VectorOps.SiluMulInPlace(g, u);
        using var pool = new SeekSharp.Kernels.Threading.WorkerPool(2);
        VectorOps.SiluMulInPlace(pooled, u, pool);
        Assert.Equal(g, pooled);
    }

    [Theory, MemberData(nameof(Cases))]
    public void ElementwiseOpsAreBitExactAcrossTiers(Tier t, int n)
    {
        var tier = (SimdTier)t;
        float[] x = TestData.Random(n, 13), y = TestData.Random(n, 14);

        float[] av = (float[])x.Clone(), as_ = (float[])x.Clone();
        Elementwise.Apply(new AddOperator(), av, y, av, tier);
        Elementwise.Apply(new AddOperator(), as_, y, as_, SimdTier.Scalar);
        Assert.Equal(as_, av);

        float[] sv = (float[])x.Clone(), ss = (float[])x.Clone();
        Elementwise.Apply(new ScaleOperator(0.37f), sv, sv, sv, tier);
        Elementwise.Apply(new ScaleOperator(0.37f), ss, ss, ss, SimdTier.Scalar);
        Assert.Equal(ss, sv);

        float[] yv = (float[])y.Clone(), ys = (float[])y.Clone();
        Elementwise.Apply(new AxpyOperator(-1.7f), x, yv, yv, tier);
        Elementwise.Apply(new AxpyOperator(-1.7f), x, ys, ys, SimdTier.Scalar);
        Assert.Equal(ys, yv);
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(MathF.FusedMultiplyAdd(-1.7f, x[i], y[i]), yv[i]);
        }
    }

    [Fact]
    public void PublicElementwiseOpsKnownValues()
    {
        float[] x = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        float[] y = [9, 8, 7, 6, 5, 4, 3, 2, 1];
        VectorOps.AddInPlace(x, y);
        Assert.All(x, v => Assert.Equal(10f, v));
        VectorOps.ScaleInPlace(x, 0.5f);
        Assert.All(x, v => Assert.Equal(5f, v));
        VectorOps.Axpy(2f, y, x);
        Assert.Equal([23f, 21f, 19f, 17f, 15f, 13f, 11f, 9f, 7f], x);
    }

    [Fact]
    public void LengthMismatchesThrow()
    {
        Assert.Throws<ArgumentException>(() => VectorOps.Dot(new float[3], new float[4]));
        Assert.Throws<ArgumentException>(() => VectorOps.AddInPlace(new float[3], new float[4]));
        Assert.Throws<ArgumentException>(() => VectorOps.Axpy(1f, new float[3], new float[4]));
        Assert.Throws<ArgumentException>(() => VectorOps.SiluMulInPlace(new float[3], new float[4]));
        Assert.Throws<ArgumentException>(() => VectorOps.RmsNorm(new float[3], new float[3], 1e-5f, new float[4]));
    }

    internal static float Ulp(float v) => MathF.BitIncrement(MathF.Abs(v)) - MathF.Abs(v);
}

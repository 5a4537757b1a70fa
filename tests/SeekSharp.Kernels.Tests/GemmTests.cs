using System.Runtime.Intrinsics;
using SeekSharp.Kernels.Simd;
using SeekSharp.Kernels.Threading;

namespace SeekSharp.Kernels.Tests;

/// <summary>The register tile the blocked product runs with (public mirror of GemmTileKind for xunit theories).</summary>
public enum GemmTile
{
    /// <summary>4 × 4 tile in plain float arithmetic.</summary>
    Scalar = GemmTileKind.Scalar,
    /// <summary>6 × 8 tile of Vector128 multiply-adds (fused where the CPU has FMA).</summary>
    Vector128 = GemmTileKind.Vector128,
    /// <summary>6 × 16 tile of Vector256 fused multiply-adds.</summary>
    Vector256 = GemmTileKind.Vector256,
    /// <summary>12 × 16 tile of Vector512 fused multiply-adds.</summary>
    Vector512 = GemmTileKind.Vector512,
}

/// <summary>
/// Gemm.Multiply against the exact product (double) and the reference triple loop: every transpose combination,
/// with and without accumulation, every tile (each runs on any machine, in software where not accelerated), on the calling thread and on a pool, at sizes below, at and above the
/// tile (12 × 16, 6 × 16, 6 × 8, 4 × 4) and block sizes (KC = 256 deep, MC = 144 rows, NC = 3072 columns), and with one or two rows
/// (the unpacked vector × matrix path).
/// </summary>
/// <remarks>
/// Dimensions: m, k, n as in C[m, n] (+)= op(A)[m, k] · op(B)[k, n].
/// Tolerance: every element is a float sum of k products (plus the old C when accumulating), in some order and with
/// or without fused multiply-adds. Any such sum is within γ_(k+1) · S of the exact value, where S is the sum of the
/// magnitudes of the terms and γ_j = j·u / (1 − j·u), u = 2⁻²⁴ (Higham, Accuracy and Stability of Numerical Algorithms,
/// §3.1 and §4.2). The exact value comes from double arithmetic, in which every product of two floats is exact; its
/// own summation error (γ_k in double, 2⁻²⁹ times smaller) is added to the bound so that the bound is rigorous.
/// </remarks>
public class GemmTests
{
    // Shapes around every size the kernel switches at: 0 (empty), 1, tile edges (4, 6, 12, 16), the depth block (256),
    // the row block (144) and, for n, the column block (3072).
    private static readonly (int M, int K, int N)[] Shapes =
    [
        (0, 0, 0), (0, 5, 3), (3, 0, 5), (5, 3, 0), (3, 0, 0),
        (1, 1, 1), (2, 2, 2), (3, 3, 3), (5, 5, 5), (7, 7, 7), (8, 8, 8),
        (15, 15, 15), (16, 16, 16), (17, 17, 17), (31, 31, 31), (33, 33, 33), (65, 65, 65),
        (1, 17, 33), (33, 1, 17), (17, 33, 1), (6, 5, 16), (12, 3, 32), (13, 9, 47), (4, 2, 4), (9, 4, 7),
        (11, 19, 16), (24, 17, 33), (25, 9, 15),
        (7, 255, 17), (6, 256, 16), (5, 257, 18), (3, 513, 5),
        (143, 3, 17), (144, 5, 16), (145, 7, 3), (289, 2, 9),
        (3, 2, 3071), (2, 3, 3072), (2, 2, 3089),
        (129, 257, 95),
        // One and two rows take the unpacked vector × matrix path: 32-column blocks, their edge, and threads.
        (1, 9, 65), (2, 40, 100), (1, 300, 1000), (2, 130, 1100),
    ];

    public static TheoryData<GemmTile, bool, bool, bool, bool> Cases()
    {
        var data = new TheoryData<GemmTile, bool, bool, bool, bool>();
        foreach (GemmTile tile in new[] { GemmTile.Scalar, GemmTile.Vector128, GemmTile.Vector256, GemmTile.Vector512 })
        {
            foreach (bool transposeA in new[] { false, true })
            {
                foreach (bool transposeB in new[] { false, true })
                {
                    foreach (bool accumulate in new[] { false, true })
                    {
                        foreach (bool parallel in new[] { false, true })
                        {
                            data.Add(tile, transposeA, transposeB, accumulate, parallel);
                        }
                    }
                }
            }
        }
        return data;
    }

    private static readonly WorkerPool TwoThreads = new(2);

    [Theory, MemberData(nameof(Cases))]
    public void MatchesTheExactProductWithinTheSummationBound(GemmTile tile, bool transposeA, bool transposeB, bool accumulate, bool parallel)
    {
        foreach (var (m, k, n) in Shapes)
        {
            var (a, b, c0) = Operands(m, k, n, seed: m * 7919 + k * 31 + n);
            float[] c = accumulate ? (float[])c0.Clone() : Filled(m * n, float.NaN);
            Gemm.Multiply(a, b, c, m, k, n, transposeA, transposeB, accumulate, (GemmTileKind)tile, parallel ? TwoThreads : null);
            AssertWithinBound(a, b, accumulate ? c0 : null, c, m, k, n, transposeA, transposeB, $"{tile} {m}×{k}×{n}");
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void ReferenceMeetsTheSameBound(bool transposeA, bool transposeB)
    {
        // The bound is the one the reference itself meets: the blocked product is held to no looser a standard.
        foreach (var (m, k, n) in Shapes.Where(s => (long)s.M * s.K * s.N <= 1 << 20))
        {
            var (a, b, c0) = Operands(m, k, n, seed: m + k + n);
            float[] c = (float[])c0.Clone();
            Gemm.MultiplyReference(a, b, c, m, k, n, transposeA, transposeB, accumulate: true);
            AssertWithinBound(a, b, c0, c, m, k, n, transposeA, transposeB, $"reference {m}×{k}×{n}");
        }
    }

    [Theory]
    [InlineData(GemmTile.Scalar, 300, false)]
    [InlineData(GemmTile.Vector128, 300, true)]
    [InlineData(GemmTile.Vector256, 300, false)]
    [InlineData(GemmTile.Vector256, 1, false)]
    [InlineData(GemmTile.Vector256, 2, true)]
    [InlineData(GemmTile.Vector512, 300, true)]
    public void ResultDoesNotDependOnTheThreadCount(GemmTile tile, int m, bool transposeB)
    {
        // Each element is summed in the same order (k blocks of KC, in order, each step in order) however the tiles
        // are shared out, so one, two and three threads give the same bits. At m = 300 the A blocks are 78 rows on
        // one thread and 48 on two or three, and the columns are split in two parts on two and three threads.
        // With one or two rows, the columns are split in 32-column runs whose count changes with the threads.
        int k = 300, n = m > 2 ? 70 : 1100;
        var (a, b, _) = Operands(m, k, n, seed: 5);
        float[] serial = new float[m * n], two = new float[m * n], three = new float[m * n];
        using var pool3 = new WorkerPool(3);
        Gemm.Multiply(a, b, serial, m, k, n, false, transposeB, false, (GemmTileKind)tile, null);
        Gemm.Multiply(a, b, two, m, k, n, false, transposeB, false, (GemmTileKind)tile, TwoThreads);
        Gemm.Multiply(a, b, three, m, k, n, false, transposeB, false, (GemmTileKind)tile, pool3);
        Assert.Equal(serial, two);
        Assert.Equal(serial, three);
    }

    [Fact]
    public void PublicEntryRunsAtTheTierTheHardwareAccelerates()
    {
        // Vector512 when the runtime accelerates it (AVX-512), else Vector256 (AVX2), else Vector128 (SSE, NEON), else
        // scalar: under DOTNET_EnableAVX512=0 this is the Vector256 tile, under DOTNET_EnableAVX2=0 the Vector128 tile,
        // and with hardware intrinsics off the scalar one.
        GemmTileKind expected = Vector512.IsHardwareAccelerated ? GemmTileKind.Vector512
            : Vector256.IsHardwareAccelerated ? GemmTileKind.Vector256
            : Vector128.IsHardwareAccelerated ? GemmTileKind.Vector128 : GemmTileKind.Scalar;
        Assert.Equal(expected, GemmTiles.For(SimdCapabilities.Best));
        // And the public entry gives exactly that tile's result (tiles that all fuse, or all do not, agree bit for bit,
        // so this checks the wiring rather than telling every tile apart).
        const int m = 40, k = 100, n = 50;
        var (a, b, _) = Operands(m, k, n, seed: 9);
        float[] viaPublic = new float[m * n], viaTile = new float[m * n];
        Gemm.Multiply(a, b, viaPublic, m, k, n, transposeA: true, transposeB: false);
        Gemm.Multiply(a, b, viaTile, m, k, n, true, false, false, expected, null);
        Assert.Equal(viaTile, viaPublic);
        AssertWithinBound(a, b, null, viaPublic, m, k, n, true, false, "public");
    }

    [Fact]
    public void LeavesEverythingPastTheProductUntouched()
    {
        const int m = 7, k = 9, n = 19;
        var (a, b, _) = Operands(m, k, n, seed: 3);
        float[] c = Filled(m * n + 40, 123f);
        Gemm.Multiply(a, b, c, m, k, n, pool: TwoThreads);
        Assert.All(c[(m * n)..], v => Assert.Equal(123f, v));
    }

    [Fact]
    public void EmptySumClearsOrKeepsC()
    {
        float[] c = Filled(6, float.NaN);
        Gemm.Multiply([], [], c, 2, 0, 3);
        Assert.All(c, v => Assert.Equal(0f, v));
        float[] kept = Filled(6, 2.5f);
        Gemm.Multiply([], [], kept, 2, 0, 3, accumulate: true);
        Assert.All(kept, v => Assert.Equal(2.5f, v));
    }

    [Theory]
    [InlineData(GemmTile.Scalar)]
    [InlineData(GemmTile.Vector128)]
    [InlineData(GemmTile.Vector256)]
    [InlineData(GemmTile.Vector512)]
    public void AllocatesNothingOnceWarm(GemmTile tile)
    {
        const int m = 100, k = 300, n = 80;
        var (a, b, _) = Operands(m, k, n, seed: 11);
        float[] c = new float[m * n];
        // Scratch is per thread and grows to the largest work item a thread has taken, and which items the calling thread
        // takes from the pool varies; running the calls once on this thread alone gives it every item's buffers.
        Gemm.Multiply(a, b, c, m, k, n, true, true, true, (GemmTileKind)tile, null);
        Gemm.Multiply(a, b, c, m, k, n, false, false, false, (GemmTileKind)tile, null);
        Gemm.Multiply(a, b, c, m, k, n, true, true, true, (GemmTileKind)tile, TwoThreads);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Gemm.Multiply(a, b, c, m, k, n, true, true, true, (GemmTileKind)tile, TwoThreads);
        Gemm.Multiply(a, b, c, m, k, n, false, false, false, (GemmTileKind)tile, null);
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    [Fact]
    public void RejectsBadShapes()
    {
        float[] a = new float[6], b = new float[6], c = new float[4];
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, b, c, -1, 3, 2));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, b, c, 2, -3, 2));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, b, c, 2, 3, -2));
        Assert.Equal("a", Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, b, c, 3, 3, 1)).ParamName);
        Assert.Equal("b", Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, b, c, 2, 3, 3)).ParamName);
        Assert.Equal("c", Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, b, c, 2, 2, 3)).ParamName);
        // Products larger than int.MaxValue elements are reported, not overflowed.
        Assert.Equal("a", Assert.Throws<ArgumentException>(() => Gemm.Multiply(a, b, c, 1 << 16, 1 << 16, 0)).ParamName);
    }

    [Fact]
    public void PeakFlopsIsPositiveAndArgumentsAreChecked()
    {
        double peak = Gemm.MeasurePeakFlops(1, TimeSpan.FromMilliseconds(20));
        Assert.True(double.IsFinite(peak) && peak > 1e6, $"peak {peak}");
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.MeasurePeakFlops(0, TimeSpan.FromMilliseconds(20)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.MeasurePeakFlops(1, TimeSpan.Zero));
    }

    private static (float[] A, float[] B, float[] C0) Operands(int m, int k, int n, int seed) =>
        (TestData.Random(m * k, seed), TestData.Random(k * n, seed + 1), TestData.Random(m * n, seed + 2, 4f));

    private static float[] Filled(int count, float value)
    {
        float[] x = new float[count];
        Array.Fill(x, value);
        return x;
    }

    private static void AssertWithinBound(float[] a, float[] b, float[]? c0, float[] c, int m, int k, int n,
        bool transposeA, bool transposeB, string label)
    {
        const double uDouble = 1.0 / (1L << 53);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double exact = c0?[i * n + j] ?? 0, sumAbs = Math.Abs(exact);
                for (int p = 0; p < k; p++)
                {
                    double term = (double)(transposeA ? a[p * m + i] : a[i * k + p]) * (transposeB ? b[j * k + p] : b[p * n + j]);
                    exact += term;
                    sumAbs += Math.Abs(term);
                }
                int terms = k + 1;
                double bound = Gamma(terms, TestData.U) * sumAbs + Gamma(terms, uDouble) * sumAbs;
                double error = Math.Abs(c[i * n + j] - exact);
                Assert.True(error <= bound,
                    $"{label} T(A)={transposeA} T(B)={transposeB}: C[{i}, {j}] = {c[i * n + j]}, exact {exact}, error {error:E3} > bound {bound:E3}");
            }
        }
    }

    private static double Gamma(int j, double u) => j * u / (1 - j * u);
}

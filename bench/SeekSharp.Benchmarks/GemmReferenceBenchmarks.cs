using BenchmarkDotNet.Attributes;
using SeekSharp.Kernels;
using SeekSharp.Kernels.Threading;

namespace SeekSharp.Benchmarks;

/// <summary>
/// The blocked <see cref="Gemm.Multiply"/> against the plain triple loop it replaced, on one small product
/// (128 × 128 × 128, NN) and one thread, so that the ratio is the single-core speed-up of the algorithm.
/// </summary>
public class GemmReferenceBenchmarks : IDisposable
{
    /// <summary>m = k = n.</summary>
    public const int Size = 128;

    /// <summary>FLOPs per call (2·m·k·n), the figure behind the GFLOP/s column.</summary>
    public const long Flops = 2L * Size * Size * Size;

    float[] a = null!;
    float[] b = null!;
    float[] c = null!;
    WorkerPool callerOnly = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(8);
        a = [.. Enumerable.Range(0, Size * Size).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        b = [.. Enumerable.Range(0, Size * Size).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        c = new float[Size * Size];
        callerOnly = new WorkerPool(1);
    }

    [GlobalCleanup]
    public void Dispose()
    {
        callerOnly?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(Baseline = true)]
    public void Reference() => Gemm.MultiplyReference(a, b, c, Size, Size, Size, false, false, false);

    [Benchmark]
    public void Blocked() => Gemm.Multiply(a, b, c, Size, Size, Size, pool: callerOnly);
}

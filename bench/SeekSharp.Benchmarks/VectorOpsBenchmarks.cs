using BenchmarkDotNet.Attributes;
using SeekSharp.Kernels;

namespace SeekSharp.Benchmarks;

/// <summary>The single-threaded vector kernels at a model width of 4096 floats (all in L1/L2 after the first call).</summary>
public class VectorOpsBenchmarks
{
    /// <summary>Vector length.</summary>
    public const int Size = 4096;

    /// <summary>Bytes each kernel reads per call: two 4096-float inputs.</summary>
    public const long InputBytes = 2L * Size * sizeof(float);

    float[] a = null!;
    float[] b = null!;
    float[] y = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(42);
        a = [.. Enumerable.Range(0, Size).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        b = [.. Enumerable.Range(0, Size).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        y = new float[Size];
    }

    [Benchmark]
    public float Dot() => VectorOps.Dot(a, b);

    [Benchmark]
    public void RmsNorm() => VectorOps.RmsNorm(a, b, 1e-6f, y);
}

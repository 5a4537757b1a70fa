using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using SeekSharp.Kernels;

namespace SeekSharp.Benchmarks;

/// <summary>
/// Per weight type, the two shapes of the quantized matmul: one matrix × vector product, y[4096] = W[4096, 4096] ·
/// x[4096] (the decode-step kernel, ideally bound by how fast the weights stream from memory), and the same matrix
/// against a batch of <see cref="BatchTokens"/> tokens (prompt processing, bound by arithmetic).
/// </summary>
/// <remarks>
/// The same matrix is read on every call, so a matrix smaller than the last-level cache can stay in it:
/// F32 (64 MiB) exceeds a 32 MiB L3 and F16/BF16 (32 MiB) fill it; Q8_0 (17 MiB) and Q4_0 (9 MiB) fit, and a
/// real model, whose layers stream past one another, would see main-memory bandwidth for them instead.
/// </remarks>
public unsafe class KernelBenchmarks : IDisposable
{
    /// <summary>Rows and columns of the weight matrix: a 7B-class model's attention projection.</summary>
    public const int Size = 4096;

    /// <summary>Tokens per call of <see cref="MatMulBatch"/>.</summary>
    public const int BatchTokens = 64;

    /// <summary>Floating-point operations of one <see cref="MatMulBatch"/> call (a multiply and an add per weight and token).</summary>
    public const long BatchFlops = 2L * Size * Size * BatchTokens;

    byte* weights;
    float[] x = null!;
    float[] y = null!;
    float[] xs = null!;
    float[] ys = null!;

    /// <summary>Weight storage type.</summary>
    [Params(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K)]
    public GgmlType Type { get; set; }

    /// <summary>Weight bytes one MatVec reads: the figure behind the GB/s column.</summary>
    public static long WeightBytes(GgmlType type) => Size * TensorTypes.RowBytes(type, Size);

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1234);
        // Uniform in ±0.05, the scale of trained projection weights, so quantization sees realistic block maxima.
        var w = new float[Size * Size];
        for (int i = 0; i < w.Length; i++)
        {
            w[i] = (float)(rng.NextDouble() * 2 - 1) * 0.05f;
        }
        long bytes = WeightBytes(Type);
        weights = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        TensorTypes.Quantize(Type, w, new Span<byte>(weights, checked((int)bytes)));
        x = [.. Enumerable.Range(0, Size).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        y = new float[Size];
        xs = [.. Enumerable.Range(0, Size * BatchTokens).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        ys = new float[Size * BatchTokens];
    }

    [GlobalCleanup]
    public void Dispose()
    {
        if (weights is not null)
        {
            NativeMemory.AlignedFree(weights);
            weights = null;
        }
        GC.SuppressFinalize(this);
    }

    [Benchmark]
    public void MatVec() => MatMul.MatVec(Type, weights, Size, Size, x, y);

    [Benchmark]
    public void MatMulBatch() => MatMul.MatMulRows(Type, weights, Size, Size, xs, ys, BatchTokens);
}

using BenchmarkDotNet.Attributes;
using SeekSharp.Kernels;

namespace SeekSharp.Benchmarks;

/// <summary>
/// <see cref="Gemm.Multiply"/> on the products of training a small transformer (T = 1024 tokens, width C = 256,
/// head size 64), on the shared worker pool (all cores).
/// </summary>
/// <remarks>
/// Shapes read "m×k×n op": C[m, n] = op(A)[m, k] · op(B)[k, n], op N = as stored, T = transposed, for A then B.
/// The forward pass multiplies activations by weights stored [out, in] (NT); the backward pass gives the input
/// gradient (NN) and the weight gradient (TN). The GFLOP/s column counts 2·m·k·n FLOPs per call: compare it with
/// the peak from <c>--peak</c> (an FMA loop, <see cref="Gemm.MeasurePeakFlops"/>).
/// </remarks>
public class GemmBenchmarks
{
    float[] a = null!;
    float[] b = null!;
    float[] c = null!;
    GemmShape shape;

    /// <summary>The product, "m×k×n op".</summary>
    [Params(
        "1024x256x768 NT",    // QKV projection: X[T, C] · Wqkv[3C, C]ᵀ
        "1024x768x256 NN",    // its input gradient: dY[T, 3C] · Wqkv[3C, C]
        "768x1024x256 TN",    // its weight gradient: dYᵀ[3C, T] · X[T, C]
        "1024x1024x256 NT",   // MLP down projection: H[T, 4C] · Wdown[C, 4C]ᵀ
        "1024x64x1024 NT",    // attention scores of one head: Q[T, 64] · K[T, 64]ᵀ
        "1024x1024x64 NN")]   // attention output of one head: P[T, T] · V[T, 64]
    public string Shape { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        shape = GemmShape.Parse(Shape);
        var rng = new Random(7);
        a = [.. Enumerable.Range(0, shape.M * shape.K).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        b = [.. Enumerable.Range(0, shape.K * shape.N).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        c = new float[shape.M * shape.N];
    }

    [Benchmark]
    public void Multiply() =>
        Gemm.Multiply(a, b, c, shape.M, shape.K, shape.N, shape.TransposeA, shape.TransposeB);
}

/// <summary>Sizes and transpositions of one product, parsed from "m×k×n op" (e.g. "1024x256x768 NT").</summary>
internal readonly record struct GemmShape(int M, int K, int N, bool TransposeA, bool TransposeB)
{
    public long Flops => 2L * M * K * N;

    public static GemmShape Parse(string text)
    {
        string[] parts = text.Split(' ');
        int[] sizes = [.. parts[0].Split('x').Select(int.Parse)];
        return new GemmShape(sizes[0], sizes[1], sizes[2], parts[1][0] == 'T', parts[1][1] == 'T');
    }
}

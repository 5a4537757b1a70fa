using SeekSharp.Kernels;
using SeekSharp.Kernels.Threading;

namespace SeekSharp.Training.Backward;

/// <summary>
/// A bias-free linear layer, <c>y = x · Wᵀ</c>, with the weight stored [out, in] as in GGUF.
/// Glossary: N rows (batch × time), In input width, Out output width.
/// </summary>
/// <remarks>All three products go through <see cref="Gemm.Multiply"/>: the forward as A·Bᵀ, the input gradient as
/// A·B and the weight gradient as Aᵀ·B, so a faster Gemm speeds up training without touching this file.</remarks>
internal static class Linear
{
    /// <summary>y[N, Out] = x[N, In] · weight[Out, In]ᵀ, or y += that when <paramref name="accumulate"/> (a residual add for free).</summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, Span<float> y,
        int n, int inDim, int outDim, WorkerPool pool, bool accumulate = false) =>
        Gemm.Multiply(x[..(n * inDim)], weight[..(outDim * inDim)], y[..(n * outDim)], n, inDim, outDim,
            transposeB: true, accumulate: accumulate, pool: pool);

    /// <summary>dx[N, In] += dy · weight; dweight[Out, In] += dyᵀ · x.</summary>
    public static void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> weight,
        Span<float> dx, Span<float> dweight, int n, int inDim, int outDim, WorkerPool pool)
    {
        var mutation = BackwardMutation.Current; // dy itself below unless a test mutates a term
        Gemm.Multiply(mutation.Scaled(dy[..(n * outDim)], BackwardTerm.LinearInput), weight[..(outDim * inDim)], dx[..(n * inDim)], n, outDim, inDim,
            accumulate: true, pool: pool);
        Gemm.Multiply(mutation.Scaled(dy[..(n * outDim)], BackwardTerm.LinearWeight), x[..(n * inDim)], dweight[..(outDim * inDim)], outDim, n, inDim,
            transposeA: true, accumulate: true, pool: pool);
    }
}

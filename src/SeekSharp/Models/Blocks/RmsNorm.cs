using SeekSharp.Kernels;

namespace SeekSharp.Models.Blocks;

/// <summary>RMSNorm (Zhang and Sennrich 2019) applied to each token's row.</summary>
internal static class RmsNorm
{
    /// <summary>y[T, D] = x / √(mean(x²) + eps) ⊙ weight, row by row.</summary>
    public static void Rows(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> y, int tokens)
    {
        int d = weight.Length;
        for (int t = 0; t < tokens; t++)
            VectorOps.RmsNorm(x.Slice(t * d, d), weight, eps, y.Slice(t * d, d));
    }
}

namespace SeekSharp.Training.Ops;

/// <summary>
/// RMSNorm (Zhang and Sennrich 2019), <c>y = x · r ⊙ w</c> with <c>r = 1 / √(mean(x²) + eps)</c>, row by row.
/// Glossary: N rows, D width.
/// </summary>
internal static class RmsNorm
{
    /// <summary>y[N, D] and the saved rstd[N] (r per row) from x[N, D] and weight[D].</summary>
    /// <remarks>The mean of squares is summed as SeekSharp's inference (and ggml) sums it: float squares into a
    /// double, in order, so an exported model's logits agree with the training forward.</remarks>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> y, Span<float> rstd, int n)
    {
        int d = weight.Length;
        for (int row = 0; row < n; row++)
        {
            var xr = x.Slice(row * d, d);
            var yr = y.Slice(row * d, d);
            double sum = 0.0;
            foreach (float v in xr)
                sum += v * v;
            float r = 1f / MathF.Sqrt((float)(sum / d) + eps);
            rstd[row] = r;
            for (int i = 0; i < d; i++)
                yr[i] = xr[i] * r * weight[i];
        }
    }

    /// <summary>dx[N, D] += ∂L/∂x and dweight[D] += ∂L/∂w from dy[N, D].</summary>
    /// <remarks>
    /// With g = dy ⊙ w: ∂L/∂x = r·g − r³/D · x · Σ(g ⊙ x), since ∂r/∂x = −r³·x/D.
    /// Rows are visited in order so dweight sums identically on every run.
    /// </remarks>
    public static void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> rstd,
        Span<float> dx, Span<float> dweight, int n)
    {
        int d = weight.Length;
        for (int row = 0; row < n; row++)
        {
            var xr = x.Slice(row * d, d);
            var dyr = dy.Slice(row * d, d);
            var dxr = dx.Slice(row * d, d);
            float r = rstd[row];
            float dot = 0f;
            for (int i = 0; i < d; i++)
                dot += dyr[i] * weight[i] * xr[i];
            float c = r * r * r * dot / d;
            for (int i = 0; i < d; i++)
            {
                dweight[i] += dyr[i] * xr[i] * r;
                dxr[i] += r * dyr[i] * weight[i] - c * xr[i];
            }
        }
    }
}

namespace SeekSharp.Training.Backward;

/// <summary>
/// Rotary position embedding on adjacent pairs (x[2i], x[2i+1]) of each head, llama.cpp's LLAMA_ROPE_TYPE_NORM as
/// SeekSharp's inference applies it for the llama architecture, with the angles inference computes
/// (<c>SeekSharp.Models.Blocks.Rope.Table</c>). Row n of a [B·T, heads · Dh] tensor sits at position n mod T.
/// Glossary: N = B·T rows, T positions per sequence, Dh head width.
/// </summary>
internal static class Rope
{
    /// <summary>y[N, heads · Dh] = x rotated by each row's position; y may be x (in place). Rows are
    /// <paramref name="rowStride"/> floats apart, so the rotated heads may be the leading columns of a wider fused row.</summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, Span<float> y,
        int n, int seqLen, int heads, int headDim, int rowStride)
    {
        int half = headDim / 2, width = rowStride;
        for (int row = 0; row < n; row++)
        {
            var c = cos.Slice(row % seqLen * half, half);
            var s = sin.Slice(row % seqLen * half, half);
            for (int h = 0; h < heads; h++)
            {
                int o = row * width + h * headDim;
                for (int i = 0; i < half; i++)
                {
                    float x0 = x[o + 2 * i], x1 = x[o + 2 * i + 1];
                    y[o + 2 * i] = x0 * c[i] - x1 * s[i];
                    y[o + 2 * i + 1] = x0 * s[i] + x1 * c[i];
                }
            }
        }
    }

    /// <summary>dx += Rᵀ · dy: the rotation is orthogonal, so its backward rotates by the opposite angle. Strides as in <see cref="Forward"/>.</summary>
    public static void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, Span<float> dx,
        int n, int seqLen, int heads, int headDim, int rowStride)
    {
        int half = headDim / 2, width = rowStride;
        var cosEven = BackwardMutation.Current.Scaled(cos, BackwardTerm.RopeCos); // cos itself unless a test mutates the term
        for (int row = 0; row < n; row++)
        {
            var c = cos.Slice(row % seqLen * half, half);
            var c0 = cosEven.Slice(row % seqLen * half, half);
            var s = sin.Slice(row % seqLen * half, half);
            for (int h = 0; h < heads; h++)
            {
                int o = row * width + h * headDim;
                for (int i = 0; i < half; i++)
                {
                    float d0 = dy[o + 2 * i], d1 = dy[o + 2 * i + 1];
                    dx[o + 2 * i] += d0 * c0[i] + d1 * s[i];
                    dx[o + 2 * i + 1] += -d0 * s[i] + d1 * c[i];
                }
            }
        }
    }
}

namespace SeekSharp.Training.Ops;

/// <summary>The SwiGLU gate (Shazeer 2020), <c>h = silu(gate) ⊙ up</c>, elementwise over [N, F].</summary>
internal static class SwiGlu
{
    /// <summary>h = silu(gate) ⊙ up, with silu(g) = g·σ(g), over the length of <paramref name="h"/>.</summary>
    public static void Forward(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> h)
    {
        for (int i = 0; i < h.Length; i++)
        {
            float g = gate[i];
            h[i] = g / (1f + MathF.Exp(-g)) * up[i];
        }
    }

    /// <summary>dgate += dh ⊙ up ⊙ silu′(gate), dup += dh ⊙ silu(gate), with silu′(g) = σ(g)·(1 + g·(1 − σ(g))).</summary>
    public static void Backward(ReadOnlySpan<float> dh, ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> dgate, Span<float> dup)
    {
        for (int i = 0; i < dh.Length; i++)
        {
            float g = gate[i];
            float s = 1f / (1f + MathF.Exp(-g));
            dgate[i] += dh[i] * up[i] * s * (1f + g * (1f - s));
            dup[i] += dh[i] * g * s;
        }
    }
}

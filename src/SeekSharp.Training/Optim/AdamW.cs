using SeekSharp.Training.Model;

namespace SeekSharp.Training.Optim;

/// <summary>
/// AdamW with its two moment arrays laid out like the parameters, so one update is one pass per tensor.
/// Glossary: P parameters.
/// </summary>
/// <remarks>
/// Per element: m = β₁m + (1−β₁)g, v = β₂v + (1−β₂)g², θ −= lr · (m̂ / (√v̂ + ε) + λθ), with m̂, v̂ the
/// bias-corrected moments at step t (1-based). The decay is decoupled from the gradient, as in the paper, and
/// skipped for norm gains (and, unless asked for, the embedding), the usual practice since nanoGPT.
/// </remarks>
internal sealed class AdamW
{
    private readonly ParameterLayout _layout;

    public AdamW(ParameterLayout layout, AdamWOptions options)
    {
        options.Validate();
        _layout = layout;
        Options = options;
        M = new float[layout.Count];
        V = new float[layout.Count];
    }

    public AdamWOptions Options { get; }
    public float[] M { get; } // [P] first moments
    public float[] V { get; } // [P] second moments

    /// <summary>Applies update number <paramref name="t"/> (1-based) with learning rate <paramref name="lr"/>.</summary>
    public void Update(float[] parameters, float[] gradients, float lr, long t)
    {
        var o = Options;
        float b1 = o.Beta1, b2 = o.Beta2, eps = o.Epsilon;
        float c1 = (float)(1.0 / (1.0 - Math.Pow(b1, t)));
        float c2 = (float)(1.0 / (1.0 - Math.Pow(b2, t)));
        foreach (var tensor in _layout.All)
        {
            bool decay = tensor.IsMatrix && (!tensor.IsEmbedding || o.DecayEmbedding);
            float wd = decay ? o.WeightDecay : 0f;
            var p = tensor.Of(parameters);
            var g = tensor.Of(gradients);
            var m = tensor.Of(M);
            var v = tensor.Of(V);
            for (int i = 0; i < p.Length; i++)
            {
                float gi = g[i];
                float mi = b1 * m[i] + (1f - b1) * gi;
                float vi = b2 * v[i] + (1f - b2) * gi * gi;
                m[i] = mi;
                v[i] = vi;
                p[i] -= lr * (mi * c1 / (MathF.Sqrt(vi * c2) + eps) + wd * p[i]);
            }
        }
    }
}

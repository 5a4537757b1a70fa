namespace SeekSharp.Models.Blocks;

/// <summary>
/// Rotary position embedding (RoFormer, Su et al. 2021): each pair of dimensions (a, b) of a head is rotated by
/// angle pos · freqScale · base^(-2i/ropeDim) / factor[i]. The one place RoPE angles are computed: inference calls
/// <see cref="Angles"/> per token, training fills its table for every position with <see cref="Table"/>, so trained
/// and exported models rotate identically.
/// </summary>
internal sealed class Rope
{
    private readonly int _headDim;       // Dh
    private readonly int _ropeDim;       // rotated leading dims of each head, even, ≤ Dh
    private readonly float _thetaScale;  // base^(-2/ropeDim)
    private readonly float _freqScale;
    private readonly float[]? _freqFactors; // [ropeDim / 2], llama 3's long-context scaling (rope_freqs.weight)
    private readonly RopeMode _mode;
    private readonly float _rampLow, _rampHigh;  // YaRN: pairs below low keep their frequency, above high are interpolated
    private readonly bool _yarn;

    /// <summary>RoPE as <paramref name="config"/> describes it, with llama 3's frequency factors when the file has them.</summary>
    public Rope(ModelConfig config, float[]? freqFactors)
        : this(config.HeadDim, config.RopeDimensionCount, config.RopeFreqBase, config.RopeFreqScale, config.RopeMode, freqFactors, config.Yarn)
    {
    }

    /// <summary>RoPE over <paramref name="ropeDim"/> dimensions of heads of width <paramref name="headDim"/>, with
    /// <paramref name="yarn"/>'s frequency ramp when given (then <paramref name="freqScale"/> is 1 / its factor).</summary>
    public Rope(int headDim, int ropeDim, float freqBase, float freqScale, RopeMode mode, float[]? freqFactors = null, YarnConfig? yarn = null)
    {
        _headDim = headDim;
        _ropeDim = ropeDim;
        _thetaScale = MathF.Pow(freqBase, -2f / _ropeDim);
        _freqScale = freqScale;
        _freqFactors = freqFactors;
        _mode = mode;
        if (yarn is not null)
        {
            // The pair whose wavelength fits `turns` times into the original context: dim · ln(ctx / (2π turns)) / (2 ln base).
            // Rounded outward and clamped to the pairs there are, in float as ggml rounds them, so the ramp's ends match.
            float Pair(float turns) => ropeDim * MathF.Log(yarn.OriginalContextLength / (turns * 2 * MathF.PI)) / (2 * MathF.Log(freqBase));
            _rampLow = MathF.Max(0, MathF.Floor(Pair(yarn.BetaFast)));
            _rampHigh = MathF.Min(ropeDim - 1, MathF.Ceiling(Pair(yarn.BetaSlow)));
            _yarn = true;
        }
    }

    /// <summary>Fills cos/sin [ropeDim / 2] for one position.</summary>
    /// <remarks>
    /// The angle advances by repeated multiplication in float, as ggml's rope cache does, rather than by
    /// a fresh pow per pair: the two differ in the last bits, and we want llama.cpp's logits, not just close ones.
    /// </remarks>
    public void Angles(int pos, Span<float> cos, Span<float> sin)
    {
        float theta = pos;
        for (int i = 0; i < _ropeDim / 2; i++)
        {
            float ff = _freqFactors is null ? 1f : _freqFactors[i];
            float angle = _freqScale * (theta / ff);
            if (_yarn)
            {
                // YaRN: the share of the unscaled angle falls linearly from 1 at pair _rampLow to 0 at _rampHigh.
                float keep = 1 - Math.Clamp((i - _rampLow) / MathF.Max(0.001f, _rampHigh - _rampLow), 0f, 1f);
                angle = angle * (1 - keep) + theta * keep;
            }
            cos[i] = MathF.Cos(angle);
            sin[i] = MathF.Sin(angle);
            theta *= _thetaScale;
        }
    }

    /// <summary>Fills cos/sin [positions, ropeDim / 2] for positions 0..positions−1, each row as <see cref="Angles"/> gives it.</summary>
    public void Table(int positions, Span<float> cos, Span<float> sin)
    {
        int half = _ropeDim / 2;
        for (int pos = 0; pos < positions; pos++)
            Angles(pos, cos.Slice(pos * half, half), sin.Slice(pos * half, half));
    }

    /// <summary>Rotates the leading rope dimensions of every head of <paramref name="heads"/> [nHeads, Dh] in place with precomputed angles.</summary>
    public void Apply(Span<float> heads, int nHeads, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin) =>
        Apply(heads, nHeads, _headDim, 0, cos, sin);

    /// <summary>Rotates the rope dimensions that start <paramref name="offset"/> into each of <paramref name="nHeads"/>
    /// heads <paramref name="stride"/> apart (MLA rotates the last dimensions of a head, and its shared key inside the
    /// key/value projection's output).</summary>
    public void Apply(Span<float> heads, int nHeads, int stride, int offset, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin)
    {
        int half = _ropeDim / 2;
        for (int h = 0; h < nHeads; h++)
        {
            var x = heads.Slice(h * stride + offset, _ropeDim);
            for (int i = 0; i < half; i++)
            {
                // Adjacent: pair (2i, 2i+1). HalfSplit: pair (i, i + ropeDim/2).
                int a = _mode == RopeMode.Adjacent ? 2 * i : i;
                int b = _mode == RopeMode.Adjacent ? 2 * i + 1 : i + half;
                float x0 = x[a], x1 = x[b];
                x[a] = x0 * cos[i] - x1 * sin[i];
                x[b] = x0 * sin[i] + x1 * cos[i];
            }
        }
    }
}

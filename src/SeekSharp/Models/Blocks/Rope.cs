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

    /// <summary>RoPE as <paramref name="config"/> describes it, with llama 3's frequency factors when the file has them.</summary>
    public Rope(ModelConfig config, float[]? freqFactors)
        : this(config.HeadDim, config.RopeDimensionCount, config.RopeFreqBase, config.RopeFreqScale, config.RopeMode, freqFactors)
    {
    }

    /// <summary>RoPE over the first <paramref name="ropeDim"/> dimensions of heads of width <paramref name="headDim"/>.</summary>
    public Rope(int headDim, int ropeDim, float freqBase, float freqScale, RopeMode mode, float[]? freqFactors = null)
    {
        _headDim = headDim;
        _ropeDim = ropeDim;
        _thetaScale = MathF.Pow(freqBase, -2f / _ropeDim);
        _freqScale = freqScale;
        _freqFactors = freqFactors;
        _mode = mode;
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

    /// <summary>Rotates every head of <paramref name="heads"/> [nHeads, Dh] in place with precomputed angles.</summary>
    public void Apply(Span<float> heads, int nHeads, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin)
    {
        int half = _ropeDim / 2;
        for (int h = 0; h < nHeads; h++)
        {
            var x = heads.Slice(h * _headDim, _headDim);
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

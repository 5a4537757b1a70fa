namespace SeekSharp.Inference;

/// <summary>Sizes of an evaluation context.</summary>
public sealed record ContextOptions
{
    /// <summary>Positions per sequence; 0 means the model's trained context length, capped at 4096 to keep the cache modest.</summary>
    public int ContextLength { get; init; }
    /// <summary>Independent sequences the KV cache holds (parallel requests, GRPO groups).</summary>
    public int Sequences { get; init; } = 1;
    /// <summary>Most tokens one <see cref="InferenceContext.Decode"/> call evaluates (llama.cpp's n_ubatch); longer inputs are split by callers.</summary>
    public int BatchSize { get; init; } = 128;
}

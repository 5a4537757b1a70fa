using SeekSharp.Kernels;

namespace SeekSharp.Inference;

/// <summary>Sizes of an evaluation context.</summary>
public sealed record ContextOptions
{
    /// <summary>Positions per sequence; 0 means the model's trained context length, capped at 4096 to keep the cache modest.</summary>
    public int ContextLength { get; init; }
    /// <summary>Independent sequences the KV cache holds (parallel requests, GRPO groups).</summary>
    public int Sequences { get; init; } = 1;
    /// <summary>Positions the KV cache's page pool holds over all sequences; 0: <see cref="Sequences"/> × the context length
    /// (every sequence can fill its context). Less lets sequences share a smaller pool as they grow.</summary>
    public int KvSize { get; init; }
    /// <summary>Positions per KV page (a power of two up to 128).</summary>
    public int PageSize { get; init; } = 64;
    /// <summary>Most tokens of one batch that want logits, the rows of the logits buffer; 0: <see cref="BatchSize"/>.
    /// A server samples one row per sequence, so it needs only as many as it runs sequences.</summary>
    public int MaxOutputs { get; init; }
    /// <summary>Most tokens one <see cref="InferenceContext.Decode"/> call evaluates (llama.cpp's n_ubatch); longer inputs are split by callers.</summary>
    public int BatchSize { get; init; } = 128;
    /// <summary>
    /// Threads that evaluate a batch, the caller included (llama.cpp's <c>-t</c>); 0 shares the process-wide pool of
    /// <see cref="Kernels.Threading.WorkerPool.DefaultThreadCount"/> threads, a positive count gives the context its own.
    /// </summary>
    public int Threads { get; init; }
    /// <summary>
    /// Element type of the KV cache: <see cref="GgmlType.F16"/> (the default, as llama.cpp's, half the memory and
    /// bandwidth) or <see cref="GgmlType.F32"/> (exact keys and values).
    /// </summary>
    public GgmlType KvCacheType { get; init; } = GgmlType.F16;

    /// <summary>
    /// How multi-head latent attention (deepseek2) is evaluated; other architectures ignore it. Both paths read the
    /// same cache of latents and give the same result to rounding.
    /// </summary>
    public MlaAttention MlaAttention { get; init; } = MlaAttention.Auto;

    /// <summary>The positions per sequence a context of these options has for <paramref name="config"/>:
    /// <see cref="ContextLength"/>, or when it is 0 the trained length capped at 4096.</summary>
    public long LengthFor(Models.ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return ContextLength > 0 ? ContextLength : Math.Min(config.ContextLength, 4096);
    }
}

/// <summary>How multi-head latent attention is evaluated (DeepSeek-V2 §2.1 and appendix C).</summary>
public enum MlaAttention
{
    /// <summary>The absorbed path for files with the split k_b/v_b (measured the faster for decoding and prompt
    /// processing alike, and llama.cpp's path for them); for older files with one attn_kv_b, the naive path for
    /// prompt chunks (llama.cpp's path for them) and the absorbed one for single decoding tokens.</summary>
    Auto,
    /// <summary>Decompress each cached latent into per-head keys and values, then attend as multi-head attention.</summary>
    Naive,
    /// <summary>Fold the key up-projection into the query and the value up-projection after attention, so attention
    /// runs on the cached latents directly as one shared KV head.</summary>
    Absorbed,
}

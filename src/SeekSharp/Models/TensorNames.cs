namespace SeekSharp.Models;

/// <summary>The tensors of a decoder, by role. Each architecture uses a subset; <see cref="TensorNames"/> names them
/// and <see cref="ModelConfig.ShapeOf"/> gives their shapes.</summary>
public enum TensorKind
{
    /// <summary>Token embedding [V, D].</summary>
    TokenEmbedding,
    /// <summary>Final RMSNorm gain [D].</summary>
    OutputNorm,
    /// <summary>Output projection [V, D] (absent when tied to the embedding).</summary>
    Output,
    /// <summary>Per-pair RoPE frequency divisors [rope dims / 2] (llama 3's long-context scaling).</summary>
    RopeFrequencies,

    // per block
    /// <summary>RMSNorm gain before attention [D].</summary>
    AttnNorm,
    /// <summary>Query projection [H · Dh, D].</summary>
    AttnQ,
    /// <summary>Key projection [Hkv · Dh, D].</summary>
    AttnK,
    /// <summary>Value projection [Hkv · Dh, D].</summary>
    AttnV,
    /// <summary>Attention output projection [D, H · Dh].</summary>
    AttnOutput,
    /// <summary>Query bias [H · Dh] (qwen2).</summary>
    AttnQBias,
    /// <summary>Key bias [Hkv · Dh] (qwen2).</summary>
    AttnKBias,
    /// <summary>Value bias [Hkv · Dh] (qwen2).</summary>
    AttnVBias,
    /// <summary>Attention output bias [D].</summary>
    AttnOutputBias,
    /// <summary>Per-head RMSNorm gain on queries [Dh] (qwen3).</summary>
    AttnQNorm,
    /// <summary>Per-head RMSNorm gain on keys [Dh] (qwen3).</summary>
    AttnKNorm,
    /// <summary>RMSNorm gain before the feed-forward [D].</summary>
    FfnNorm,
    /// <summary>SwiGLU gate projection [F, D].</summary>
    FfnGate,
    /// <summary>SwiGLU up projection [F, D].</summary>
    FfnUp,
    /// <summary>SwiGLU down projection [D, F].</summary>
    FfnDown,
}

/// <summary>
/// The one table of GGUF tensor names, as llama.cpp's <c>llama-arch.cpp</c> spells them (<c>LLM_TENSOR_NAMES</c>), so
/// that files move between the two. Inference reads weights by these names and training writes and reads them by the
/// same: an architecture's new tensors are added here, once.
/// </summary>
public static class TensorNames
{
    /// <summary>True for the tensors that belong to a block (<c>blk.N.</c>).</summary>
    public static bool IsPerBlock(TensorKind kind) => kind >= TensorKind.AttnNorm;

    /// <summary>True for the 1-D tensors (norm gains, biases, RoPE factors); the others are matrices.</summary>
    public static bool IsVector(TensorKind kind) => kind is TensorKind.OutputNorm or TensorKind.RopeFrequencies or TensorKind.AttnNorm
        or TensorKind.FfnNorm or TensorKind.AttnQBias or TensorKind.AttnKBias or TensorKind.AttnVBias or TensorKind.AttnOutputBias
        or TensorKind.AttnQNorm or TensorKind.AttnKNorm;

    /// <summary>The GGUF name of <paramref name="kind"/>, in block <paramref name="layer"/> when it is per block.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A per-block tensor without a layer, or a global one with one.</exception>
    public static string Of(TensorKind kind, int layer = -1)
    {
        if (IsPerBlock(kind) != layer >= 0)
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"{kind} is {(IsPerBlock(kind) ? "per block and needs a layer" : "global and takes no layer")}.");
        string name = kind switch
        {
            TensorKind.TokenEmbedding => "token_embd.weight",
            TensorKind.OutputNorm => "output_norm.weight",
            TensorKind.Output => "output.weight",
            TensorKind.RopeFrequencies => "rope_freqs.weight",
            TensorKind.AttnNorm => "attn_norm.weight",
            TensorKind.AttnQ => "attn_q.weight",
            TensorKind.AttnK => "attn_k.weight",
            TensorKind.AttnV => "attn_v.weight",
            TensorKind.AttnOutput => "attn_output.weight",
            TensorKind.AttnQBias => "attn_q.bias",
            TensorKind.AttnKBias => "attn_k.bias",
            TensorKind.AttnVBias => "attn_v.bias",
            TensorKind.AttnOutputBias => "attn_output.bias",
            TensorKind.AttnQNorm => "attn_q_norm.weight",
            TensorKind.AttnKNorm => "attn_k_norm.weight",
            TensorKind.FfnNorm => "ffn_norm.weight",
            TensorKind.FfnGate => "ffn_gate.weight",
            TensorKind.FfnUp => "ffn_up.weight",
            TensorKind.FfnDown => "ffn_down.weight",
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no GGUF name"),
        };
        return layer >= 0 ? $"blk.{layer}.{name}" : name;
    }
}

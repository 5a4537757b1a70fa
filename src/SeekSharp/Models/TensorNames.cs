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

    // MLA (deepseek2)
    /// <summary>Low-rank query down-projection [qLora, D] (V3/R1).</summary>
    AttnQA,
    /// <summary>RMSNorm gain of the low-rank query [qLora].</summary>
    AttnQANorm,
    /// <summary>Query up-projection [H · (nope + rope), qLora].</summary>
    AttnQB,
    /// <summary>Key/value down-projection [kvLora + rope, D]: the latent, then the shared key to rotate.</summary>
    AttnKvAMqa,
    /// <summary>RMSNorm gain of the latent [kvLora].</summary>
    AttnKvANorm,
    /// <summary>Latent up-projection [H · (nope + v), kvLora], per head the key rows then the value rows (older files).</summary>
    AttnKvB,
    /// <summary>Per head, the key up-projection transposed [H][kvLora, nope], which absorbs into the query.</summary>
    AttnKB,
    /// <summary>Per head, the value up-projection [H][v, kvLora].</summary>
    AttnVB,

    // mixture of experts
    /// <summary>Router [E, D].</summary>
    FfnGateInp,
    /// <summary>Per-expert bias added to the scores to choose experts, not to weight them [E] (V3).</summary>
    ExpertProbsBias,
    /// <summary>Routed experts' gate projections [E][Fe, D].</summary>
    FfnGateExperts,
    /// <summary>Routed experts' up projections [E][Fe, D].</summary>
    FfnUpExperts,
    /// <summary>Routed experts' down projections [E][D, Fe].</summary>
    FfnDownExperts,
    /// <summary>Shared experts' gate projection [shared · Fe, D].</summary>
    FfnGateShared,
    /// <summary>Shared experts' up projection [shared · Fe, D].</summary>
    FfnUpShared,
    /// <summary>Shared experts' down projection [D, shared · Fe].</summary>
    FfnDownShared,
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
        or TensorKind.AttnQNorm or TensorKind.AttnKNorm or TensorKind.AttnQANorm or TensorKind.AttnKvANorm or TensorKind.ExpertProbsBias;

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
            TensorKind.AttnQA => "attn_q_a.weight",
            TensorKind.AttnQANorm => "attn_q_a_norm.weight",
            TensorKind.AttnQB => "attn_q_b.weight",
            TensorKind.AttnKvAMqa => "attn_kv_a_mqa.weight",
            TensorKind.AttnKvANorm => "attn_kv_a_norm.weight",
            TensorKind.AttnKvB => "attn_kv_b.weight",
            TensorKind.AttnKB => "attn_k_b.weight",
            TensorKind.AttnVB => "attn_v_b.weight",
            TensorKind.FfnGateInp => "ffn_gate_inp.weight",
            TensorKind.ExpertProbsBias => "exp_probs_b.bias",
            TensorKind.FfnGateExperts => "ffn_gate_exps.weight",
            TensorKind.FfnUpExperts => "ffn_up_exps.weight",
            TensorKind.FfnDownExperts => "ffn_down_exps.weight",
            TensorKind.FfnGateShared => "ffn_gate_shexp.weight",
            TensorKind.FfnUpShared => "ffn_up_shexp.weight",
            TensorKind.FfnDownShared => "ffn_down_shexp.weight",
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no GGUF name"),
        };
        return layer >= 0 ? $"blk.{layer}.{name}" : name;
    }
}

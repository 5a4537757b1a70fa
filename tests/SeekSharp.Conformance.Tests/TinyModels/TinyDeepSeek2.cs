using SeekSharp.Kernels;

namespace SeekSharp.Conformance.Tests.TinyModels;

/// <summary>How a DeepSeekMoE router turns its logits into expert scores: llama.cpp's <c>expert_gating_func</c> ids.</summary>
public enum TinyExpertGating
{
    /// <summary>Softmax over all experts (DeepSeek V2, V2-Lite).</summary>
    Softmax = 1,

    /// <summary>Sigmoid of each logit on its own (DeepSeek V3, R1).</summary>
    Sigmoid = 2,
}

/// <summary>
/// YaRN rotary scaling as DeepSeek configures it (<c>rope_scaling.type = "yarn"</c>), written as
/// <c>rope.scaling.{type, factor, original_context_length, yarn_log_multiplier, yarn_beta_fast, yarn_beta_slow}</c>.
/// </summary>
/// <param name="Factor">Context extension factor; llama.cpp's frequency scale is 1 / Factor.</param>
/// <param name="OriginalContextLength">Pre-training context (<c>original_max_position_embeddings</c>), llama.cpp's n_ctx_orig_yarn.</param>
/// <param name="MscaleAllDim">Hugging Face's <c>mscale_all_dim</c>. convert_hf_to_gguf writes 0.1 * MscaleAllDim as
/// <c>yarn_log_multiplier</c> and llama.cpp's deepseek2 loader divides it by 0.1 again (TAG_DEEPSEEK2_YARN_LOG_MUL_FIX).</param>
/// <param name="BetaFast">Ramp bound in rotations, written as <c>yarn_beta_fast</c> as the converter does; llama.cpp's
/// deepseek2 loader does not read it and always uses its default 32, so the builder only accepts 32.</param>
/// <param name="BetaSlow">As <paramref name="BetaFast"/> for <c>yarn_beta_slow</c>; llama.cpp's default and only value 1.</param>
internal sealed record TinyYarnScaling(
    float Factor = 4f,
    int OriginalContextLength = 64,
    float MscaleAllDim = 1f,
    float BetaFast = 32f,
    float BetaSlow = 1f);

/// <summary>
/// The DeepSeek V2/V3 part of a tiny <c>deepseek2</c> model: Multi-head Latent Attention, DeepSeekMoE and YaRN.
/// Held by <see cref="TinyModelOptions.DeepSeek2"/>; <see cref="TinyModelOptions.Heads"/>, <c>Dim</c>, <c>FfnDim</c>
/// (width of the leading dense layers), <c>Layers</c>, <c>WeightType</c>, <c>Tokenizer</c> and <c>Seed</c> are shared
/// with the other architectures. Value equality, so it can key the model cache.
/// </summary>
internal sealed record TinyDeepSeek2
{
    // MLA
    /// <summary>Rank of the query compression (attn_q_a, attn_q_a_norm, attn_q_b); 0 = one plain attn_q as in V2-Lite.</summary>
    public int QLoraRank { get; init; } = 32;
    /// <summary>Rank of the compressed key/value latent, the part of attn_kv_a_mqa's output that is cached.</summary>
    public int KvLoraRank { get; init; } = 64;
    /// <summary>qk_nope_head_dim: per-head query/key width without rotary embedding.</summary>
    public int NopeDim { get; init; } = 32;
    /// <summary>qk_rope_head_dim: per-head query width with rotary embedding, and the width of the one shared roped key.</summary>
    public int RopeDim { get; init; } = 16;
    /// <summary>v_head_dim: per-head value width.</summary>
    public int ValueDim { get; init; } = 32;
    /// <summary>
    /// True: the current llama.cpp layout, kv_b split into attn_k_b {nope, kvLora, nh} and attn_v_b {kvLora, v, nh}
    /// (weight-absorbed MLA, key/value_length_mla written). False: the older single attn_kv_b {kvLora, nh*(nope+v)}
    /// that llama.cpp runs as plain multi-head attention. Both come from the same random kv_b, so the two layouts of
    /// one seed are the same model.
    /// </summary>
    public bool SplitKvB { get; init; } = true;

    // MoE
    /// <summary>first_k_dense_replace: leading blocks with a dense SwiGLU FFN of width <c>FfnDim</c>.</summary>
    public int LeadingDenseBlocks { get; init; } = 1;
    /// <summary>Routed experts per MoE block.</summary>
    public int Experts { get; init; } = 8;
    /// <summary>Routed experts each token uses (top-k).</summary>
    public int ExpertsUsed { get; init; } = 3;
    /// <summary>Shared experts, always applied; llama.cpp stores them as one SwiGLU of width <c>ExpertFfnDim * SharedExperts</c>.</summary>
    public int SharedExperts { get; init; } = 1;
    /// <summary>moe_intermediate_size: hidden width of each routed expert.</summary>
    public int ExpertFfnDim { get; init; } = 64;
    public TinyExpertGating Gating { get; init; } = TinyExpertGating.Sigmoid;
    /// <summary>Writes exp_probs_b.bias (V3's e_score_correction_bias), added to the scores for choosing experts only.
    /// It is drawn from the random stream either way, so toggling it leaves every other weight unchanged.</summary>
    public bool CorrectionBias { get; init; } = true;
    /// <summary>n_group: experts are split into this many groups of equal size.</summary>
    public int ExpertGroups { get; init; } = 4;
    /// <summary>topk_group: tokens choose experts only from the groups with the highest sums of their two best scores.</summary>
    public int ExpertGroupsUsed { get; init; } = 2;
    /// <summary>norm_topk_prob: the chosen experts' weights are divided by their sum.</summary>
    public bool WeightsNorm { get; init; } = true;
    /// <summary>routed_scaling_factor: multiplies the chosen experts' weights (llama.cpp skips it when 0 or 1).</summary>
    public float WeightsScale { get; init; } = 2.5f;

    // positions
    /// <summary>YaRN scaling, or null for plain rotary embeddings.</summary>
    public TinyYarnScaling? Yarn { get; init; } = new();

    /// <summary>Per-head query/key width: nope + rope (llama.cpp's n_embd_head_k_mla).</summary>
    public int QkHeadDim => NopeDim + RopeDim;

    /// <summary>
    /// A scaled-down DeepSeek V3: compressed queries, sigmoid router with correction bias, 4 groups of which 2 are
    /// used, normalised and scaled (2.5) expert weights, YaRN with mscale_all_dim 1. With <c>Dim = 128, Heads = 4,
    /// Layers = 3, FfnDim = 128</c> every matrix input width is a multiple of 32, so Q8_0 works.
    /// </summary>
    public static TinyDeepSeek2 V3Like { get; } = new()
    {
        QLoraRank = 32, KvLoraRank = 64, NopeDim = 32, RopeDim = 16, ValueDim = 32,
        LeadingDenseBlocks = 1, Experts = 8, ExpertsUsed = 3, SharedExperts = 1, ExpertFfnDim = 64,
        Gating = TinyExpertGating.Sigmoid, CorrectionBias = true, ExpertGroups = 4, ExpertGroupsUsed = 2,
        WeightsNorm = true, WeightsScale = 2.5f,
        Yarn = new TinyYarnScaling(Factor: 4f, OriginalContextLength: 64, MscaleAllDim: 1f),
    };

    /// <summary>
    /// A scaled-down DeepSeek V2-Lite: plain attn_q (no query compression), softmax router without bias, one group,
    /// unnormalised weights with scale 1, YaRN with mscale_all_dim 0.707.
    /// </summary>
    public static TinyDeepSeek2 V2LiteLike { get; } = new()
    {
        QLoraRank = 0, KvLoraRank = 64, NopeDim = 32, RopeDim = 16, ValueDim = 32,
        LeadingDenseBlocks = 1, Experts = 8, ExpertsUsed = 2, SharedExperts = 2, ExpertFfnDim = 64,
        Gating = TinyExpertGating.Softmax, CorrectionBias = false, ExpertGroups = 1, ExpertGroupsUsed = 1,
        WeightsNorm = false, WeightsScale = 1f,
        Yarn = new TinyYarnScaling(Factor: 4f, OriginalContextLength: 64, MscaleAllDim: 0.707f),
    };

    /// <summary>Complete options for <paramref name="deepSeek2"/> with the shared shape these presets are meant for:
    /// Dim 128, 4 heads, 3 layers, dense FFN 128, context 256.</summary>
    public static TinyModelOptions Options(TinyDeepSeek2 deepSeek2, bool splitKvB = true,
        GgmlType weightType = GgmlType.F32, int seed = 1) => new()
    {
        Architecture = TinyArchitecture.DeepSeek2,
        DeepSeek2 = deepSeek2 with { SplitKvB = splitKvB },
        Dim = 128, Heads = 4, Layers = 3, FfnDim = 128, ContextLength = 256,
        WeightType = weightType, Seed = seed,
    };

    public override string ToString() =>
        $"{(QLoraRank > 0 ? $"q{QLoraRank}" : "q-plain")} kv{KvLoraRank} nope{NopeDim} rope{RopeDim} v{ValueDim} {(SplitKvB ? "k_b/v_b" : "kv_b")} " +
        $"dense{LeadingDenseBlocks} e{ExpertsUsed}/{Experts}+{SharedExperts}x{ExpertFfnDim} {Gating}{(CorrectionBias ? "+bias" : "")} " +
        $"g{ExpertGroupsUsed}/{ExpertGroups}{(WeightsNorm ? " norm" : "")} scale{WeightsScale}" +
        (Yarn is { } y ? $" yarn{y.Factor}/{y.OriginalContextLength}/m{y.MscaleAllDim}" : "");
}

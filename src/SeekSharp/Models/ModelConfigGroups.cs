namespace SeekSharp.Models;

/// <summary>
/// Multi-head latent attention (DeepSeek-V2 §2.1): each token's keys and values are decompressed from one latent of
/// <see cref="KvLoraRank"/> values plus one roped key of <see cref="RopeDim"/> values shared by all heads, so only
/// those are cached. A query head is <see cref="NopeDim"/> + <see cref="RopeDim"/> wide, a value head <see cref="ValueDim"/>.
/// </summary>
/// <param name="QLoraRank">Width of the low-rank query (q_a → norm → q_b, V3/R1); 0 for a plain query projection (V2-Lite).</param>
/// <param name="KvLoraRank">Width of the key/value latent c (512 in every DeepSeek model).</param>
/// <param name="NopeDim">Query/key dimensions per head without position (qk_nope_head_dim, 128).</param>
/// <param name="RopeDim">Query/key dimensions per head that RoPE rotates (qk_rope_head_dim, 64); the last of each head.</param>
/// <param name="ValueDim">Value dimensions per head (v_head_dim, 128).</param>
/// <param name="SplitKvB">The file stores kv_b as attn_k_b and attn_v_b per head (llama.cpp since its MLA support);
/// false for the older single attn_kv_b.</param>
public sealed record MlaConfig(int QLoraRank, int KvLoraRank, int NopeDim, int RopeDim, int ValueDim, bool SplitKvB);

/// <summary>How the router turns expert logits into scores (llama.cpp's <c>expert_gating_func</c> values).</summary>
public enum ExpertGating
{
    /// <summary>Softmax over all experts (DeepSeek-V2, Qwen3-MoE).</summary>
    Softmax = 1,
    /// <summary>An independent sigmoid per expert (DeepSeek-V3/R1).</summary>
    Sigmoid = 2,
}

/// <summary>
/// DeepSeekMoE feed-forward (DeepSeek-V3 §2.1.2): after <see cref="LeadingDenseBlockCount"/> dense blocks, each token
/// goes to <see cref="ExpertUsedCount"/> of <see cref="ExpertCount"/> routed SwiGLU experts, weighted by the router,
/// plus <see cref="SharedExpertCount"/> shared experts (one SwiGLU of their summed width) added unweighted.
/// </summary>
/// <param name="ExpertCount">Routed experts per block (E).</param>
/// <param name="ExpertUsedCount">Experts each token is sent to (k).</param>
/// <param name="SharedExpertCount">Shared experts; 0 for none (Qwen3-MoE).</param>
/// <param name="ExpertFeedForwardLength">Hidden width of one expert (Fe).</param>
/// <param name="LeadingDenseBlockCount">Leading blocks with a dense SwiGLU of width F instead (first_k_dense_replace).</param>
/// <param name="Gating">Softmax or sigmoid scores.</param>
/// <param name="NormalizeWeights">The k chosen scores are divided by their sum (norm_topk_prob).</param>
/// <param name="WeightsScale">Factor on the chosen weights (routed_scaling_factor: V3 2.5).</param>
/// <param name="GroupCount">Expert groups for group-limited routing (n_group); 1 for none.</param>
/// <param name="GroupUsedCount">Groups a token may choose from (topk_group).</param>
/// <param name="HasCorrectionBias">Each block has a per-expert bias (exp_probs_b) added to the scores to choose
/// experts, never to weight them (V3's auxiliary-loss-free balancing).</param>
public sealed record MoeConfig(int ExpertCount, int ExpertUsedCount, int SharedExpertCount, int ExpertFeedForwardLength,
    int LeadingDenseBlockCount, ExpertGating Gating, bool NormalizeWeights, float WeightsScale, int GroupCount, int GroupUsedCount,
    bool HasCorrectionBias);

/// <summary>
/// YaRN (Peng et al. 2023) as DeepSeek configures it: rotary frequencies that complete fewer than <see cref="BetaSlow"/>
/// turns over the original context are interpolated by <see cref="Factor"/>, those completing more than
/// <see cref="BetaFast"/> are kept, with a linear ramp between; the attention logits are scaled by mscale².
/// </summary>
/// <param name="Factor">Context extension factor s (40 for DeepSeek).</param>
/// <param name="OriginalContextLength">Context the model was pre-trained with (4096), which places the ramp.</param>
/// <param name="BetaFast">Turns above which a frequency is kept (32).</param>
/// <param name="BetaSlow">Turns below which a frequency is fully interpolated (1).</param>
/// <param name="MscaleAllDim">mscale_all_dim: mscale = 1 + 0.1 · MscaleAllDim · ln s (V3 1.0, V2-Lite 0.707).</param>
public sealed record YarnConfig(float Factor, int OriginalContextLength, float BetaFast, float BetaSlow, float MscaleAllDim);

/// <summary>
/// What the KV cache holds for one position of one layer, in elements: a key row of <see cref="KeyWidth"/>, and a value
/// row of <see cref="ValueWidth"/> that is either stored on its own or, when <see cref="ValuesInKeys"/>, is the first
/// <see cref="ValueWidth"/> elements of the key row (MLA's latent serves as both).
/// </summary>
public sealed record KvLayout(int KeyWidth, int ValueWidth, bool ValuesInKeys)
{
    /// <summary>Elements stored per position and layer.</summary>
    public int ElementsPerPosition => ValuesInKeys ? KeyWidth : KeyWidth + ValueWidth;
}

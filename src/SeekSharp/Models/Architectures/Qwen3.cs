using SeekSharp.Models.Blocks;

namespace SeekSharp.Models.Architectures;

/// <summary>
/// qwen3 (Qwen3 and DeepSeek-R1-0528-Qwen3-8B): the llama block with three differences, which is all this file states.
/// 1. Each query and key head is RMS-normalised with its own learned gain (attn_q_norm / attn_k_norm, [Dh]) after the
///    projection and before RoPE, as llama.cpp's qwen3 graph does.
/// 2. The head width is given explicitly (<c>qwen3.attention.key_length</c>), so H · Dh may differ from D.
/// 3. RoPE pairs dimension i with i + Dh/2 (NEOX layout), as for qwen2; there are no q/k/v biases.
/// qwen3moe (Qwen3-30B-A3B, Qwen3-235B-A22B) is the same block with a mixture of experts (<see cref="Blocks.Moe"/>) for
/// the feed-forward of every block: a softmax router, k experts with their weights normalised to sum 1, no shared ones.
/// </summary>
internal static class Qwen3
{
    public static ITransformer Load(WeightReader weights, ModelConfig config)
        => new Llama(weights, config, requireQkvBias: false, requireQkNorm: true);
}

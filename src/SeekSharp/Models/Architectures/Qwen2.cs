using SeekSharp.Models.Blocks;

namespace SeekSharp.Models.Architectures;

/// <summary>
/// qwen2 (Qwen2/2.5 and DeepSeek-R1-Distill-Qwen): the llama block with two differences, which is all this file states.
/// 1. Query, key and value projections carry biases (attn_q/k/v.bias); the output projection does not.
/// 2. RoPE pairs dimension i with i + Dh/2 (NEOX layout), because the GGUF converter keeps Hugging Face's
///    rotate_half weight order for qwen2 instead of permuting Q/K rows as it does for llama (<see cref="ModelConfig.RopeMode"/>).
/// </summary>
internal static class Qwen2
{
    public static ITransformer Load(WeightReader weights, ModelConfig config)
        => new Llama(weights, config, requireQkvBias: true);
}

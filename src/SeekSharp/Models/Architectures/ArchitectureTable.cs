using SeekSharp.Models.Blocks;

namespace SeekSharp.Models.Architectures;

/// <summary>
/// The architectures SeekSharp runs, by their <c>general.architecture</c> name: what the configuration needs to know
/// of each (how RoPE pairs dimensions) and how its weights are loaded. Adding an architecture adds one entry here, its
/// tensors to <see cref="TensorNames"/> and its file beside <see cref="Llama"/>.
/// </summary>
internal static class ArchitectureTable
{
    /// <summary>One architecture.</summary>
    /// <param name="RopeMode">How its RoPE pairs the dimensions of a head.</param>
    /// <param name="Load">Builds its forward pass over a file's weights.</param>
    /// <param name="NormalizesExpertWeights">Its router divides the chosen experts' weights by their sum whatever the
    /// file says (llama.cpp fixes this per architecture graph: qwen3moe does); otherwise expert_weights_norm decides.</param>
    internal sealed record Entry(RopeMode RopeMode, Func<WeightReader, ModelConfig, ITransformer> Load, bool NormalizesExpertWeights = false);

    /// <summary>Every supported architecture.</summary>
    public static readonly IReadOnlyDictionary<string, Entry> Known = new Dictionary<string, Entry>(StringComparer.Ordinal)
    {
        ["llama"] = new(RopeMode.Adjacent, (weights, config) => new Llama(weights, config, requireQkvBias: false)),
        ["qwen2"] = new(RopeMode.HalfSplit, Qwen2.Load),
        ["qwen3"] = new(RopeMode.HalfSplit, Qwen3.Load),
        ["qwen3moe"] = new(RopeMode.HalfSplit, Qwen3.Load, NormalizesExpertWeights: true),
        // Adjacent pairs: llama.cpp's converter does not permute DeepSeek's q/k rows, whose rope dimensions are interleaved.
        ["deepseek2"] = new(RopeMode.Adjacent, DeepSeek2.Load),
    };

    /// <summary>The supported names, for error messages.</summary>
    public static string Names => string.Join(", ", Known.Keys);
}

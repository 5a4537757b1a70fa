using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Kernels;

namespace SeekSharp.PeerBenchmark;

/// <summary>The benchmarked model shapes: DeepSeek-R1-Distill-Qwen-1.5B's, and a 4-layer cut of it for quick runs.</summary>
internal static class PeerShape
{
    /// <summary>qwen2, hidden 1536, 28 layers, 12 query / 2 KV heads, FFN 8960, vocab 151936, untied output (1.78 B parameters).</summary>
    public static TinyModelOptions R1DistillQwen15B(int layers = 28) => new()
    {
        Architecture = TinyArchitecture.Qwen2,
        Dim = 1536,
        Layers = layers,
        Heads = 12,
        KvHeads = 2,
        FfnDim = 8960,
        RmsNormEps = 1e-6f,
        RopeTheta = 10000f,
        ContextLength = 4096,
        TiedOutput = false,
        WeightType = GgmlType.F16,
        Tokenizer = TinyTokenizer.SyntheticPadded(151936),
        Seed = 1,
    };
}

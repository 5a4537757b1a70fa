using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Kernels;

namespace SeekSharp.PeerBenchmark;

/// <summary>A benchmarked model: its random-weight options, the stem of its cached file names and a one-line description.</summary>
internal sealed record PeerModel(string Architecture, string FileStem, string Description, TinyModelOptions Options);

/// <summary>The benchmarked model shapes, full and cut to a few layers for quick runs.</summary>
internal static class PeerShape
{
    /// <summary>The shape <paramref name="architecture"/> (qwen2 or deepseek2) stands for, with all its layers or a quick 4.</summary>
    public static PeerModel For(string architecture, bool quick) => architecture switch
    {
        "qwen2" => new("qwen2", $"r1-distill-qwen-1.5b-shape-L{(quick ? 4 : 28)}",
            $"qwen2, R1-Distill-Qwen-1.5B's shape with {(quick ? 4 : 28)} layers (hidden 1536, 12/2 heads, FFN 8960, vocab 151936, untied), random weights",
            R1DistillQwen15B(quick ? 4 : 28)),
        "deepseek2" => new("deepseek2", $"deepseek-v2-lite-shape-L{(quick ? 4 : 27)}",
            $"deepseek2, DeepSeek-V2-Lite's shape with {(quick ? 4 : 27)} layers (hidden 2048, 16 heads, plain attn_q, kv_lora_rank 512, " +
            "qk_nope 128 + qk_rope 64, v_head 128, split attn_k_b/attn_v_b; layer 0 dense FFN 10944, then 64 routed experts of 1408 with 6 used " +
            "+ 2 shared, softmax gating, 1 group, no weight norm, scale 1; YaRN factor 40 on 4096, mscale_all_dim 0.707; vocab 102400, untied), random weights",
            DeepSeekV2Lite(quick ? 4 : 27)),
        _ => throw new ArgumentException($"--arch takes qwen2 or deepseek2, got '{architecture}'"),
    };

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

    /// <summary>
    /// deepseek2 as DeepSeek-V2-Lite's config.json sets it (15.7 B parameters with 27 layers, 2.4 B active per token):
    /// hidden 2048, 16 heads, no query compression, kv_lora_rank 512, qk 128 + 64, v 128; first layer dense (FFN 10944),
    /// then 64 routed experts of width 1408 (6 per token, softmax router, one group, unnormalised weights, scale 1) and 2
    /// shared; YaRN factor 40 over 4096 positions (context 163840), mscale_all_dim 0.707; vocab 102400, untied output.
    /// </summary>
    public static TinyModelOptions DeepSeekV2Lite(int layers = 27) => new()
    {
        Architecture = TinyArchitecture.DeepSeek2,
        Dim = 2048,
        Layers = layers,
        Heads = 16,
        FfnDim = 10944,
        RmsNormEps = 1e-6f,
        RopeTheta = 10000f,
        ContextLength = 163840,
        TiedOutput = false,
        WeightType = GgmlType.F16,
        Tokenizer = TinyTokenizer.SyntheticPadded(102400),
        Seed = 1,
        DeepSeek2 = new TinyDeepSeek2
        {
            QLoraRank = 0, KvLoraRank = 512, NopeDim = 128, RopeDim = 64, ValueDim = 128, SplitKvB = true,
            LeadingDenseBlocks = 1, Experts = 64, ExpertsUsed = 6, SharedExperts = 2, ExpertFfnDim = 1408,
            Gating = TinyExpertGating.Softmax, CorrectionBias = false, ExpertGroups = 1, ExpertGroupsUsed = 1,
            WeightsNorm = false, WeightsScale = 1f,
            Yarn = new TinyYarnScaling(Factor: 40f, OriginalContextLength: 4096, MscaleAllDim: 0.707f),
        },
    };
}

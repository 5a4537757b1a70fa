using SeekSharp.Conformance.Tests.Oracle;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Inference;
using SeekSharp.Kernels;
using SeekSharp.Models;
using Xunit.Abstractions;

namespace SeekSharp.Conformance.Tests.Models;

/// <summary>
/// SeekSharp against llama.cpp on the same tiny random-weight GGUF files carrying real tokenizers:
/// final-position logits, a greedy continuation and llama-perplexity's figure.
/// </summary>
public class ModelConformanceTests(ITestOutputHelper output)
{
    private const int ContextLength = 256;

    public static TheoryData<string, string, string> Cases => new()
    {
        // architecture, weight type, tokenizer (and variant flags in the tokenizer slot's suffix)
        { "llama", "F32", "llama3_1+rope-scaling" },
        { "llama", "F16", "llama3_1" },
        { "llama", "Q8_0", "deepseek_v3+tied" },
        { "qwen2", "F32", "qwen3" },
        { "qwen2", "F16", "deepseek_v3+tied" },
        { "qwen2", "Q8_0", "qwen3" },
        { "llama", "BF16", "qwen3" },
        { "qwen2", "Q4_0", "llama3_1" },
        // qwen3 with a head width that is not D / H (H · Dh = 256 against D 128, as Qwen3 models have it)
        { "qwen3", "F32", "qwen3" },
        { "qwen3", "Q8_0", "deepseek_v3" },
        // qwen3moe: the qwen3 block with 8 experts of which 2 are chosen per token
        { "qwen3moe", "F32", "qwen3" },
        { "qwen3moe", "Q8_0", "deepseek_v3" },
        // deepseek2 scaled down (TinyDeepSeek2): V3-like (low-rank queries, sigmoid router with correction bias and
        // groups, normalised and scaled weights, YaRN) and V2-Lite-like (plain queries, softmax router), each in the
        // current split k_b/v_b layout and, with "+kvb", in the older single attn_kv_b layout
        { "deepseek2-v3", "F32", "deepseek_v3" },
        { "deepseek2-v3", "F32", "deepseek_v3+kvb" },
        { "deepseek2-v3", "Q8_0", "deepseek_v3" },
        { "deepseek2-v3", "Q8_0", "qwen3+kvb" },
        { "deepseek2-lite", "F32", "deepseek_v3" },
        { "deepseek2-lite", "F32", "llama3_1+kvb" },
        { "deepseek2-lite", "Q8_0", "deepseek_v3" },
        { "deepseek2-lite", "Q8_0", "deepseek_v3+kvb" },
    };

    internal static TinyModelOptions Options(string arch, string type, string variant)
    {
        string[] parts = variant.Split('+');
        if (arch.StartsWith("deepseek2", StringComparison.Ordinal))
        {
            var preset = arch == "deepseek2-v3" ? TinyDeepSeek2.V3Like : TinyDeepSeek2.V2LiteLike;
            return TinyDeepSeek2.Options(preset, splitKvB: !parts.Contains("kvb"), Enum.Parse<GgmlType>(type), seed: arch.Length * 31 + type.Length)
                with { Tokenizer = RealTokenizers.ByName(parts[0]) };
        }
        bool wide = type is "F32" or "Q8_0"; // vary the shape: dim 128 with 8 heads over 2 kv heads, or dim 64 with 4 over 2
        return new TinyModelOptions
        {
            Architecture = arch switch
            {
                "llama" => TinyArchitecture.Llama, "qwen2" => TinyArchitecture.Qwen2, "qwen3" => TinyArchitecture.Qwen3, _ => TinyArchitecture.Qwen3Moe,
            },
            ExplicitHeadDim = arch.StartsWith("qwen3", StringComparison.Ordinal) ? 32 : 0,
            WeightType = Enum.Parse<GgmlType>(type),
            Tokenizer = RealTokenizers.ByName(parts[0]),
            TiedOutput = parts.Contains("tied"),
            Llama3Scaling = parts.Contains("rope-scaling") ? new Llama3RopeScaling(OriginalContextLength: 32) : null,
            Dim = wide ? 128 : 64,
            Heads = wide ? 8 : 4,
            KvHeads = 2,
            FfnDim = wide ? 256 : 160,
            Layers = wide ? 2 : 3,
            ContextLength = ContextLength,
            Seed = arch.Length * 31 + type.Length,
        };
    }

    internal static string Prompt => string.Join(" ", Enumerable.Repeat(
        "The quick brown fox jumps over the lazy dog near the riverbank, while 42 curious ducks watch quietly.", 4));

    [Theory]
    [MemberData(nameof(Cases))]
    public void FinalLogitsMatchLlamaCpp(string arch, string type, string variant)
    {
        string path = TinyModelBuilder.GetOrBuild(Options(arch, type, variant));
        using var reference = LlamaCpp.Load(path, ContextLength);
        int[] prompt = reference.Tokenize(Prompt, addSpecial: true, parseSpecial: false);
        prompt = prompt[..Math.Min(prompt.Length, 160)];
        Assert.True(prompt.Length >= 64, $"prompt has {prompt.Length} tokens, want at least 64");

        var (ours, theirs, maxDiff, maxAbs) = LlamaCppComparison.FinalLogits(path, reference, prompt, ContextLength);
        output.WriteLine($"{arch} {type} {variant}: {prompt.Length} prompt tokens, max |logit diff| = {maxDiff:E2} (max |logit| {maxAbs:F2})");
        Assert.True(maxDiff <= LogitBound(type), $"max logit difference {maxDiff:E3} exceeds {LogitBound(type):E0} for {type}");
        if (type == "F32")
            Assert.Equal(LlamaCpp.ArgMax(theirs), LlamaCpp.ArgMax(ours));
    }

    /// <summary>
    /// How far our final logits may be from llama.cpp's. F32: 1e-3, the bound (we measure about 1e-6).
    /// The other types round each activation row to the weight's dot type (F16, BF16, Q8_0) before every matmul, as
    /// llama.cpp does; that rounding is a step function, so a last-bit difference in an activation (summation order,
    /// exp implementation) occasionally moves a value by a whole F16/BF16 ulp or Q8_0 quantum, and the difference then
    /// propagates. The bounds are a few such steps at logits of magnitude about 5: 2^-11 and 2^-8 relative for F16 and BF16,
    /// 1/127 of the block maximum for Q8_0, plus the weight error of 4-bit weights.
    /// </summary>
    private static float LogitBound(string type) => type switch
    {
        "F32" => 1e-3f,
        "F16" => 1e-2f,
        "BF16" => 5e-2f,
        _ => 1e-1f,
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void GreedyContinuationMatchesLlamaCpp(string arch, string type, string variant)
    {
        const int n = 32;
        string path = TinyModelBuilder.GetOrBuild(Options(arch, type, variant));
        using var reference = LlamaCpp.Load(path, ContextLength);
        int[] prompt = reference.Tokenize("Once upon a time, in a small village by the sea,", addSpecial: true, parseSpecial: false);
        var (ours, theirs, agree, margin) = LlamaCppComparison.GreedyContinuation(path, reference, prompt, n, ContextLength);
        if (agree == n || type is "F32" or "F16")
        {
            output.WriteLine($"{arch} {type} {variant}: greedy agrees on {agree}/{n} tokens; distinct tokens {theirs.Distinct().Count()}");
            Assert.Equal(theirs, ours);
            return;
        }
        // Other types may part ways only where llama.cpp itself nearly ties: its logit for its own choice must exceed
        // its logit for ours by less than the logit bound of the type.
        output.WriteLine($"{arch} {type} {variant}: greedy agrees on {agree}/{n} tokens, then llama.cpp's margin between the two choices is {margin:E2}");
        Assert.InRange(margin!.Value, 0f, LogitBound(type));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PerplexityMatchesLlamaCpp(string arch, string type, string variant)
    {
        const int chunk = 128;
        string path = TinyModelBuilder.GetOrBuild(Options(arch, type, variant));
        using var reference = LlamaCpp.Load(path, ContextLength);
        string text = File.ReadAllText(Path.Combine(RealTokenizers.RepoRoot(), "tests", "data", "perplexity.txt"));
        int[] tokens = reference.Tokenize(text, addSpecial: true, parseSpecial: false);
        var (ours, theirs) = LlamaCppComparison.Perplexity(path, reference, tokens, chunk);

        double ratio = ours.Value / theirs.Value;
        output.WriteLine($"{arch} {type} {variant}: {text.Length} chars, {tokens.Length} tokens, ppl ours {ours.Value:F6} llama.cpp {theirs.Value:F6} ratio {ratio:F7} ({ours.TokensScored} scored)");
        Assert.Equal(theirs.Chunks, ours.Chunks);
        Assert.Equal(theirs.TokensScored, ours.TokensScored);
        double tolerance = type is "F32" or "F16" or "BF16" ? 0.001 : 0.01;
        Assert.InRange(ratio, 1 - tolerance, 1 + tolerance);
    }
}

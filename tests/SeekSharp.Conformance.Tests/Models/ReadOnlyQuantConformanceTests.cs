using SeekSharp.Conformance.Tests.Oracle;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Gguf;
using SeekSharp.Kernels;
using Xunit.Abstractions;

namespace SeekSharp.Conformance.Tests.Models;

/// <summary>
/// The low-bit and non-linear types (Q2_K, Q3_K, IQ4_NL, IQ4_XS) in files llama.cpp's own quantizer made from our F32
/// tiny models with its whole-file mixes (no importance matrix): SeekSharp must load them and give llama.cpp's logits,
/// greedy tokens and perplexity. The mixes put other types on some tensors too (output Q6_K, attn_v and ffn_down a step
/// up), as they do in the files people download. (The class name is from when SeekSharp could only read these types.)
/// </summary>
public class ReadOnlyQuantConformanceTests(ITestOutputHelper output)
{
    private const int ContextLength = 256;

    public static TheoryData<string, string, string> Cases()
    {
        // architecture, llama.cpp file type, the read-only type the file must hold
        var all = new (string Arch, string Ftype, GgmlType Type)[]
        {
            ("llama", "MOSTLY_Q2_K", GgmlType.Q2_K),
            ("qwen2", "MOSTLY_Q3_K_M", GgmlType.Q3_K),
            ("llama", "MOSTLY_IQ4_NL", GgmlType.IQ4_NL),
            ("qwen2", "MOSTLY_IQ4_XS", GgmlType.IQ4_XS),
        };
        var data = new TheoryData<string, string, string>();
        foreach (var c in all)
        {
            data.Add(c.Arch, c.Ftype, c.Type.ToString());
        }
        return data;
    }

    /// <summary>Widths that are multiples of 256, so the K and IQ4_XS super-blocks apply without llama.cpp's fallbacks.</summary>
    internal static TinyModelOptions Source(string arch) => new()
    {
        Architecture = arch == "llama" ? TinyArchitecture.Llama : TinyArchitecture.Qwen2,
        WeightType = GgmlType.F32,
        Tokenizer = TinyTokenizer.SyntheticPadded(1024),
        Dim = 256,
        Heads = 4,
        KvHeads = 2,
        FfnDim = 512,
        Layers = 2,
        ContextLength = ContextLength,
        Seed = 71 + arch.Length,
    };

    /// <summary>
    /// As for the other quantized types: a few activation quanta (1/127 of a block's maximum), which a last-bit
    /// difference upstream can flip, at logits of magnitude about 5.
    /// </summary>
    private const float LogitBound = 1e-1f;

    private string Quantized(string arch, string ftype, string type)
    {
        string path = LlamaQuantized.GetOrQuantize(TinyModelBuilder.GetOrBuild(Source(arch)), ftype);
        using var file = GgufFile.Open(path);
        output.WriteLine($"{arch} {ftype}: {string.Join(", ", file.Tensors.GroupBy(t => t.Type).OrderBy(g => g.Key).Select(g => $"{g.Key} x{g.Count()}"))}");
        Assert.Contains(file.Tensors, t => t.Type == Enum.Parse<GgmlType>(type));
        return path;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FinalLogitsMatchLlamaCpp(string arch, string ftype, string type)
    {
        string path = Quantized(arch, ftype, type);
        using var reference = LlamaCpp.Load(path, ContextLength);
        int[] prompt = reference.Tokenize(ModelConformanceTests.Prompt, addSpecial: true, parseSpecial: false)[..160];
        var (_, _, maxDiff, maxAbs) = LlamaCppComparison.FinalLogits(path, reference, prompt, ContextLength);
        output.WriteLine($"{arch} {ftype}: {prompt.Length} prompt tokens, max |logit diff| = {maxDiff:E2} (max |logit| {maxAbs:F2})");
        Assert.True(maxDiff <= LogitBound, $"max logit difference {maxDiff:E3} exceeds {LogitBound:E0} for {ftype}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GreedyContinuationMatchesLlamaCpp(string arch, string ftype, string type)
    {
        const int n = 32;
        string path = Quantized(arch, ftype, type);
        using var reference = LlamaCpp.Load(path, ContextLength);
        int[] prompt = reference.Tokenize("Once upon a time, in a small village by the sea,", addSpecial: true, parseSpecial: false);
        var (_, theirs, agree, margin) = LlamaCppComparison.GreedyContinuation(path, reference, prompt, n, ContextLength);
        output.WriteLine($"{arch} {ftype}: greedy agrees on {agree}/{n} tokens; distinct tokens {theirs.Distinct().Count()}");
        if (agree < n)
        {
            // We may part ways only where llama.cpp itself nearly ties.
            Assert.InRange(margin!.Value, 0f, LogitBound);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PerplexityMatchesLlamaCpp(string arch, string ftype, string type)
    {
        const int chunk = 128;
        string path = Quantized(arch, ftype, type);
        using var reference = LlamaCpp.Load(path, ContextLength);
        string text = File.ReadAllText(Path.Combine(RealTokenizers.RepoRoot(), "tests", "data", "perplexity.txt"));
        int[] tokens = reference.Tokenize(text, addSpecial: true, parseSpecial: false);
        tokens = tokens[..Math.Min(tokens.Length, 4 * chunk)];
        var (ours, theirs) = LlamaCppComparison.Perplexity(path, reference, tokens, chunk);
        double ratio = ours.Value / theirs.Value;
        output.WriteLine($"{arch} {ftype}: ppl ours {ours.Value:F6} llama.cpp {theirs.Value:F6} ratio {ratio:F7} ({ours.TokensScored} scored)");
        Assert.Equal(theirs.TokensScored, ours.TokensScored);
        Assert.InRange(ratio, 0.99, 1.01);
    }
}

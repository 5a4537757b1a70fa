using LLama;
using LLama.Native;
using SeekSharp.Conformance.Tests.Oracle;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Gguf;
using SeekSharp.Inference;
using SeekSharp.Kernels;
using SeekSharp.Models;
using Xunit.Abstractions;

namespace SeekSharp.Conformance.Tests.Models;

/// <summary>
/// The K-quants (Q4_K, Q5_K, Q6_K) against llama.cpp: files written by our quantizer load in llama.cpp and give the
/// same logits, greedy text and perplexity in both engines; and our quantizer writes the same bytes as llama.cpp's
/// own (llama_model_quantize) for the same F32 weights.
/// </summary>
public class KQuantConformanceTests(ITestOutputHelper output)
{
    private const int ContextLength = 256;

    public static TheoryData<string, string> Cases => new()
    {
        // architecture, weight type
        { "llama", "Q4_K" },
        { "qwen2", "Q5_K" },
        { "llama", "Q6_K" },
    };

    /// <summary>
    /// K-quant rows are super-blocks of 256, so every weight input width (dim, nh·hd, ff) must be a multiple of 256.
    /// The synthetic byte-level vocab, padded, keeps token_embd and output small enough to quantize quickly.
    /// </summary>
    private static TinyModelOptions Options(string arch, GgmlType type) => new()
    {
        Architecture = arch == "llama" ? TinyArchitecture.Llama : TinyArchitecture.Qwen2,
        WeightType = type,
        Tokenizer = TinyTokenizer.SyntheticPadded(1024),
        Dim = 256,
        Heads = 4,
        KvHeads = 2,
        FfnDim = 512,
        Layers = 2,
        ContextLength = ContextLength,
        Seed = 11 + (int)type,
    };

    /// <summary>
    /// A few quantization steps at logits of magnitude about 5: the Q8_K activation quantum (1/127 of a 256-block's
    /// maximum) can flip on a last-bit difference upstream, as for Q8_0 in <see cref="ModelConformanceTests"/>.
    /// </summary>
    private const float LogitBound = 1e-1f;

    [Theory]
    [MemberData(nameof(Cases))]
    public void FinalLogitsMatchLlamaCpp(string arch, string type)
    {
        string path = TinyModelBuilder.GetOrBuild(Options(arch, Enum.Parse<GgmlType>(type)));
        using var reference = LlamaCpp.Load(path, ContextLength);
        int[] prompt = reference.Tokenize(ModelConformanceTests.Prompt, addSpecial: true, parseSpecial: false)[..160];

        var (_, _, maxDiff, maxAbs) = LlamaCppComparison.FinalLogits(path, reference, prompt, ContextLength);
        output.WriteLine($"{arch} {type}: {prompt.Length} prompt tokens, max |logit diff| = {maxDiff:E2} (max |logit| {maxAbs:F2})");
        Assert.True(maxDiff <= LogitBound, $"max logit difference {maxDiff:E3} exceeds {LogitBound:E0} for {type}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GreedyContinuationMatchesLlamaCpp(string arch, string type)
    {
        const int n = 32;
        string path = TinyModelBuilder.GetOrBuild(Options(arch, Enum.Parse<GgmlType>(type)));
        using var reference = LlamaCpp.Load(path, ContextLength);
        int[] prompt = reference.Tokenize("Once upon a time, in a small village by the sea,", addSpecial: true, parseSpecial: false);
        var (_, theirs, agree, margin) = LlamaCppComparison.GreedyContinuation(path, reference, prompt, n, ContextLength);
        if (agree == n)
        {
            output.WriteLine($"{arch} {type}: greedy agrees on {n}/{n} tokens; distinct tokens {theirs.Distinct().Count()}");
            return;
        }
        // We may part ways only where llama.cpp itself nearly ties.
        output.WriteLine($"{arch} {type}: greedy agrees on {agree}/{n} tokens, then llama.cpp's margin between the two choices is {margin:E2}");
        Assert.InRange(margin!.Value, 0f, LogitBound);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PerplexityMatchesLlamaCpp(string arch, string type)
    {
        const int chunk = 128;
        string path = TinyModelBuilder.GetOrBuild(Options(arch, Enum.Parse<GgmlType>(type)));
        using var reference = LlamaCpp.Load(path, ContextLength);
        string text = File.ReadAllText(Path.Combine(RealTokenizers.RepoRoot(), "tests", "data", "perplexity.txt"));
        int[] tokens = reference.Tokenize(text, addSpecial: true, parseSpecial: false);
        tokens = tokens[..Math.Min(tokens.Length, 4 * chunk)];
        var (ours, theirs) = LlamaCppComparison.Perplexity(path, reference, tokens, chunk);

        double ratio = ours.Value / theirs.Value;
        output.WriteLine($"{arch} {type}: {tokens.Length} tokens, ppl ours {ours.Value:F6} llama.cpp {theirs.Value:F6} ratio {ratio:F7} ({ours.TokensScored} scored)");
        Assert.Equal(theirs.TokensScored, ours.TokensScored);
        Assert.InRange(ratio, 0.99, 1.01);
    }

    public static TheoryData<string> Recipes => new() { "MOSTLY_Q4_K_M", "MOSTLY_Q5_K_M" };

    /// <summary>
    /// llama.cpp quantizes an F32 model with its own recipe (no importance matrix, so quantize_q*_K falls back to
    /// quantize_row_q*_K_ref); every tensor it wrote as Q4_K, Q5_K or Q6_K must equal our encoding of the same F32
    /// values byte for byte. The recipes mix types per tensor (Q6_K for output and some attn_v / ffn_down).
    /// </summary>
    [Theory]
    [MemberData(nameof(Recipes))]
    public void QuantizerIsBitExactWithLlamaCpp(string recipe)
    {
        string source = TinyModelBuilder.GetOrBuild(Options("llama", GgmlType.F32) with { Seed = 5, Layers = 3 });
        string quantized = Path.Combine(Path.GetDirectoryName(source)!, $"{Path.GetFileNameWithoutExtension(source)}-{recipe}.gguf");
        LlamaCpp.NativeLog.EnsureInitialized();
        Assert.True(LLamaQuantizer.Quantize(source, quantized, Enum.Parse<LLamaFtype>(recipe), nthread: 2, allowRequantize: false, quantizeOutputTensor: true),
            $"llama.cpp failed to quantize {source} with {recipe}.{LlamaCpp.NativeLog.RecentErrors()}");

        using var f32 = GgufFile.Open(source);
        using var theirs = GgufFile.Open(quantized);
        var compared = new Dictionary<GgmlType, int>();
        foreach (GgufTensorInfo t in theirs.Tensors)
        {
            if (t.Type is not (GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K))
                continue;
            GgufTensorInfo src = f32.GetTensor(t.Name);
            Assert.Equal(GgmlType.F32, src.Type);
            float[] values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(f32.GetTensorBytes(src)).ToArray();
            byte[] ours = new byte[t.ByteSize];
            TensorTypes.Quantize(t.Type, values, ours);
            ReadOnlySpan<byte> expected = theirs.GetTensorBytes(t);
            int blockBytes = TensorTypes.BlockBytes(t.Type);
            int firstBad = FirstDifference(expected, ours);
            Assert.True(firstBad < 0,
                $"{t.Name} ({t.Type}): first difference at byte {firstBad} (block {firstBad / blockBytes}, byte {firstBad % blockBytes} within it) " +
                $"of {ours.Length}; {CountDifferentBlocks(expected, ours, blockBytes)} of {ours.Length / blockBytes} blocks differ");
            compared[t.Type] = compared.GetValueOrDefault(t.Type) + 1;
        }
        output.WriteLine($"{recipe}: identical tensors {string.Join(", ", compared.Select(kv => $"{kv.Key} x{kv.Value}"))}");
        Assert.Contains(GgmlType.Q6_K, compared.Keys);
        Assert.Contains(recipe == "MOSTLY_Q4_K_M" ? GgmlType.Q4_K : GgmlType.Q5_K, compared.Keys);
    }

    private static int FirstDifference(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        int common = a.CommonPrefixLength(b);
        return common == a.Length && a.Length == b.Length ? -1 : common;
    }

    private static int CountDifferentBlocks(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, int blockBytes)
    {
        int count = 0;
        for (int i = 0; i + blockBytes <= a.Length; i += blockBytes)
            if (!a.Slice(i, blockBytes).SequenceEqual(b.Slice(i, blockBytes)))
                count++;
        return count;
    }
}

using LLama;
using LLama.Native;
using SeekSharp.Conformance.Tests.Oracle;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Gguf;
using SeekSharp.Kernels;
using Xunit.Abstractions;

namespace SeekSharp.Conformance.Tests.Models;

/// <summary>
/// Q5_0, Q5_1 and Q4_1 against llama.cpp, in files that llama.cpp's own quantizer (llama_model_quantize) wrote from
/// our F32 tiny models: the whole-file mixes MOSTLY_Q5_0 / Q5_1 / Q4_1, and the K mixes on a tiny deepseek2 whose
/// rows of 128 are not whole 256-blocks, so llama.cpp falls back as it does for DeepSeek's attn_k_b (Q4_K → Q5_0,
/// Q5_K → Q5_1, Q6_K → Q8_0). SeekSharp must load them and give llama.cpp's logits, and our reference quantizers must
/// write the bytes llama.cpp wrote.
/// </summary>
public class LegacyQuantConformanceTests(ITestOutputHelper output)
{
    private const int ContextLength = 256;

    public static TheoryData<string, string> Cases => new()
    {
        // architecture, llama.cpp file type
        { "llama", "MOSTLY_Q5_0" },
        { "qwen2", "MOSTLY_Q5_1" },
        { "llama", "MOSTLY_Q4_1" },
        { "deepseek2-lite", "MOSTLY_Q4_K_M" },
        { "deepseek2-v3", "MOSTLY_Q5_K_M" },
    };

    /// <summary>
    /// The F32 source. Input widths are multiples of 32 (not of 256, so the output projection takes llama.cpp's Q8_0
    /// fallback too); the synthetic byte-level vocab, padded, keeps token_embd and output small.
    /// </summary>
    private static TinyModelOptions Source(string arch) => arch switch
    {
        "deepseek2-lite" => TinyDeepSeek2.Options(TinyDeepSeek2.V2LiteLike, splitKvB: true, GgmlType.F32, seed: 41)
            with { Tokenizer = TinyTokenizer.SyntheticPadded(1024) },
        "deepseek2-v3" => TinyDeepSeek2.Options(TinyDeepSeek2.V3Like, splitKvB: true, GgmlType.F32, seed: 42)
            with { Tokenizer = TinyTokenizer.SyntheticPadded(1024) },
        _ => new TinyModelOptions
        {
            Architecture = arch == "llama" ? TinyArchitecture.Llama : TinyArchitecture.Qwen2,
            WeightType = GgmlType.F32,
            Tokenizer = TinyTokenizer.SyntheticPadded(1024),
            Dim = 128,
            Heads = 4,
            KvHeads = 2,
            FfnDim = 352,
            Layers = 2,
            ContextLength = ContextLength,
            Seed = 43 + arch.Length,
        },
    };

    /// <summary>The source quantized by llama.cpp with <paramref name="ftype"/>, written next to it once.</summary>
    private static (string Source, string Quantized) Quantized(string arch, string ftype)
    {
        string source = TinyModelBuilder.GetOrBuild(Source(arch));
        return (source, LlamaQuantized.GetOrQuantize(source, ftype));
    }

    private static readonly GgmlType[] Legacy = [GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q4_1];

    /// <summary>
    /// As for Q8_0 in <see cref="ModelConformanceTests"/>: a few activation quanta (1/127 of a 32-block's maximum),
    /// which a last-bit difference upstream can flip, at logits of magnitude about 5, plus the weight error of 4- and
    /// 5-bit weights.
    /// </summary>
    private const float LogitBound = 1e-1f;

    [Theory]
    [MemberData(nameof(Cases))]
    public void FinalLogitsMatchLlamaCpp(string arch, string ftype)
    {
        var (_, path) = Quantized(arch, ftype);
        using (var file = GgufFile.Open(path))
        {
            var types = file.Tensors.GroupBy(t => t.Type).OrderBy(g => g.Key).Select(g => $"{g.Key} x{g.Count()}");
            output.WriteLine($"{arch} {ftype}: {string.Join(", ", types)}");
            Assert.Contains(file.Tensors, t => Legacy.Contains(t.Type));
        }
        using var reference = LlamaCpp.Load(path, ContextLength);
        int[] prompt = reference.Tokenize(ModelConformanceTests.Prompt, addSpecial: true, parseSpecial: false)[..160];

        var (_, _, maxDiff, maxAbs) = LlamaCppComparison.FinalLogits(path, reference, prompt, ContextLength);
        output.WriteLine($"{arch} {ftype}: {prompt.Length} prompt tokens, max |logit diff| = {maxDiff:E2} (max |logit| {maxAbs:F2})");
        Assert.True(maxDiff <= LogitBound, $"max logit difference {maxDiff:E3} exceeds {LogitBound:E0} for {ftype}");
    }

    /// <summary>
    /// llama.cpp quantizes without an importance matrix, so quantize_q5_0 / q5_1 / q4_1 run quantize_row_*_ref; every
    /// tensor it wrote in these types must equal our encoding of the same F32 values byte for byte.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void QuantizerIsBitExactWithLlamaCpp(string arch, string ftype)
    {
        var (source, quantized) = Quantized(arch, ftype);
        using var f32 = GgufFile.Open(source);
        using var theirs = GgufFile.Open(quantized);
        var compared = new Dictionary<GgmlType, int>();
        foreach (GgufTensorInfo t in theirs.Tensors)
        {
            if (!Legacy.Contains(t.Type))
                continue;
            GgufTensorInfo src = f32.GetTensor(t.Name);
            Assert.Equal(GgmlType.F32, src.Type);
            float[] values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(f32.GetTensorBytes(src)).ToArray();
            byte[] ours = new byte[t.ByteSize];
            TensorTypes.Quantize(t.Type, values, ours);
            ReadOnlySpan<byte> expected = theirs.GetTensorBytes(t);
            int common = expected.CommonPrefixLength(ours);
            int blockBytes = TensorTypes.BlockBytes(t.Type);
            Assert.True(common == expected.Length && expected.Length == ours.Length,
                $"{t.Name} ({t.Type}): first difference at byte {common} (block {common / blockBytes}, byte {common % blockBytes} within it) of {ours.Length}");
            compared[t.Type] = compared.GetValueOrDefault(t.Type) + 1;
        }
        output.WriteLine($"{arch} {ftype}: identical tensors {string.Join(", ", compared.Select(kv => $"{kv.Key} x{kv.Value}"))}");
        Assert.NotEmpty(compared);
    }
}

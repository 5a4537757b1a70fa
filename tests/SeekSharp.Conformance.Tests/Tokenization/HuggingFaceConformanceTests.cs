using SeekSharp.Tokenization;
using Xunit.Abstractions;
using HfTokenizer = Tokenizers.DotNet.Tokenizer;

namespace SeekSharp.Conformance.Tests.Tokenization;

/// <summary>Our tokenizer, loaded from tokenizer.json, against Hugging Face tokenizers (Rust, via Tokenizers.DotNet) on the same file.</summary>
public sealed class HuggingFaceConformanceTests(ITestOutputHelper output)
{
    public static TheoryData<string> Names => [.. TokenizerTestData.Names];

    [Theory]
    [MemberData(nameof(Names))]
    public void Encode_MatchesHuggingFace_OnCorpusAndAddedTokens(string name)
    {
        using var hf = new HfTokenizer(TokenizerTestData.TokenizerJson(name));
        var ours = Tokenizer.FromHuggingFace(TokenizerTestData.TokenizerJson(name), TokenizerTestData.TokenizerConfig(name));

        // Tokenizers.DotNet encodes with add_special_tokens; what it adds comes from the tokenizer.json
        // post-processor alone (Llama 3's template adds BOS; DeepSeek's BOS comes from Python-side config).
        bool hfAddsBos = hf.Encode("").Length > 0;
        Assert.True(!hfAddsBos || ours.AddBos, "Hugging Face adds BOS but the tokenizer does not.");

        var inputs = TokenizerTestData.CorpusInputs();
        inputs.AddRange(TokenizerTestData.AddedTokenInputs(name));

        int matched = 0;
        string? firstMismatch = null;
        foreach (var text in inputs)
        {
            int[] expected = [.. hf.Encode(text).Select(id => (int)id)];
            // Hugging Face always extracts added tokens, special or not: that is parseSpecial.
            int[] actual = ours.Encode(text, addSpecial: hfAddsBos, parseSpecial: true);
            if (expected.AsSpan().SequenceEqual(actual)) matched++;
            else firstMismatch ??= $"input  \"{TokenizerTestData.Escape(text)}\"\n  hf   {TokenizerTestData.Show(expected)}\n  ours {TokenizerTestData.Show(actual)}";
        }
        output.WriteLine($"{name}: vs Hugging Face {matched}/{inputs.Count} inputs match");
        Assert.True(firstMismatch is null, $"{name}: {inputs.Count - matched} of {inputs.Count} differ; first:\n{firstMismatch}");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void StreamingDecode_MatchesHuggingFaceDecode(string name)
    {
        using var hf = new HfTokenizer(TokenizerTestData.TokenizerJson(name));
        var ours = Tokenizer.FromHuggingFace(TokenizerTestData.TokenizerJson(name), TokenizerTestData.TokenizerConfig(name));
        int compared = 0, matched = 0;
        string? firstMismatch = null;
        foreach (var text in TokenizerTestData.CorpusInputs())
        {
            var ids = ours.Encode(text, addSpecial: false);
            string expected = hf.Decode([.. ids.Select(i => (uint)i)]);
            // Decode applies llama.cpp's space clean-up for Llama 3; the streaming concatenation does not.
            var stream = ours.CreateStreamingDecoder();
            string actual = string.Concat(ids.Select(stream.Append)) + stream.Flush();
            compared++;
            if (expected == actual) matched++;
            else firstMismatch ??= $"input \"{TokenizerTestData.Escape(text)}\"\n  hf   \"{TokenizerTestData.Escape(expected)}\"\n  ours \"{TokenizerTestData.Escape(actual)}\"";
        }
        output.WriteLine($"{name}: streaming decode vs Hugging Face decode {matched}/{compared}");
        Assert.True(firstMismatch is null, firstMismatch);
    }
}

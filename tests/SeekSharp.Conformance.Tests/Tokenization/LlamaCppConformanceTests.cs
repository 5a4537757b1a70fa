using SeekSharp.Tokenization;
using Xunit.Abstractions;

namespace SeekSharp.Conformance.Tests.Tokenization;

/// <summary>
/// Our tokenizer, loaded from a GGUF written by <see cref="HuggingFaceGgufConverter"/>, against llama.cpp
/// (LLamaSharp's native build) loading the same file.
/// </summary>
public sealed class LlamaCppConformanceTests(ITestOutputHelper output)
{
    public static TheoryData<string> Names => [.. TokenizerTestData.Names];

    [Theory]
    [MemberData(nameof(Names))]
    public void Encode_MatchesLlamaCpp_WithAndWithoutSpecialParsing(string name)
    {
        using var llama = LlamaCppVocab.Create(name, w =>
            HuggingFaceGgufConverter.AddTokenizerMetadata(w, TokenizerTestData.TokenizerJson(name), TokenizerTestData.TokenizerConfig(name)));
        var ours = llama.OurTokenizer();

        var inputs = TokenizerTestData.CorpusInputs();
        inputs.AddRange(TokenizerTestData.AddedTokenInputs(name));
        inputs.Add("");

        int compared = 0, matched = 0;
        string? firstMismatch = null;
        foreach (var text in inputs)
            foreach (bool parseSpecial in (bool[])[false, true])
                foreach (bool addSpecial in (bool[])[false, true])
                {
                    // One add_special variant suffices for most inputs; keep both for the added-token lines.
                    if (!addSpecial && text.Length > 200) continue;
                    int[] expected = llama.Tokenize(text, addSpecial, parseSpecial);
                    int[] actual = ours.Encode(text, addSpecial, parseSpecial);
                    compared++;
                    if (expected.AsSpan().SequenceEqual(actual)) matched++;
                    else firstMismatch ??= $"input \"{TokenizerTestData.Escape(text)}\" addSpecial={addSpecial} parseSpecial={parseSpecial}\n  llama.cpp {TokenizerTestData.Show(expected)}\n  ours      {TokenizerTestData.Show(actual)}";
                }
        output.WriteLine($"{name}: vs llama.cpp {matched}/{compared} encodings match ({inputs.Count} inputs, parse_special both ways)");
        Assert.True(firstMismatch is null, $"{name}: {compared - matched} of {compared} differ; first:\n{firstMismatch}");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Vocabulary_MatchesLlamaCpp(string name)
    {
        using var llama = LlamaCppVocab.Create(name, w =>
            HuggingFaceGgufConverter.AddTokenizerMetadata(w, TokenizerTestData.TokenizerJson(name), TokenizerTestData.TokenizerConfig(name)));
        var ours = llama.OurTokenizer();
        var vocab = llama.Weights.Vocab;

        Assert.Equal(vocab.Count, ours.VocabSize);
        Assert.Equal(vocab.BOS is { } b ? (int)b : null, ours.BosId);
        Assert.Equal(vocab.EOS is { } e ? (int)e : null, ours.EosId);
        Assert.Equal(vocab.ShouldAddBOS, ours.AddBos);
        Assert.Equal(vocab.ShouldAddEOS, ours.AddEos);
        if (vocab.EOT is { } eot) Assert.True(ours.IsEndOfGeneration((int)eot), $"EOT {(int)eot} is not end-of-generation");

        // Every token's rendering, with and without special tokens.
        int mismatches = 0;
        string? first = null;
        var buffer = new byte[1024];
        for (int id = 0; id < ours.VocabSize; id++)
            foreach (bool special in (bool[])[false, true])
            {
                int n = (int)llama.Weights.NativeHandle.TokenToSpan((LLama.Native.LLamaToken)id, buffer, 0, special);
                var expected = buffer.AsSpan(0, n);
                var actual = ours.Piece(id, renderSpecial: special);
                if (!expected.SequenceEqual(actual)) { mismatches++; first ??= $"id {id} special={special}: llama.cpp {Convert.ToHexString(expected)} ours {Convert.ToHexString(actual)}"; }
            }
        output.WriteLine($"{name}: token pieces vs llama.cpp {2 * ours.VocabSize - mismatches}/{2 * ours.VocabSize}");
        Assert.True(first is null, first);
    }
}

using SeekSharp.Conformance.Tests.Tokenization;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Gguf;
using SeekSharp.Kernels;
using SeekSharp.Tokenization;

namespace SeekSharp.Conformance.Tests.Oracle;

/// <summary>
/// Tiny models carrying the real tokenizers (converted by <see cref="HuggingFaceGgufConverter"/>): llama.cpp loads
/// them, and its tokenization of the test corpus is the reference SeekSharp's GGUF tokenizer must reproduce.
/// </summary>
public sealed class LlamaCppRealTokenizerTests
{
    public static TheoryData<string, TinyArchitecture> Tokenizers => new()
    {
        { "qwen3", TinyArchitecture.Qwen2 },
        { "llama3_1", TinyArchitecture.Llama },
        { "deepseek_v3", TinyArchitecture.Llama },
    };

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void ModelWithRealTokenizerLoadsAndEvaluates(string name, TinyArchitecture arch)
    {
        string path = TinyModelBuilder.GetOrBuild(Options(name, arch));
        var reference = Tokenizer.FromHuggingFace(TokenizerTestData.TokenizerJson(name), TokenizerTestData.TokenizerConfig(name));
        using var llama = LlamaCpp.Load(path);
        var prompt = llama.Tokenize(TokenizerTestData.CorpusFiles[0].Text, addSpecial: true, parseSpecial: false)[..64];

        var logits = llama.LastLogits(prompt);

        Assert.Equal(reference.VocabSize, llama.VocabSize);
        Assert.Equal(reference.EosId, llama.EosId);
        Assert.Equal(reference.AddBos, llama.AddBos);
        // Without tokenizer.ggml.bos_token_id (Qwen3 has no BOS), llama.cpp still reports its BPE default id 11;
        // that id is never used because add_bos is false, so BOS ids are compared only where BOS is added.
        if (reference.AddBos)
            Assert.Equal(reference.BosId, llama.BosId);
        Assert.Equal(llama.VocabSize, logits.Length);
        Assert.All(logits, v => Assert.True(float.IsFinite(v)));
    }

    [Theory]
    [MemberData(nameof(Tokenizers))]
    public void SeekSharpTokenizesTheCorpusLikeLlamaCpp(string name, TinyArchitecture arch)
    {
        string path = TinyModelBuilder.GetOrBuild(Options(name, arch));
        using var llama = LlamaCpp.LoadVocabOnly(path);
        using var gguf = GgufFile.Open(path);
        var ours = Tokenizer.FromGguf(gguf);

        var mismatches = new List<string>();
        foreach (var text in TokenizerTestData.CorpusInputs())
        {
            var expected = llama.Tokenize(text, addSpecial: true, parseSpecial: false);
            var actual = ours.Encode(text, addSpecial: true, parseSpecial: false);
            if (!expected.SequenceEqual(actual))
                mismatches.Add($"\"{TokenizerTestData.Escape(text)}\": llama.cpp {TokenizerTestData.Show(expected)} SeekSharp {TokenizerTestData.Show(actual)}");
        }

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} mismatches, first: {string.Join(Environment.NewLine, mismatches.Take(3))}");
    }

    // Q8_0 with a tied output keeps a 130k-150k token model near 10 MB.
    private static TinyModelOptions Options(string name, TinyArchitecture arch) => new()
    {
        Architecture = arch,
        WeightType = GgmlType.Q8_0,
        TiedOutput = true,
        Tokenizer = TinyTokenizer.FromHuggingFace(TokenizerTestData.TokenizerJson(name), TokenizerTestData.TokenizerConfig(name)),
    };
}

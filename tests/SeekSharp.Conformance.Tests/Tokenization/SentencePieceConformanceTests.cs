using SeekSharp.Gguf;
using Xunit.Abstractions;

namespace SeekSharp.Conformance.Tests.Tokenization;

/// <summary>
/// SentencePiece-style BPE (tokenizer.ggml.model = llama) against llama.cpp. No real SPM vocabulary is
/// available offline, so the test builds one from the English corpus: byte tokens, single characters and
/// every 2-5 character substring of frequent words (with the U+2581 word marker), scored by frequency so
/// that merge order, score ties, byte fallback and the space prefix all matter.
/// </summary>
public sealed class SentencePieceConformanceTests(ITestOutputHelper output)
{
    const char Space = '\u2581';

    static (string[] Tokens, float[] Scores, int[] Types) BuildVocabulary()
    {
        var tokens = new List<string> { "<unk>", "<s>", "</s>" };
        var types = new List<int> { 2, 3, 3 };
        for (int b = 0; b < 256; b++) { tokens.Add($"<0x{b:X2}>"); types.Add(6); }
        tokens.Add("<|ctl|>"); types.Add(3);      // control: only with parse_special
        tokens.Add("<tool>"); types.Add(4);       // user-defined: always recognised

        string english = TokenizerTestData.CorpusFiles.First(f => f.File == "english.txt").Text;
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var word in english.Split([' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries))
        {
            string w = Space + word;
            for (int len = 1; len <= 5; len++)
                for (int i = 0; i + len <= w.Length; i++)
                    counts[w.Substring(i, len)] = counts.GetValueOrDefault(w.Substring(i, len)) + 1;
        }
        var pieces = counts.Where(kv => kv.Key.Length == 1 || kv.Value >= 4)
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var scores = new List<float>(Enumerable.Repeat(0f, tokens.Count));
        foreach (var (piece, count) in pieces)
        {
            if (tokens.Contains(piece)) continue;
            tokens.Add(piece);
            types.Add(1);
            // Coarse buckets create equal scores, so leftmost-first tie-breaking is exercised too.
            scores.Add(-MathF.Round(10f / MathF.Sqrt(count), 1));
        }
        return ([.. tokens], [.. scores], [.. types]);
    }

    [Fact]
    public void Encode_MatchesLlamaCpp_OnCorpus()
    {
        var (tokens, scores, types) = BuildVocabulary();
        using var llama = LlamaCppVocab.Create("spm", w =>
        {
            w.Set("tokenizer.ggml.model", "llama");
            w.Set("tokenizer.ggml.tokens", tokens);
            w.Set("tokenizer.ggml.scores", scores);
            w.Set("tokenizer.ggml.token_type", types);
            w.Set("tokenizer.ggml.bos_token_id", 1u);
            w.Set("tokenizer.ggml.eos_token_id", 2u);
            w.Set("tokenizer.ggml.unknown_token_id", 0u);
        });
        var ours = llama.OurTokenizer();
        Assert.Equal(1, ours.BosId);
        Assert.True(ours.AddBos);

        var inputs = TokenizerTestData.CorpusInputs();
        inputs.AddRange(["", " ", "  leading", "<|ctl|>x<tool> y <tool>", "a<|ctl|> b", "\u00e9\u4e2d\U0001F600", "\n\n"]);
        int compared = 0, matched = 0;
        string? firstMismatch = null;
        foreach (var text in inputs)
            foreach (bool parseSpecial in (bool[])[false, true])
                foreach (bool addSpecial in (bool[])[false, true])
                {
                    int[] expected = llama.Tokenize(text, addSpecial, parseSpecial);
                    int[] actual = ours.Encode(text, addSpecial, parseSpecial);
                    compared++;
                    if (expected.AsSpan().SequenceEqual(actual)) matched++;
                    else firstMismatch ??= $"input \"{TokenizerTestData.Escape(text)}\" addSpecial={addSpecial} parseSpecial={parseSpecial}\n  llama.cpp {TokenizerTestData.Show(expected)}\n  ours      {TokenizerTestData.Show(actual)}";
                }
        output.WriteLine($"spm ({tokens.Length} tokens): vs llama.cpp {matched}/{compared} encodings match");
        Assert.True(firstMismatch is null, $"{compared - matched} of {compared} differ; first:\n{firstMismatch}");

        // Decoding: llama.cpp strips the prefix space of the first piece; ours must agree on every input.
        foreach (var text in inputs.Where(t => t.Length < 300))
        {
            var ids = ours.Encode(text, addSpecial: false);
            Assert.Equal(LlamaDetokenize(llama, ids), ours.Decode(ids));
        }
    }

    static string LlamaDetokenize(LlamaCppVocab llama, int[] ids)
    {
        var bytes = new List<byte>();
        var buffer = new byte[256];
        bool first = true;
        foreach (int id in ids)
        {
            int n = (int)llama.Weights.NativeHandle.TokenToSpan((LLama.Native.LLamaToken)id, buffer, first ? 1 : 0, false);
            bytes.AddRange(buffer.AsSpan(0, n).ToArray());
            first = false;
        }
        return System.Text.Encoding.UTF8.GetString([.. bytes]);
    }
}

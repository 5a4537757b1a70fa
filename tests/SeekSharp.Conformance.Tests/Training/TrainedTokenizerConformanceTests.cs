using SeekSharp.Chat.Templates;
using SeekSharp.Conformance.Tests.Chat.Templates;
using SeekSharp.Conformance.Tests.Tokenization;
using SeekSharp.Training.Tasks;
using SeekSharp.Training.Tokenizers;
using Xunit.Abstractions;
using HfTokenizer = Tokenizers.DotNet.Tokenizer;

namespace SeekSharp.Conformance.Tests.Training;

/// <summary>
/// A tokenizer trained by <see cref="BpeTrainer"/> against the peers that will read it: Hugging Face tokenizers on its
/// tokenizer.json, llama.cpp on its GGUF metadata, and @huggingface/jinja on its chat template.
/// </summary>
public sealed class TrainedTokenizerConformanceTests(ITestOutputHelper output)
{
    static readonly string[] Roles = ["user", "assistant"];

    /// <summary>Chat-formatted examples of every task: R1 prompt with generation prompt, completion, EOS.</summary>
    static List<string> ChatTexts(int perTask, int seed)
    {
        var template = ChatTemplate.Parse(R1ChatFormat.ChatTemplate);
        var texts = new List<string>();
        foreach (var name in TaskRegistry.Names)
            foreach (var p in ProblemSets.Generate(TaskRegistry.Create(name), ProblemSplit.Train, seed, perTask))
                texts.Add(template.Render([Message(Roles[0], p.Prompt)], addGenerationPrompt: true, bosToken: R1ChatFormat.Bos)
                    + p.Completion + R1ChatFormat.Eos);
        return texts;
    }

    static Dictionary<string, object?> Message(string role, string content) => new() { ["role"] = role, ["content"] = content };

    static readonly Lazy<TrainedTokenizer> Trained = new(() =>
        BpeTrainer.Train([.. TokenizerTestData.CorpusFiles.Select(f => f.Text), .. ChatTexts(40, 1)],
            new BpeTrainerOptions { VocabSize = 1000 }));

    static List<string> Inputs()
    {
        var inputs = TokenizerTestData.CorpusInputs();
        inputs.AddRange(ChatTexts(8, 2));
        foreach (var a in R1ChatFormat.AddedTokens) inputs.Add($"x{a.Content} {a.Content}{a.Content}\n");
        return inputs;
    }

    [Fact]
    public void TokenizerJson_MatchesHuggingFaceTokenizers()
    {
        var t = Trained.Value;
        string dir = Path.Combine(Path.GetTempPath(), $"seeksharp-trained-tok-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            t.SaveHuggingFace(dir);
            string json = Path.Combine(dir, "tokenizer.json");
            using var hf = new HfTokenizer(json);
            var ours = SeekSharp.Tokenization.Tokenizer.FromHuggingFace(json);
            // The TemplateProcessing post-processor makes the Rust library add BOS, as add_bos does for us.
            Assert.Equal([(uint)t.BosId!.Value], hf.Encode(""));

            int matched = 0;
            var inputs = Inputs();
            string? firstMismatch = null;
            foreach (var text in inputs)
            {
                int[] expected = [.. hf.Encode(text).Select(id => (int)id)];
                // Hugging Face always extracts added tokens, special or not: that is parseSpecial.
                int[] actual = ours.Encode(text, addSpecial: true, parseSpecial: true);
                if (expected.AsSpan().SequenceEqual(actual)) matched++;
                else firstMismatch ??= $"input \"{TokenizerTestData.Escape(text)}\"\n  hf   {TokenizerTestData.Show(expected)}\n  ours {TokenizerTestData.Show(actual)}";
                // Its decoder skips tokens marked special (BOS, EOS) and renders every other token's text.
                Assert.Equal(text.Replace(R1ChatFormat.Bos, "").Replace(R1ChatFormat.Eos, ""), hf.Decode([.. expected.Select(i => (uint)i)]));
            }
            output.WriteLine($"trained tokenizer vs Hugging Face: {matched}/{inputs.Count} inputs match");
            Assert.True(firstMismatch is null, firstMismatch);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void GgufMetadata_MatchesLlamaCpp()
    {
        var t = Trained.Value;
        using var llama = LlamaCppVocab.Create("trained", t.WriteGgufMetadata);
        var ours = llama.OurTokenizer();
        var vocab = llama.Weights.Vocab;
        Assert.Equal(t.VocabSize, vocab.Count);
        Assert.Equal(t.BosId, vocab.BOS is { } b ? (int)b : null);
        Assert.Equal(t.EosId, vocab.EOS is { } e ? (int)e : null);
        Assert.True(vocab.ShouldAddBOS);

        int compared = 0, matched = 0;
        string? firstMismatch = null;
        foreach (var text in Inputs())
            foreach (bool parseSpecial in (bool[])[false, true])
                foreach (bool addSpecial in (bool[])[false, true])
                {
                    int[] expected = llama.Tokenize(text, addSpecial, parseSpecial);
                    int[] actual = ours.Encode(text, addSpecial, parseSpecial);
                    compared++;
                    if (expected.AsSpan().SequenceEqual(actual)) matched++;
                    else firstMismatch ??= $"input \"{TokenizerTestData.Escape(text)}\" addSpecial={addSpecial} parseSpecial={parseSpecial}\n  llama.cpp {TokenizerTestData.Show(expected)}\n  ours      {TokenizerTestData.Show(actual)}";
                }
        output.WriteLine($"trained tokenizer vs llama.cpp: {matched}/{compared} encodings match");
        Assert.True(firstMismatch is null, firstMismatch);
    }

    [Fact]
    public void ChatTemplate_RendersLikeHuggingFaceJinja()
    {
        List<object?>[] conversations =
        [
            [Message("user", "What is 347 + 829?")],
            [Message("system", "Answer with a number."), Message("user", "Compute 12 times 34.")],
            [Message("user", "Using 3, 7, 8 and 25, make 100."), Message("assistant", "<think>\n7 - 3 = 4\n4 * 25 = 100\n</think>\n\n(7 - 3) * 25"),
             Message("user", "Again with 2, 5, 10?")],
            [Message("user", "Hi"), Message("assistant", "Hello, no thinking here.")],
            [Message("user", "a"), Message("assistant", "<think>x</think>b</think>  c"), Message("user", "d")],
            [],
        ];
        var cases = new List<(string, IReadOnlyDictionary<string, object?>)>();
        foreach (var messages in conversations)
            foreach (bool generationPrompt in (bool[])[false, true])
                cases.Add((R1ChatFormat.ChatTemplate, ChatTemplate.ChatVariables(messages, null, generationPrompt, R1ChatFormat.Bos, R1ChatFormat.Eos)));

        var reference = ReferenceRenderer.RenderAll(cases);
        var template = ChatTemplate.Parse(R1ChatFormat.ChatTemplate);
        for (int i = 0; i < cases.Count; i++)
        {
            Assert.True(reference[i].Ok, reference[i].Text);
            Assert.Equal(reference[i].Text, template.Render(cases[i].Item2));
        }
        Assert.EndsWith(R1ChatFormat.Assistant + "<think>\n", reference[1].Text);
    }
}

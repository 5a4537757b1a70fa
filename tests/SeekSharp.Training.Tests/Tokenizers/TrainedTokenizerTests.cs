using System.Diagnostics;
using SeekSharp.Chat.Templates;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Gguf;
using SeekSharp.Tokenization;
using SeekSharp.Training.Tasks;
using SeekSharp.Training.Tokenizers;
using Xunit.Abstractions;

namespace SeekSharp.Training.Tests.Tokenizers;

public sealed class TrainedTokenizerTests(ITestOutputHelper output)
{
    /// <summary>Chat-formatted training examples (prompt with R1's generation prompt, completion, EOS) of every task.</summary>
    internal static List<string> ChatTexts(int perTask, int seed)
    {
        var template = ChatTemplate.Parse(R1ChatFormat.ChatTemplate);
        var texts = new List<string>();
        foreach (var name in TaskRegistry.Names)
            foreach (var p in ProblemSets.Generate(TaskRegistry.Create(name), ProblemSplit.Train, seed, perTask))
            {
                var messages = new List<object?> { new Dictionary<string, object?> { ["role"] = "user", ["content"] = p.Prompt } };
                texts.Add(template.Render(messages, addGenerationPrompt: true, bosToken: R1ChatFormat.Bos) + p.Completion + R1ChatFormat.Eos);
            }
        return texts;
    }

    static readonly Lazy<TrainedTokenizer> Shared = new(() =>
        BpeTrainer.Train([.. TrainingCorpus.Files, .. ChatTexts(40, 1)], new BpeTrainerOptions { VocabSize = 800 }));

    static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"seeksharp-toktrain-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    static Tokenizer LoadFromTinyGguf(TrainedTokenizer t, string dir)
    {
        string path = Path.Combine(dir, "tiny.gguf");
        TinyModelBuilder.Build(new TinyModelOptions { Tokenizer = new TinyTokenizer("trained", t.VocabSize, t.WriteGgufMetadata) }, path);
        using var file = GgufFile.Open(path);
        return Tokenizer.FromGguf(file);
    }

    static List<string> Inputs() => [.. TrainingCorpus.Lines, .. TrainingCorpus.Files, .. ChatTexts(10, 2)];

    [Fact]
    public void GgufAndTokenizerJson_GiveIdenticalIds_AndDecodeRoundTrips()
    {
        var t = Shared.Value;
        string dir = TempDir();
        try
        {
            t.SaveHuggingFace(dir);
            var fromGguf = LoadFromTinyGguf(t, dir);
            var fromJson = Tokenizer.FromHuggingFace(Path.Combine(dir, "tokenizer.json"));
            var direct = t.CreateTokenizer();
            Assert.Equal(t.VocabSize, fromGguf.VocabSize);
            Assert.Equal(t.VocabSize, fromJson.VocabSize);

            int compared = 0;
            foreach (var text in Inputs())
                foreach (bool parseSpecial in (bool[])[false, true])
                {
                    int[] ids = fromGguf.Encode(text, addSpecial: true, parseSpecial);
                    Assert.Equal(ids, fromJson.Encode(text, addSpecial: true, parseSpecial));
                    Assert.Equal(ids, direct.Encode(text, addSpecial: true, parseSpecial));
                    Assert.Equal(t.BosId, ids[0]);
                    // Rendering control tokens gives back the input exactly, BOS included.
                    Assert.Equal(R1ChatFormat.Bos + text, fromGguf.Decode(ids, renderSpecial: true));
                    compared++;
                }
            output.WriteLine($"{compared} encodings identical from GGUF and tokenizer.json, all round-trip");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void TokenizerJson_LoadsToTheSameDefinition_AsTheGgufMetadata()
    {
        var t = Shared.Value;
        string dir = TempDir();
        try
        {
            t.SaveHuggingFace(dir);
            var json = HuggingFaceTokenizerFiles.Load(Path.Combine(dir, "tokenizer.json"), Path.Combine(dir, "tokenizer_config.json"));
            var ours = t.ToDefinition();
            Assert.Equal(ours.Tokens, json.Tokens);
            Assert.Equal(ours.TokenTypes, json.TokenTypes);
            Assert.Equal(ours.Merges, json.Merges);
            Assert.Equal(ours.Pre, json.Pre);
            Assert.Equal(ours.GetSpecialId("bos"), json.GetSpecialId("bos"));
            Assert.Equal(ours.GetSpecialId("eos"), json.GetSpecialId("eos"));
            Assert.Equal(true, json.GetAddSpecial("bos"));
            Assert.Equal(R1ChatFormat.ChatTemplate, json.ChatTemplate);
            Assert.False(json.NfcNormalize);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void AddedTokens_AreSingleIds_WithR1Types()
    {
        var t = Shared.Value;
        var tok = t.CreateTokenizer();
        foreach (var a in t.AddedTokens)
        {
            Assert.Equal([t.IdOf(a.Content)], tok.Encode(a.Content, addSpecial: false, parseSpecial: true));
            Assert.Equal(a.Content, tok.Decode([t.IdOf(a.Content)], renderSpecial: true));
        }
        // <think> and </think> are visible text (USER_DEFINED): recognised and rendered even without special handling.
        int think = t.IdOf(R1ChatFormat.ThinkOpen), close = t.IdOf(R1ChatFormat.ThinkClose);
        Assert.Equal([think, close], tok.Encode("<think></think>", addSpecial: false, parseSpecial: false));
        Assert.Equal("<think></think>", tok.Decode([think, close]));
        // The role and sentence tokens are CONTROL: plain text unless parsed as special, invisible unless rendered.
        Assert.NotEqual([t.IdOf(R1ChatFormat.User)], tok.Encode(R1ChatFormat.User, addSpecial: false, parseSpecial: false));
        Assert.Equal("", tok.Decode([t.BosId!.Value, t.IdOf(R1ChatFormat.Assistant)]));
        Assert.True(tok.IsEndOfGeneration(t.EosId!.Value));
        Assert.Equal(t.LearnedCount, t.BosId);
        Assert.Equal(t.VocabSize - 6, t.LearnedCount);
    }

    [Fact]
    public void Digits_AreSingleTokens_InTaskText()
    {
        var tok = Shared.Value.CreateTokenizer();
        int[] ids = tok.Encode("347 + 829 = 1176", addSpecial: false);
        var pieces = ids.Select(id => System.Text.Encoding.UTF8.GetString(tok.TokenBytes(id))).ToList();
        Assert.Equal(["3", "4", "7", " +", " ", "8", "2", "9", " =", " ", "1", "1", "7", "6"], pieces);
    }

    [Fact]
    public void ChatTemplate_RendersR1Conversations()
    {
        var template = ChatTemplate.Parse(R1ChatFormat.ChatTemplate);
        static Dictionary<string, object?> M(string role, string content) => new() { ["role"] = role, ["content"] = content };
        List<object?> messages =
        [
            M("system", "Be brief."),
            M("user", "What is 2 + 3?"),
            M("assistant", "<think>\n2 + 3 + 0 = 5\n</think>\n\n5"),
            M("user", "And 4 + 4?"),
        ];
        string B = R1ChatFormat.Bos, U = R1ChatFormat.User, A = R1ChatFormat.Assistant, E = R1ChatFormat.Eos;
        Assert.Equal($"{B}Be brief.{U}What is 2 + 3?{A}5{E}{U}And 4 + 4?{A}<think>\n",
            template.Render(messages, addGenerationPrompt: true, bosToken: B, eosToken: E));
        Assert.Equal($"{B}{U}Hi{A}Hello{E}",
            template.Render([M("user", "Hi"), M("assistant", "Hello")], addGenerationPrompt: false, bosToken: B, eosToken: E));
    }

    [Fact]
    public void Training_OnAFewHundredKilobytes_TakesSeconds()
    {
        // Not a gate on time (machines differ): it reports the figure and checks the vocabulary is filled.
        var texts = ChatTexts(300, 3);
        texts.AddRange(TrainingCorpus.Files);
        long bytes = texts.Sum(t => (long)System.Text.Encoding.UTF8.GetByteCount(t));
        var sw = Stopwatch.StartNew();
        var t = BpeTrainer.Train(texts, new BpeTrainerOptions { VocabSize = 2000 });
        sw.Stop();
        output.WriteLine($"trained {t.Merges.Count} merges on {bytes / 1024} KiB in {sw.ElapsedMilliseconds} ms");
        Assert.Equal(2000, t.VocabSize);
    }
}

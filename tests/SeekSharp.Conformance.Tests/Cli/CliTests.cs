using System.Text.Json;
using SeekSharp.Conformance.Tests.Oracle;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Kernels;

namespace SeekSharp.Conformance.Tests.Cli;

/// <summary>The <c>seek</c> commands end to end on a tiny model with a real tokenizer, checked against llama.cpp where it has the same answer.</summary>
public class CliTests
{
    private static readonly TinyModelOptions Tiny = new()
    {
        Architecture = TinyArchitecture.Qwen2, WeightType = GgmlType.F32, Dim = 64, Heads = 4, KvHeads = 2, FfnDim = 128, Layers = 2,
        Tokenizer = RealTokenizers.DeepSeekV3, ContextLength = 128, Seed = 3,
    };

    private static string ModelPath => TinyModelBuilder.GetOrBuild(Tiny);

    [Fact]
    public void TokenizeJsonPrintsExactlyLlamaCppsIds()
    {
        const string text = "DeepSeek-R1 thinks <think>step by step</think> about 12345 apples 🍎.";
        using var reference = LlamaCpp.LoadVocabOnly(ModelPath);
        foreach (var (flags, addSpecial, parseSpecial) in new[] { (new string[0], true, false), (["--special"], true, true), (["--no-bos"], false, false) })
        {
            var r = SeekProcess.Run(["tokenize", "-m", ModelPath, "-p", text, "--json", .. flags]);
            Assert.Equal(0, r.ExitCode);
            int[] ids = JsonSerializer.Deserialize<int[]>(r.Stdout)!;
            Assert.Equal(reference.Tokenize(text, addSpecial, parseSpecial), ids);
        }
    }

    [Fact]
    public void RunGreedyJsonMatchesLlamaCppsGreedyContinuation()
    {
        const string prompt = "The first rule of reasoning is";
        var r = SeekProcess.Run("run", "-m", ModelPath, "-p", prompt, "-n", "16", "--temp", "0", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        int[] promptTokens = doc.RootElement.GetProperty("prompt_tokens").Deserialize<int[]>()!;
        int[] tokens = doc.RootElement.GetProperty("tokens").Deserialize<int[]>()!;
        string text = doc.RootElement.GetProperty("text").GetString()!;

        using var reference = LlamaCpp.Load(ModelPath, 128);
        Assert.Equal(reference.Tokenize(prompt, addSpecial: true, parseSpecial: true), promptTokens);
        int[] expected = reference.Greedy(promptTokens, 16);
        Assert.NotEmpty(tokens);
        Assert.Equal(expected[..tokens.Length], tokens); // ours stops early only at an end-of-generation token
        string expectedText = System.Text.Encoding.UTF8.GetString(expected[..tokens.Length].SelectMany(id => reference.TokenBytes(id, renderSpecial: false)).ToArray());
        Assert.Equal(expectedText, text);
        Assert.Contains("tokens/s", r.Stderr);
    }

    [Fact]
    public void RunStreamsTextAndTheSameSeedGivesTheSameText()
    {
        var a = SeekProcess.Run("run", "-m", ModelPath, "-p", "Hello", "-n", "12", "--temp", "1.0", "--seed", "7");
        var b = SeekProcess.Run("run", "-m", ModelPath, "-p", "Hello", "-n", "12", "--temp", "1.0", "--seed", "7");
        Assert.Equal(0, a.ExitCode);
        Assert.Equal(a.Stdout, b.Stdout);
        Assert.False(string.IsNullOrWhiteSpace(a.Stdout));
    }

    [Fact]
    public void PerplexityJsonMatchesLlamaCpp()
    {
        string file = Path.Combine(RealTokenizers.RepoRoot(), "tests", "data", "perplexity.txt");
        var r = SeekProcess.Run("perplexity", "-m", ModelPath, "-f", file, "--ctx", "64", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        double ppl = doc.RootElement.GetProperty("ppl").GetDouble();
        int chunks = doc.RootElement.GetProperty("chunks").GetInt32();
        int scored = doc.RootElement.GetProperty("tokens_scored").GetInt32();

        using var reference = LlamaCpp.Load(ModelPath, 128);
        var expected = reference.Perplexity(reference.Tokenize(File.ReadAllText(file), addSpecial: true, parseSpecial: false), 64);
        Assert.Equal(expected.Chunks, chunks);
        Assert.Equal(expected.TokensScored, scored);
        Assert.InRange(ppl / expected.Value, 0.999, 1.001);
    }

    [Fact]
    public void InfoDescribesTheModel()
    {
        var r = SeekProcess.Run("info", ModelPath, "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var root = doc.RootElement;
        Assert.Equal("qwen2", root.GetProperty("architecture").GetString());
        Assert.Equal(128, root.GetProperty("context_length").GetInt32());
        Assert.Equal(64, root.GetProperty("embedding_length").GetInt32());
        Assert.Equal(Tiny.Tokenizer.VocabSize, root.GetProperty("vocab_size").GetInt32());
        Assert.Equal("gpt2", root.GetProperty("tokenizer").GetString());
        Assert.Equal("deepseek-v3", root.GetProperty("tokenizer_pre").GetString());
        Assert.True(root.GetProperty("chat_template").GetBoolean());
        Assert.Equal("F32", root.GetProperty("tensor_types")[0].GetProperty("type").GetString());

        var text = SeekProcess.Run("info", ModelPath);
        Assert.Contains("architecture    qwen2", text.Stdout);
    }

    /// <summary>
    /// For a deepseek2 model the cache holds per layer one latent and one roped key (absorbed MLA): KV bytes per token =
    /// layers × (kv_lora_rank + rope dims) × element size; active parameters are the file's minus the unchosen share
    /// of every routed-expert tensor, counted here from the file's own tensors.
    /// </summary>
    [Fact]
    public void InfoReportsLatentCacheAndActiveParametersOfDeepSeek2()
    {
        var preset = TinyDeepSeek2.V3Like;
        var options = TinyDeepSeek2.Options(preset);
        string path = TinyModelBuilder.GetOrBuild(options);
        var r = SeekProcess.Run("info", path, "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var root = doc.RootElement;
        Assert.Equal("deepseek2", root.GetProperty("architecture").GetString());
        Assert.Equal(options.Layers * (preset.KvLoraRank + preset.RopeDim) * 2, root.GetProperty("kv_bytes_per_token_f16").GetInt64());
        Assert.Equal(options.Layers * (preset.KvLoraRank + preset.RopeDim) * 4, root.GetProperty("kv_bytes_per_token_f32").GetInt64());

        using var file = SeekSharp.Gguf.GgufFile.Open(path);
        long total = file.Tensors.Sum(t => t.ElementCount);
        long unchosen = file.Tensors.Where(t => t.Name.Contains("_exps.", StringComparison.Ordinal))
            .Sum(t => t.ElementCount / preset.Experts * (preset.Experts - preset.ExpertsUsed));
        Assert.True(unchosen > 0);
        Assert.Equal(total, root.GetProperty("parameters").GetInt64());
        Assert.Equal(total - unchosen, root.GetProperty("active_parameters").GetInt64());

        var text = SeekProcess.Run("info", path);
        Assert.Contains($"KV cache/token  {options.Layers * (preset.KvLoraRank + preset.RopeDim) * 2:N0} bytes in F16", text.Stdout);
        Assert.Contains("active/token", text.Stdout);
    }

    public static TheoryData<string[], string> Failures => new()
    {
        { ["info", "/nonexistent/model.gguf"], "does not exist" },
        { ["run", "-m", "/nonexistent/model.gguf", "-p", "hi"], "does not exist" },
        { ["tokenize", "-m", "/nonexistent/model.gguf", "-p", "hi"], "does not exist" },
        { ["perplexity", "-m", "/nonexistent/model.gguf", "-f", "/nonexistent/text.txt"], "does not exist" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void MissingFilesGiveOneLineAndNonZeroExit(string[] args, string expected)
    {
        var r = SeekProcess.Run(args);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains(expected, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void PromptLongerThanTheContextIsOneClearLine()
    {
        string prompt = string.Join(" ", Enumerable.Repeat("word", 300));
        var r = SeekProcess.Run("run", "-m", ModelPath, "-p", prompt, "--ctx", "64");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("context holds 64", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public void NotAGgufFileIsOneClearLine()
    {
        string path = Path.GetTempFileName();
        File.WriteAllText(path, "this is not a model");
        try
        {
            var r = SeekProcess.Run("info", path);
            Assert.NotEqual(0, r.ExitCode);
            Assert.Contains(path, r.Stderr);
            Assert.DoesNotContain("   at ", r.Stderr);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void BadFlagIsRefused()
    {
        var r = SeekProcess.Run("run", "-m", ModelPath, "-p", "x", "--temp", "hot");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("hot", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public void EveryCommandHasHelp()
    {
        foreach (var command in new[] { "info", "tokenize", "run", "perplexity" })
        {
            var r = SeekProcess.Run(command, "--help");
            Assert.Equal(0, r.ExitCode);
            Assert.Contains("--json", r.Stdout);
        }
    }
}

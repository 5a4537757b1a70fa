using System.Text.Json;
using SeekSharp.Chat;
using SeekSharp.Conformance.Tests.TinyModels;

namespace SeekSharp.Conformance.Tests.Cli;

/// <summary>
/// Issue 16 item 6, first-contact inconsistencies: parse errors are one line on stderr (exit 2), every command that reads
/// a model defaults to the bundled one and takes it as the first argument, chat has run's sampling flags, run reads its
/// prompt from a file or stdin, /save writes no BOM, invalid UTF-8 and out-of-vocabulary special ids are refused, a
/// directory given as a model is named as one.
/// </summary>
public class FirstContactTests : IDisposable
{
    private static readonly TinyModelOptions Tiny = new()
    {
        Dim = 32, Heads = 4, KvHeads = 2, FfnDim = 64, Layers = 2, ContextLength = 128, Seed = 16,
    };

    private static string ModelPath => TinyModelBuilder.GetOrBuild(Tiny);

    private static string Bundled => Path.Combine(RealTokenizers.RepoRoot(), "models", "seeksharp-r1-tiny.gguf");

    private readonly List<string> _dirs = [];

    // A new temporary folder of this test's, deleted when the test ends.
    private string NewDir()
    {
        string dir = Directory.CreateTempSubdirectory("seek-first-contact-").FullName;
        _dirs.Add(dir);
        return dir;
    }

    public void Dispose()
    {
        foreach (string dir in _dirs)
            Directory.Delete(dir, recursive: true);
    }

    private string TempFile(string name, byte[] content)
    {
        string dir = NewDir();
        string path = Path.Combine(dir, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    /// <summary>Exactly one line on stderr, starting with "seek:", without a stack frame or .NET's parameter suffix.</summary>
    private static string OneLine(SeekProcess.Result r, int exitCode)
    {
        Assert.True(r.ExitCode == exitCode, $"exit {r.ExitCode}, expected {exitCode}; stderr: {r.Stderr}; stdout: {r.Stdout}");
        string line = r.Stderr.TrimEnd();
        Assert.Single(line.Split('\n'));
        Assert.StartsWith("seek:", line);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.DoesNotContain("(Parameter '", r.Stderr);
        return line;
    }

    public static TheoryData<string[], string> ParseErrors => new()
    {
        { ["run", "--foo"], "seek: unknown option '--foo' (see seek run --help)" },
        { ["run", "-p", "hi", "--foo"], "seek: unknown option '--foo' (see seek run --help)" },
        { ["run", "-p"], "seek: option '-p' needs a value (see seek run --help)" },
        { ["run", "-p", "hi", "--ctx", "1e10"], "seek: --ctx expects a whole number, got '1e10' (see seek run --help)" },
        { ["run", "-p", "hi", "--temp", "abc"], "seek: --temp expects a number, got 'abc' (see seek run --help)" },
        { ["chat", "--top-k", "1.5"], "seek: --top-k expects a whole number, got '1.5' (see seek chat --help)" },
        { ["info", "a.gguf", "b.gguf"], "seek: unexpected argument 'b.gguf' (see seek info --help)" },
        { ["tokenize", "--bogus"], "seek: unknown option '--bogus' (see seek tokenize --help)" },
        { ["eval"], "seek: option '--task' is required (see seek eval --help)" },
        { ["quantize", "in.gguf"], "seek: missing arguments OUTPUT, TYPE (see seek quantize --help)" },
        { ["bogus"], "seek: unknown command 'bogus' (see seek --help)" },
    };

    [Theory]
    [MemberData(nameof(ParseErrors))]
    public void AParseErrorIsOneLineOnStderrAndExit2(string[] args, string expected)
    {
        var r = SeekProcess.Run(args);
        Assert.Equal(expected, OneLine(r, 2));
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void HelpStillPrintsTheHelpOnStdout()
    {
        var r = SeekProcess.Run("run", "--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Stderr);
        Assert.Contains("Usage:", r.Stdout);
        Assert.Contains("--file", r.Stdout);
        Assert.Contains("--temp", SeekProcess.Run("chat", "--help").Stdout);
    }

    [Fact]
    public void EveryCommandThatReadsAModelDefaultsToTheBundledOne()
    {
        Assert.True(File.Exists(Bundled), $"{Bundled} is missing; scripts/train-default-model.sh trains it.");
        string text = TempFile("text.txt", System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("What is 12 + 34? It is 46. ", 20))));
        foreach (var args in new[]
        {
            new[] { "info", "--json" },
            ["tokenize", "-p", "hi", "--json"],
            ["template"],
            ["perplexity", "-f", text, "--ctx", "16", "--json"],
            ["bench", "-p", "8", "-n", "4", "-r", "1", "--json"],
        })
        {
            var r = SeekProcess.Run(args);
            Assert.True(r.ExitCode == 0, $"seek {string.Join(' ', args)}: exit {r.ExitCode}; {r.Stderr}");
        }
        var info = JsonDocument.Parse(SeekProcess.Run("info", "--json").Stdout).RootElement;
        Assert.Equal(Bundled, info.GetProperty("path").GetString());
    }

    [Fact]
    public void TheModelCanBeTheFirstArgumentButNotAlsoMinusM()
    {
        string[] rest = ["-p", "The first rule", "-n", "4", "--temp", "0", "--json"];
        var withOption = SeekProcess.Run(["run", "-m", ModelPath, .. rest]);
        var positional = SeekProcess.Run(["run", ModelPath, .. rest]);
        Assert.True(withOption.ExitCode == 0, withOption.Stderr);
        Assert.Equal(withOption.Stdout, positional.Stdout);
        Assert.Equal(SeekProcess.Run("tokenize", "-m", ModelPath, "-p", "hi", "--json").Stdout, SeekProcess.Run("tokenize", ModelPath, "-p", "hi", "--json").Stdout);
        Assert.Equal(0, SeekProcess.RunWithInput("/exit\n", "chat", Bundled).ExitCode);

        var both = SeekProcess.Run("info", "-m", ModelPath, Bundled);
        string line = OneLine(both, 1);
        Assert.Contains($"-m '{ModelPath}'", line);
        Assert.Contains($"argument '{Bundled}'", line);
    }

    [Fact]
    public void ADirectoryWithoutConfigJsonGivenAsTheModelIsNamedAsADirectory()
    {
        string dir = NewDir();
        foreach (var args in new[] { new[] { "info", dir }, ["run", "-m", dir, "-p", "hi"], ["tokenize", dir, "-p", "hi"], ["bench", "-m", dir] })
        {
            string line = OneLine(SeekProcess.Run(args), 1);
            Assert.Equal($"seek: error: '{dir}' is a directory without a config.json; a GGUF model file or a Hugging Face model folder is expected", line);
        }
    }

    [Fact]
    public void ChatTakesRunsSamplingFlagsWithTheSameChecks()
    {
        string run = OneLine(SeekProcess.Run("run", "-m", ModelPath, "-p", "hi", "--temp", "-1"), 1);
        string chat = OneLine(SeekProcess.RunWithInput("", "chat", "-m", ModelPath, "--temp", "-1"), 1);
        Assert.Equal(run, chat);
        Assert.Contains("--temp must be", chat);
        Assert.Contains("--top-p must be", OneLine(SeekProcess.RunWithInput("", "chat", "--top-p", "2"), 1));

        // Greedy ignores the seed; a hot sampler with two seeds answers differently: both flags reach the session.
        string Reasoning(params string[] flags)
        {
            string saved = Path.Combine(NewDir(), "chat.json");
            var r = SeekProcess.RunWithInput($"What is 2 + 2?\n/save {saved}\n", ["chat", "-n", "24", .. flags]);
            Assert.True(r.ExitCode == 0, r.Stderr);
            var messages = ChatMessageJson.Parse(File.ReadAllText(saved));
            return messages[1].ReasoningContent + "|" + messages[1].Content;
        }
        Assert.Equal(Reasoning("--temp", "0", "--seed", "1"), Reasoning("--temp", "0", "--seed", "2"));
        string[] hot = ["--temp", "2", "--top-k", "0", "--top-p", "1", "--min-p", "0", "--repeat-penalty", "1"];
        Assert.NotEqual(Reasoning([.. hot, "--seed", "1"]), Reasoning([.. hot, "-s", "2"]));
    }

    [Fact]
    public void ChatSaveWritesJsonWithoutAByteOrderMark()
    {
        string saved = Path.Combine(NewDir(), "chat.json");
        var r = SeekProcess.RunWithInput($"Hi\n/save {saved}\n", "chat", "-n", "2", "--temp", "0");
        Assert.True(r.ExitCode == 0, r.Stderr);
        byte[] bytes = File.ReadAllBytes(saved);
        Assert.NotEqual<byte>(0xEF, bytes[0]);
        Assert.Equal((byte)'[', bytes[0]);
        // What Python's json.load does: the bytes as UTF-8 without skipping a BOM.
        using var doc = JsonDocument.Parse(bytes);
        Assert.Equal(JsonValueKind.Array, doc.RootElement.ValueKind);
    }

    [Fact]
    public void RunReadsThePromptFromAFileOrStandardInput()
    {
        const string prompt = "The first rule of reasoning is";
        string file = TempFile("prompt.txt", System.Text.Encoding.UTF8.GetBytes(prompt));
        string[] rest = ["-n", "4", "--temp", "0", "--json"];
        var fromText = SeekProcess.Run(["run", "-m", ModelPath, "-p", prompt, .. rest]);
        Assert.True(fromText.ExitCode == 0, fromText.Stderr);
        Assert.Equal(fromText.Stdout, SeekProcess.Run(["run", "-m", ModelPath, "-f", file, .. rest]).Stdout);
        Assert.Equal(fromText.Stdout, SeekProcess.RunWithInput(prompt, ["run", "-m", ModelPath, "-p", "-", .. rest]).Stdout);

        Assert.Contains("exactly one of --prompt/-p and --file/-f", OneLine(SeekProcess.Run("run", "-m", ModelPath, "-p", prompt, "-f", file), 1));
        Assert.Contains("exactly one of --prompt/-p and --file/-f", OneLine(SeekProcess.Run("run", "-m", ModelPath), 1));
    }

    [Fact]
    public void InvalidUtf8InATextFileIsRefusedWithTheByteOffset()
    {
        // "ab", then 0xFF (never valid in UTF-8) at offset 2; with a BOM first, offsets count from the file's start.
        string bad = TempFile("bad.txt", [(byte)'a', (byte)'b', 0xFF, 0xFE, (byte)'c']);
        string bomThenTruncated = TempFile("bom.txt", [0xEF, 0xBB, 0xBF, (byte)'h', (byte)'i', (byte)' ', 0xC3]);
        foreach (var args in new[] { new[] { "run", "-m", ModelPath, "-f", bad }, ["tokenize", "-m", ModelPath, "-f", bad], ["perplexity", "-m", ModelPath, "-f", bad] })
            Assert.StartsWith($"seek: error: {bad} is not valid UTF-8 at byte offset 2", OneLine(SeekProcess.Run(args), 1));
        Assert.StartsWith($"seek: error: {bomThenTruncated} is not valid UTF-8 at byte offset 6",
            OneLine(SeekProcess.Run("tokenize", "-m", ModelPath, "-f", bomThenTruncated), 1));
    }

    [Theory]
    [InlineData("tokenizer.ggml.bos_token_id")]
    [InlineData("tokenizer.ggml.eos_token_id")]
    [InlineData("tokenizer.ggml.eot_token_id")]
    [InlineData("tokenizer.ggml.padding_token_id")]
    [InlineData("tokenizer.ggml.unknown_token_id")]
    public void ASpecialTokenIdOutsideTheVocabularyIsRefusedAtLoad(string key)
    {
        var w = TinyModelBuilder.CreateWriter(Tiny);
        int vocab = Tiny.Tokenizer.VocabSize;
        w.Set(key, (uint)vocab);
        string path = Path.Combine(NewDir(), "bad-ids.gguf");
        w.Write(path);
        foreach (var args in new[] { new[] { "info", path }, ["tokenize", path, "-p", "hi"], ["run", path, "-p", "hi", "-n", "1"] })
            Assert.Contains($"{key} is {vocab}, outside the vocabulary of {vocab} tokens", OneLine(SeekProcess.Run(args), 1));
    }
}

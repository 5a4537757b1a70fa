namespace SeekSharp.Conformance.Tests.Cli;

/// <summary>
/// Issue 17: the model argument and the flags several commands share are defined once, so every command that has one
/// takes it, and refuses a bad value, in the same words. Each case fails before a model is loaded, so no model is built.
/// </summary>
public class SharedFlagsTests
{
    // One small text file beside the test assembly (theory data is built at discovery, before any test could clean up).
    private static string TempFile()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "shared-flags-text.txt");
        if (!File.Exists(path))
            File.WriteAllText(path, "hi");
        return path;
    }

    /// <summary>Every command that reads a model, with the other arguments it needs to get as far as the model.</summary>
    public static TheoryData<string[]> ModelCommands => new()
    {
        new[] { "info" },
        new[] { "tokenize", "-p", "hi" },
        new[] { "run", "-p", "hi" },
        new[] { "perplexity", "-f", TempFile() },
        new[] { "imatrix", "-f", TempFile() },
        new[] { "chat" },
        new[] { "template" },
        new[] { "bench" },
        new[] { "eval", "--task", "addition" },
    };

    [Theory]
    [MemberData(nameof(ModelCommands))]
    public void EveryModelCommandRefusesTheModelGivenBothWaysInTheSameWords(string[] args)
    {
        var r = SeekProcess.Run([.. args, "-m", "a.gguf", "b.gguf"]);
        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}; {r.Stderr}");
        Assert.Equal("seek: error: the model is given twice, with -m 'a.gguf' and as the argument 'b.gguf'; give it once", r.Stderr.TrimEnd());
    }

    [Theory]
    [InlineData("bench")]
    [InlineData("eval", "--task", "addition")]
    public void EveryDecodingCommandRefusesNegativeThreadsInTheSameWords(params string[] args)
    {
        var r = SeekProcess.Run([.. args, "-t", "-1", "-m", "missing.gguf"]);
        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}; {r.Stderr}");
        Assert.Equal("seek: error: -t must be 0 or more, got -1", r.Stderr.TrimEnd());
    }

    [Theory]
    [InlineData("run", "-p", "hi")]
    [InlineData("chat")]
    public void EveryChatCommandRefusesANegativeContextInTheSameWords(params string[] args)
    {
        var r = SeekProcess.Run([.. args, "--ctx", "-1", "-m", "missing.gguf"]);
        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}; {r.Stderr}");
        Assert.Equal("seek: error: --ctx must be a positive number of tokens (or 0 for the model's own length), got -1", r.Stderr.TrimEnd());
    }
}

using System.Text.Json;
using SeekSharp.Conformance.Tests.Oracle;
using SeekSharp.Conformance.Tests.TinyModels;

namespace SeekSharp.Conformance.Tests.Cli;

/// <summary>The bundled models/seeksharp-r1-tiny.gguf: found without -m, runs in llama.cpp with the same greedy tokens, reasons in R1's format.</summary>
public class BundledModelTests
{
    static string Bundled => Path.Combine(RealTokenizers.RepoRoot(), "models", "seeksharp-r1-tiny.gguf");

    [Fact]
    public void RunWithoutAModelUsesTheBundledOneAndMatchesLlamaCppsGreedyTokens()
    {
        Assert.True(File.Exists(Bundled), $"{Bundled} is missing; scripts/train-default-model.sh trains it.");
        // The R1 generation prompt without BOS text: the tokenizer adds BOS itself.
        const string prompt = "<｜User｜>What is 347 + 829?<｜Assistant｜><think>\n";
        var r = SeekProcess.Run("run", "-p", prompt, "-n", "120", "--temp", "0", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        int[] promptTokens = doc.RootElement.GetProperty("prompt_tokens").Deserialize<int[]>()!;
        int[] tokens = doc.RootElement.GetProperty("tokens").Deserialize<int[]>()!;
        string text = doc.RootElement.GetProperty("text").GetString()!;

        using var reference = LlamaCpp.Load(Bundled, 256);
        Assert.Equal(reference.Tokenize(prompt, addSpecial: true, parseSpecial: true), promptTokens);
        int[] expected = reference.Greedy(promptTokens, tokens.Length + 1);
        Assert.Equal(expected[..tokens.Length], tokens);
        // The bundled model writes its reasoning, closes it, and answers with a number (whether it is the right one is
        // what seek eval measures over hundreds of problems, models/README.md).
        int close = text.IndexOf("</think>", StringComparison.Ordinal);
        Assert.True(close > 0, text);
        Assert.Matches(@"^\s*-?\d+\s*$", text[(close + "</think>".Length)..]);
    }
}

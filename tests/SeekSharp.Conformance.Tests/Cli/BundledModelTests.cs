using System.Text.Json;
using SeekSharp.Conformance.Tests.Oracle;
using SeekSharp.Conformance.Tests.TinyModels;

namespace SeekSharp.Conformance.Tests.Cli;

/// <summary>The bundled models: seeksharp-r1-tiny.gguf is found without -m; each runs in llama.cpp with the same greedy tokens and reasons in R1's format.</summary>
public class BundledModelTests
{
    static string Bundled => Path.Combine(RealTokenizers.RepoRoot(), "models", "seeksharp-r1-tiny.gguf");

    [Fact]
    public void RunWithoutAModelUsesTheBundledOneAndMatchesLlamaCppsGreedyTokens()
    {
        Assert.True(File.Exists(Bundled), $"{Bundled} is missing; scripts/train-default-model.sh trains it.");
        string text = GreedyMatchesLlamaCpp(Bundled, "What is 347 + 829?", modelArgument: false);
        // The bundled model writes its reasoning, closes it, and answers with a number (whether it is the right one is
        // what seek eval measures over hundreds of problems, models/README.md).
        AssertReasonsThenAnswersANumber(text);
    }

    // The GRPO-trained sibling and the distilled student ship beside the default model (models/README.md).
    [Theory]
    [InlineData("seeksharp-r1-tiny-grpo.gguf", "What is 902 - 457?")]
    [InlineData("seeksharp-r1-tiny-student.gguf", "What is 347 + 829?")]
    public void TheOtherBundledModelsMatchLlamaCppsGreedyTokens(string file, string question)
    {
        string path = Path.Combine(RealTokenizers.RepoRoot(), "models", file);
        Assert.True(File.Exists(path), $"{path} is missing; scripts/train-default-model.sh trains it.");
        AssertReasonsThenAnswersANumber(GreedyMatchesLlamaCpp(path, question, modelArgument: true));
    }

    [Fact]
    public void TheBundledModelHoldsAConversationInSeekChat()
    {
        // Issue 16: it used to answer the first question right and every later one wrong (1176, 1219, 563, 321).
        var r = SeekProcess.RunWithInput("What is 347 + 829?\nWhat is 512 + 278?\nWhat is 100 + 250?\nWhat is 1 + 1?\n/exit\n", "chat");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(["1176", "790", "350", "2"], Answers(r.Stdout));
    }

    [Fact]
    public void TheBundledModelAnswersAPhrasingItWasNotTrainedOn()
    {
        // A held-out phrasing (models/README.md reports accuracy over all of them); issue 16 saw this one answered 91.
        var r = SeekProcess.Run("run", "--chat", "-p", "What do you get when you add 499 to 468?", "--temp", "0", "-n", "400", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal("967", doc.RootElement.GetProperty("content").GetString()!.Trim());
    }

    [Fact]
    public void FollowUpQuestionsAreAnsweredAsWellAsFirstOnes()
    {
        // Issue 16's criterion: turns 2-4 within 3 points of turn 1 on 200 four-question addition conversations.
        var r = SeekProcess.Run("eval", "--task", "addition", "--turns", "4", "--n", "200", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        double first = doc.RootElement.GetProperty("accuracy").GetDouble();
        double later = doc.RootElement.GetProperty("later_turns_accuracy").GetDouble();
        Assert.True(later >= first - 0.03, $"turn 1 {first:P1}, turns 2-4 {later:P1}");
    }

    [Theory]
    [InlineData("addition", 0.95)]
    [InlineData("subtraction", 0.0)]
    public void HeldOutPhrasingsAreUnderstoodAsWellAsTrainedOnes(string task, double floor)
    {
        // Issue 16's criterion: held-out and trained phrasings within 5 points of each other, and on 3x3-digit addition
        // both at least 95 %. Subtraction is here because it was the task that missed the 5 points before the tails and
        // the other tasks' words were added to training (models/README.md).
        double Accuracy(string phrasings)
        {
            var r = SeekProcess.Run("eval", "--task", task, "--digits", "3", "--n", "500", "--phrasings", phrasings, "--json");
            Assert.True(r.ExitCode == 0, r.Stderr);
            using var doc = JsonDocument.Parse(r.Stdout);
            return doc.RootElement.GetProperty("accuracy").GetDouble();
        }
        double trained = Accuracy("trained"), heldOut = Accuracy("held-out");
        Assert.True(trained >= floor && heldOut >= floor && Math.Abs(trained - heldOut) <= 0.05, $"{task}: trained {trained:P1}, held-out {heldOut:P1}");
    }

    /// <summary>The answers of a piped <c>seek chat</c>: the first non-empty line after each "Thought for" line.</summary>
    private static List<string> Answers(string stdout)
    {
        var lines = stdout.Split('\n');
        var answers = new List<string>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (!lines[i].StartsWith("Thought for", StringComparison.Ordinal)) continue;
            int j = i + 1;
            while (j < lines.Length && lines[j].Trim().Length == 0) j++;
            if (j < lines.Length) answers.Add(lines[j].Trim());
        }
        return answers;
    }

    /// <summary>Greedy <c>seek run</c> on the R1 prompt of <paramref name="question"/> gives llama.cpp's tokens; returns the text.</summary>
    private static string GreedyMatchesLlamaCpp(string model, string question, bool modelArgument)
    {
        // The R1 generation prompt without BOS text: the tokenizer adds BOS itself.
        string prompt = $"<｜User｜>{question}<｜Assistant｜><think>\n";
        string[] args = modelArgument
            ? ["run", "-m", model, "-p", prompt, "-n", "120", "--temp", "0", "--json"]
            : ["run", "-p", prompt, "-n", "120", "--temp", "0", "--json"];
        var r = SeekProcess.Run(args);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        int[] promptTokens = doc.RootElement.GetProperty("prompt_tokens").Deserialize<int[]>()!;
        int[] tokens = doc.RootElement.GetProperty("tokens").Deserialize<int[]>()!;

        using var reference = LlamaCpp.Load(model, 256);
        Assert.Equal(reference.Tokenize(prompt, addSpecial: true, parseSpecial: true), promptTokens);
        int[] expected = reference.Greedy(promptTokens, tokens.Length + 1);
        Assert.Equal(expected[..tokens.Length], tokens);
        return doc.RootElement.GetProperty("text").GetString()!;
    }

    private static void AssertReasonsThenAnswersANumber(string text)
    {
        int close = text.IndexOf("</think>", StringComparison.Ordinal);
        Assert.True(close > 0, text);
        Assert.Matches(@"^\s*-?\d+\s*$", text[(close + "</think>".Length)..]);
    }
}

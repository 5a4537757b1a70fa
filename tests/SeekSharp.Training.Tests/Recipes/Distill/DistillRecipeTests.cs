using System.Text.Json;
using SeekSharp.Inference.Sampling;
using SeekSharp.Training.Export;
using SeekSharp.Training.Recipes.Distill;
using SeekSharp.Training.Sampling;
using SeekSharp.Training.Tasks;
using SeekSharp.Training.Tokenizers;

namespace SeekSharp.Training.Tests.Recipes.Distill;

/// <summary>Teacher traces: JSONL structure, filtering by the verifier, and the default verifier's rules.</summary>
public sealed class DistillRecipeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("seeksharp-distill-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Teacher()
    {
        string path = Path.Combine(_dir, "teacher.gguf");
        var model = RecipeFixtures.Policy(maxBatch: 1, maxSeqLen: 8, seed: 9);
        GgufExport.Write(model, path, RecipeFixtures.Tokenizer.WriteGgufMetadata, name: "teacher");
        return path;
    }

    private static (string Prompt, string Completion, bool Correct)[] Read(string path) =>
        [.. File.ReadAllLines(path).Select(line =>
        {
            var root = JsonDocument.Parse(line).RootElement;
            Assert.Equal(3, root.EnumerateObject().Count());
            return (root.GetProperty("prompt").GetString()!, root.GetProperty("completion").GetString()!, root.GetProperty("correct").GetBoolean());
        })];

    [Fact]
    public void WritesOneLinePerProblemAndKeepsOnlyVerifiedTraces()
    {
        string teacher = Teacher();
        var task = TaskRegistry.Create("addition");
        var sampling = new SamplingOptions { Temperature = 1f, TopK = 0, TopP = 1f, MinP = 0f };
        // A stub verifier that accepts about half of the replies, deterministically from their text.
        static bool Verify(Problem p, string completion, string finish) => completion.Length % 2 == 0;
        const int count = 40, seed = 5;

        string all = Path.Combine(_dir, "all.jsonl"), kept = Path.Combine(_dir, "kept.jsonl");
        int allLines = DistillRecipe.GenerateTraces(teacher, task, count, seed, all, sampling, 6, Verify, keepIncorrect: true, threads: 1);
        int keptLines = DistillRecipe.GenerateTraces(teacher, task, count, seed, kept, sampling, 6, Verify, keepIncorrect: false, threads: 1);

        var everything = Read(all);
        Assert.Equal(count, allLines);
        Assert.Equal(count, everything.Length);
        string[] prompts = [.. ProblemSets.Generate(task, ProblemSplit.Train, seed, count).Select(p => p.Prompt)];
        Assert.Equal(prompts, everything.Select(t => t.Prompt));
        Assert.All(everything, t => Assert.StartsWith(R1ChatFormat.ThinkOpen + "\n", t.Completion));
        Assert.All(everything, t => Assert.Equal(t.Completion.Length % 2 == 0, t.Correct));
        Assert.Contains(everything, t => t.Correct);
        Assert.Contains(everything, t => !t.Correct);

        // Same seed, same replies: the filtered file is exactly the correct subset, in order.
        var filtered = Read(kept);
        Assert.Equal(keptLines, filtered.Length);
        Assert.Equal(everything.Where(t => t.Correct), filtered);
        Assert.Contains("<think>", File.ReadAllText(kept)); // tags are written readably, not \u003C-escaped
    }

    [Fact]
    public void PublicOverloadKeepsNothingFromAnUntrainedTeacher()
    {
        string path = Path.Combine(_dir, "traces.jsonl");
        int written = DistillRecipe.GenerateTraces(Teacher(), TaskRegistry.Create("addition"), 8, 1, path, SamplingOptions.Greedy, 6);
        Assert.Equal(0, written);
        Assert.Empty(File.ReadAllLines(path));
    }

    [Fact]
    public void DefaultVerifierNeedsAStoppedWellFormedCorrectReply()
    {
        var task = TaskRegistry.Create("addition");
        var problem = task.Generate(new Random(3));
        string good = R1ChatFormat.ThinkOpen + "\n" + problem.Completion;
        string wrong = R1ChatFormat.ThinkOpen + "\n" + problem.Reasoning + "\n" + R1ChatFormat.ThinkClose + "\n\n" + (problem.Target + 1);
        string unclosed = R1ChatFormat.ThinkOpen + "\n" + problem.Reasoning + " " + problem.Answer;
        string noReasoning = R1ChatFormat.ThinkOpen + "\n" + R1ChatFormat.ThinkClose + "\n\n" + problem.Answer;

        Assert.True(DistillRecipe.IsCorrect(task, problem, good, Completion.Stop));
        Assert.False(DistillRecipe.IsCorrect(task, problem, good, Completion.Length));
        Assert.False(DistillRecipe.IsCorrect(task, problem, wrong, Completion.Stop));
        Assert.False(DistillRecipe.IsCorrect(task, problem, unclosed, Completion.Stop));
        Assert.False(DistillRecipe.IsCorrect(task, problem, noReasoning, Completion.Stop));
    }
}

using SeekSharp.Training.Model;
using SeekSharp.Training.Tasks;

namespace SeekSharp.Training.Data;

/// <summary>
/// Problems from the train split of several tasks, each task drawn with probability proportional to its weight, with
/// the task's worked reasoning trace as the completion. With <c>maxHistoryTurns</c> above 0 each example is a
/// conversation: 0 to <c>maxHistoryTurns</c> earlier questions (uniformly many, each from the same mix and split,
/// answered correctly) come before the one it trains on, so a follow-up question is learned as well as a first one.
/// </summary>
internal sealed class TaskMixSource : IExampleSource
{
    readonly IReasoningTask[] tasks;
    readonly double[] cumulative; // [tasks] running sum of normalised weights

    readonly int maxHistoryTurns;
    readonly double promptNoise;

    /// <param name="mix">Tasks and their weights.</param>
    /// <param name="maxHistoryTurns">Most earlier questions per conversation (0: single questions).</param>
    /// <param name="promptNoise">Chance that a user message gets noise words (<see cref="PromptNoise"/>); 0 draws nothing.</param>
    public TaskMixSource(IReadOnlyList<(IReasoningTask Task, double Weight)> mix, int maxHistoryTurns = 0, double promptNoise = 0)
    {
        if (!(promptNoise >= 0 && promptNoise <= 1)) throw new ArgumentOutOfRangeException(nameof(promptNoise), promptNoise, "a probability from 0 to 1.");
        this.promptNoise = promptNoise;
        ArgumentOutOfRangeException.ThrowIfNegative(maxHistoryTurns);
        this.maxHistoryTurns = maxHistoryTurns;
        if (mix.Count == 0) throw new ArgumentException("The task mix is empty; name at least one task.", nameof(mix));
        double total = 0;
        foreach (var (task, weight) in mix)
        {
            if (!(weight > 0) || !double.IsFinite(weight))
                throw new ArgumentException($"Task '{task.Name}' has weight {weight}; weights must be positive and finite.", nameof(mix));
            total += weight;
        }
        tasks = [.. mix.Select(m => m.Task)];
        cumulative = new double[mix.Count];
        double sum = 0;
        for (int i = 0; i < mix.Count; i++)
            cumulative[i] = (sum += mix[i].Weight / total);
    }

    public ChatExample Next(TrainingRandom random)
    {
        // No draw for the history length when there is none, so single-turn runs draw the examples they always did.
        int earlier = maxHistoryTurns == 0 ? 0 : random.NextInt(maxHistoryTurns + 1);
        var history = new (string User, string Answer)[earlier];
        for (int i = 0; i < earlier; i++)
        {
            var p = NextProblem(random);
            history[i] = (Noisy(p.Prompt, random), p.Answer);
        }
        var problem = NextProblem(random);
        return new ChatExample(history, Noisy(problem.Prompt, random), problem.Completion);
    }

    string Noisy(string user, TrainingRandom random) =>
        promptNoise > 0 && random.NextDouble() < promptNoise ? PromptNoise.Insert(user, random) : user;

    /// <summary>The next training problem; the task pick and the problem's seed both come from <paramref name="random"/>.</summary>
    public Problem NextProblem(TrainingRandom random)
    {
        double u = random.NextDouble();
        int k = 0;
        while (k < tasks.Length - 1 && u >= cumulative[k]) k++;
        int seed = random.NextInt(int.MaxValue);
        return ProblemSets.Generate(tasks[k], ProblemSplit.Train, seed, 1).First();
    }
}

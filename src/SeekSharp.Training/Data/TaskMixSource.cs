using SeekSharp.Training.Model;
using SeekSharp.Training.Tasks;

namespace SeekSharp.Training.Data;

/// <summary>
/// Problems from the train split of several tasks, each task drawn with probability proportional to its weight, with
/// the task's worked reasoning trace as the completion.
/// </summary>
internal sealed class TaskMixSource : IExampleSource
{
    readonly IReasoningTask[] tasks;
    readonly double[] cumulative; // [tasks] running sum of normalised weights

    public TaskMixSource(IReadOnlyList<(IReasoningTask Task, double Weight)> mix)
    {
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

    public (string User, string Completion) Next(TrainingRandom random)
    {
        var problem = NextProblem(random);
        return (problem.Prompt, problem.Completion);
    }

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

using SeekSharp.Training.Tasks;

namespace SeekSharp.Training.Rewards;

/// <summary>A reward written as a plain C# function, e.g. <c>new DelegateReward("short", (p, c) =&gt; c.Length &lt; 400 ? 1 : 0)</c>.</summary>
/// <param name="name">Name for logs.</param>
/// <param name="score">The reward function.</param>
public sealed class DelegateReward(string name, Func<Problem, string, double> score) : IReward
{
    readonly Func<Problem, string, double> score = score ?? throw new ArgumentNullException(nameof(score));

    /// <inheritdoc/>
    public string Name { get; } = name ?? throw new ArgumentNullException(nameof(name));

    /// <inheritdoc/>
    public double Score(Problem problem, string completion) => score(problem, completion);
}

using SeekSharp.Training.Tasks;

namespace SeekSharp.Training.Rewards;

/// <summary>A weighted sum of rewards: <c>Σ weight_i · reward_i</c>.</summary>
public sealed class WeightedReward : IReward
{
    readonly (IReward Reward, double Weight)[] parts;

    /// <summary>Combines <paramref name="parts"/>.</summary>
    /// <exception cref="ArgumentException">No parts, or a weight that is not finite.</exception>
    public WeightedReward(params (IReward Reward, double Weight)[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Length == 0) throw new ArgumentException("A weighted reward needs at least one part.", nameof(parts));
        foreach (var (reward, weight) in parts)
        {
            ArgumentNullException.ThrowIfNull(reward, nameof(parts));
            if (!double.IsFinite(weight)) throw new ArgumentException($"Weight of '{reward.Name}' is {weight}; weights must be finite.", nameof(parts));
        }
        this.parts = [.. parts];
    }

    /// <summary>
    /// The R1 recipe's rule-based rewards: answer correctness (weight 1) plus format (weight 0.1). Format is learned
    /// quickly; a small weight rewards it without letting well-formed wrong answers compete with correct ones.
    /// </summary>
    /// <param name="promptOpensThinking">True when prompts end inside <c>&lt;think&gt;</c> (R1's template).</param>
    public static WeightedReward R1Default(bool promptOpensThinking = true) =>
        new((new AnswerReward(null, promptOpensThinking), 1.0), (new FormatReward(promptOpensThinking), 0.1));

    /// <summary>The parts with their weights, in order.</summary>
    public IReadOnlyList<(IReward Reward, double Weight)> Parts => parts;

    /// <inheritdoc/>
    public string Name => string.Join("+", parts.Select(p => p.Reward.Name));

    /// <inheritdoc/>
    public double Score(Problem problem, string completion)
    {
        double total = 0;
        foreach (var (reward, weight) in parts) total += weight * reward.Score(problem, completion);
        return total;
    }

    /// <summary>Each part's unweighted score, in <see cref="Parts"/> order (for logging accuracy and format rate).</summary>
    public double[] ScoreParts(Problem problem, string completion) =>
        [.. parts.Select(p => p.Reward.Score(problem, completion))];
}

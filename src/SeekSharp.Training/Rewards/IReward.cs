using SeekSharp.Training.Tasks;

namespace SeekSharp.Training.Rewards;

/// <summary>
/// A rule-based reward for one sampled completion, as GRPO uses them (no learned reward model). The completion is the
/// generated text after the prompt, decoded without rendering control tokens (so no EOS text). Prompts rendered with
/// R1's template end with <c>&lt;think&gt;\n</c>, so a completion normally starts inside the reasoning.
/// </summary>
public interface IReward
{
    /// <summary>Name for logs ("format", "answer", ...).</summary>
    string Name { get; }

    /// <summary>The reward of <paramref name="completion"/> for <paramref name="problem"/>. Never throws on malformed text.</summary>
    double Score(Problem problem, string completion);
}

using SeekSharp.Training.Tasks;

namespace SeekSharp.Training.Rewards;

/// <summary>1 when the completion follows the R1 format (<see cref="CompletionFormat"/>), else 0.</summary>
/// <param name="promptOpensThinking">True (the default) for prompts rendered with R1's generation prompt, which already
/// opens <c>&lt;think&gt;</c>.</param>
public sealed class FormatReward(bool promptOpensThinking = true) : IReward
{
    /// <inheritdoc/>
    public string Name => "format";

    /// <inheritdoc/>
    public double Score(Problem problem, string completion) =>
        CompletionFormat.TryParse(completion, promptOpensThinking, out _, out _) ? 1.0 : 0.0;
}

using System.Collections.Concurrent;
using SeekSharp.Chat.Reasoning;
using SeekSharp.Training.Tasks;

namespace SeekSharp.Training.Rewards;

/// <summary>
/// 1 when the final answer is correct, else 0. The answer is what a chat user would see: the completion split by the
/// engine's <see cref="ReasoningParser"/> (text after the closing <c>&lt;/think&gt;</c>, leading whitespace dropped),
/// verified by the problem's task. A completion that never closes its reasoning has no answer and scores 0; the
/// format itself is <see cref="FormatReward"/>'s concern, so a correct answer in a sloppy format still scores here.
/// </summary>
public sealed class AnswerReward : IReward
{
    readonly IReasoningTask? task;
    readonly bool promptOpensThinking;
    readonly ConcurrentDictionary<string, IReasoningTask> tasksByName = new(StringComparer.Ordinal);

    /// <summary>Creates the reward.</summary>
    /// <param name="task">The verifier; when null each problem is verified by the registered task named by
    /// <see cref="Problem.Task"/> (<see cref="TaskRegistry"/>).</param>
    /// <param name="promptOpensThinking">True (the default) when the prompt ends inside <c>&lt;think&gt;</c>.</param>
    public AnswerReward(IReasoningTask? task = null, bool promptOpensThinking = true)
    {
        this.task = task;
        this.promptOpensThinking = promptOpensThinking;
    }

    /// <inheritdoc/>
    public string Name => "answer";

    /// <summary>The final answer of <paramref name="completion"/> (empty when the reasoning is never closed).</summary>
    public string ExtractAnswer(string completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        return ReasoningParser.Split(completion, promptOpensThinking).Content;
    }

    /// <inheritdoc/>
    public double Score(Problem problem, string completion)
    {
        ArgumentNullException.ThrowIfNull(problem);
        string answer = ExtractAnswer(completion);
        if (answer.Length == 0) return 0.0;
        var verifier = task ?? tasksByName.GetOrAdd(problem.Task, name => TaskRegistry.Create(name));
        return verifier.Verify(problem, answer) ? 1.0 : 0.0;
    }
}

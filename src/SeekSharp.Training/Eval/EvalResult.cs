using SeekSharp.Training.Tasks;

namespace SeekSharp.Training.Eval;

/// <summary>The outcome of <see cref="Evaluator.Run"/> on one task.</summary>
/// <param name="Task">Task name.</param>
/// <param name="Digits">The operands' digit ranges (<c>AxB</c>), or null for a task without them.</param>
/// <param name="Split">The split the problems came from.</param>
/// <param name="Requested">Problems asked for.</param>
/// <param name="N">Problems answered: distinct problems (no two of one key), fewer than <paramref name="Requested"/>
/// only when the split holds fewer.</param>
/// <param name="Accuracy">Fraction whose final answer (after <c>&lt;/think&gt;</c>) verifies.</param>
/// <param name="FormatRate">Fraction in the strict R1 format (reasoning, one <c>&lt;/think&gt;</c>, a non-empty answer).</param>
/// <param name="MeanCompletionTokens">Mean generated tokens per answer.</param>
/// <param name="TruncatedRate">Fraction cut off at the token limit before ending.</param>
/// <param name="Seconds">Wall time of the generation.</param>
public sealed record EvalResult(string Task, string? Digits, ProblemSplit Split, int Requested, int N, double Accuracy,
    double FormatRate, double MeanCompletionTokens, double TruncatedRate, double Seconds)
{
    /// <summary>The task spec with its digits, e.g. <c>addition-3x3</c> (<see cref="TaskRegistry.Create(string)"/> reads it).</summary>
    public string Label => TaskRegistry.Label(Task, Digits);

    /// <summary>Which question of a conversation these answers are (1: the first, or a single question).</summary>
    public int Turn { get; init; } = 1;
}

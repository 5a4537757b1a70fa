namespace SeekSharp.Training.Eval;

/// <summary>The outcome of <see cref="Evaluator.Run"/> on one task.</summary>
/// <param name="Task">Task name.</param>
/// <param name="N">Held-out problems answered.</param>
/// <param name="Accuracy">Fraction whose final answer (after <c>&lt;/think&gt;</c>) verifies.</param>
/// <param name="FormatRate">Fraction in the strict R1 format (reasoning, one <c>&lt;/think&gt;</c>, a non-empty answer).</param>
/// <param name="MeanCompletionTokens">Mean generated tokens per answer.</param>
/// <param name="TruncatedRate">Fraction cut off at the token limit before ending.</param>
/// <param name="Seconds">Wall time of the generation.</param>
public sealed record EvalResult(string Task, int N, double Accuracy, double FormatRate, double MeanCompletionTokens,
    double TruncatedRate, double Seconds);

using SeekSharp.Training.Tokenizers;

namespace SeekSharp.Training.Tasks;

/// <summary>One generated problem with its canonical answer and a worked reasoning trace for supervised training.</summary>
/// <param name="Task">The <see cref="IReasoningTask.Name"/> of the task that made it.</param>
/// <param name="Key">The problem's identity, independent of phrasing (e.g. "347+829"; commutative operands sorted), so
/// the splits keep a validation or test problem out of training whatever words ask it.</param>
/// <param name="Prompt">The question as the user asks it.</param>
/// <param name="Answer">The canonical final answer (a number, or a countdown expression).</param>
/// <param name="Reasoning">Step-by-step working that ends at the answer, meant to sit inside <c>&lt;think&gt;…&lt;/think&gt;</c>.</param>
/// <param name="Numbers">The numbers the problem gives: the two operands, or the countdown numbers.</param>
/// <param name="Target">The value the answer must have: the exact result, or the countdown target.</param>
public sealed record Problem(string Task, string Key, string Prompt, string Answer, string Reasoning,
    IReadOnlyList<long> Numbers, long Target)
{
    /// <summary>
    /// The assistant output that follows a prompt rendered with R1's generation prompt (which already ends with
    /// <c>&lt;think&gt;\n</c>): the reasoning, <c>\n&lt;/think&gt;\n\n</c>, then the answer. EOS is not included.
    /// </summary>
    public string Completion => $"{Reasoning}\n{R1ChatFormat.ThinkClose}\n\n{Answer}";
}

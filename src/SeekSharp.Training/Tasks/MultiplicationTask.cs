using System.Globalization;
using System.Text;

namespace SeekSharp.Training.Tasks;

/// <summary>a × b, a with up to <c>maxLeftDigits</c> and b with up to <c>maxRightDigits</c> digits; the trace is long
/// multiplication: one partial product per digit of b with its carries, then column additions.</summary>
public sealed class MultiplicationTask : IReasoningTask
{
    static readonly string[] Templates =
    [
        "What is {0} * {1}?",
        "Compute {0} times {1}.",
        "Multiply {0} by {1}.",
        "What is the product of {0} and {1}?",
        "Calculate {0} × {1}.",
        "{0} × {1} = ?",
        "How much is {0} times {1}?",
        "Find the product: {0} * {1}.",
    ];

    readonly int maxLeftDigits, maxRightDigits;

    /// <summary>Creates the task; the left operand has 1..<paramref name="maxLeftDigits"/> digits, the right one
    /// 1..<paramref name="maxRightDigits"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Digit counts outside 1..9.</exception>
    public MultiplicationTask(int maxLeftDigits = 3, int maxRightDigits = 2)
    {
        RandomOperands.ValidateDigits(1, maxLeftDigits, limit: 9, nameof(maxLeftDigits));
        RandomOperands.ValidateDigits(1, maxRightDigits, limit: 9, nameof(maxRightDigits));
        (this.maxLeftDigits, this.maxRightDigits) = (maxLeftDigits, maxRightDigits);
    }

    /// <inheritdoc/>
    public string Name => "multiplication";

    /// <inheritdoc/>
    public Problem Generate(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        long a = RandomOperands.WithDigits(rng, 1, maxLeftDigits);
        long b = RandomOperands.WithDigits(rng, 1, maxRightDigits);
        string prompt = PromptPhrasing.Format(rng, Templates, a, b);
        var trace = new StringBuilder("Multiply by each digit of the second number from the right, then add the partial products.\n");
        ColumnArithmetic.Multiplication(trace, a, b);
        // Multiplication commutes: a×b and b×a are one problem for the held-out split, although their traces differ.
        string key = string.Create(CultureInfo.InvariantCulture, $"{Math.Min(a, b)}*{Math.Max(a, b)}");
        return new Problem(Name, key, prompt, (a * b).ToString(CultureInfo.InvariantCulture), trace.ToString(), [a, b], a * b);
    }

    /// <inheritdoc/>
    public bool Verify(Problem problem, string answer)
    {
        ArgumentNullException.ThrowIfNull(problem);
        return IntegerAnswer.Matches(answer, problem.Target);
    }
}

using System.Globalization;
using System.Text;

namespace SeekSharp.Training.Tasks;

/// <summary>a × b, a and b each with a digit count in their own range (by default 1-3 and 1-2); the trace is long
/// multiplication: one partial product per digit of b with its carries, then column additions.</summary>
public sealed class MultiplicationTask : IReasoningTask
{
    // Trained phrasings first, then the held-out third that no training run asks in (seek eval --phrasings held-out).
    internal static readonly PhrasingTemplates Sentences = new(
    [
        "What is {0} * {1}?",
        "Compute {0} times {1}.",
        "Multiply {0} by {1}.",
        "What is the product of {0} and {1}?",
        "Calculate {0} × {1}.",
        "{0} × {1} = ?",
        "How much is {0} times {1}?",
        "Find the product: {0} * {1}.",
        "{0} multiplied by {1} is how much?",
        "What's {0}*{1}?",
        "I have {1} boxes of {0} apples. How many apples do I have?",
        "what is {0} times {1}",
        "Evaluate {0} * {1}.",
        "Multiply {0} and {1} together.",
    ],
    [
        "What do you get when you multiply {0} by {1}?",
        "If you multiply {0} by {1}, what is the result?",
        "Please work out {0} times {1}.",
        "{0} times {1} equals what?",
        "Can you tell me the product of {0} and {1}?",
        "Quick question: {0} * {1}?",
        "Tell me what {0} × {1} is.",
    ]);

    /// <summary>Most digits of an operand (products stay inside <see cref="long"/>).</summary>
    public const int MaxDigits = 9;

    readonly OperandDigits digits;

    /// <summary>Creates the task; the left operand has 1..<paramref name="maxLeftDigits"/> digits, the right one
    /// 1..<paramref name="maxRightDigits"/>.</summary>
    /// <exception cref="ArgumentException">Digit counts outside 1..9.</exception>
    public MultiplicationTask(int maxLeftDigits = 3, int maxRightDigits = 2)
        : this(new OperandDigits(new DigitRange(1, maxLeftDigits), new DigitRange(1, maxRightDigits))) { }

    /// <summary>Creates the task with its own digit range per operand.</summary>
    /// <exception cref="ArgumentException">A digit count outside 1..9 or a min above its max.</exception>
    public MultiplicationTask(OperandDigits digits)
    {
        digits.Left.Validate(MaxDigits);
        digits.Right.Validate(MaxDigits);
        this.digits = digits;
    }

    /// <inheritdoc/>
    public PhrasingSet Phrasings { get; init; }

    /// <inheritdoc/>
    public string Name => "multiplication";

    /// <inheritdoc/>
    public string? Digits => digits.ToString();

    /// <inheritdoc/>
    public Problem Generate(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        long a = digits.Left.Draw(rng);
        long b = digits.Right.Draw(rng);
        string prompt = Sentences.Format(rng, Phrasings, a, b);
        var trace = new StringBuilder("Multiply by each digit of the second number from the right, then add the partial products.\n");
        ColumnArithmetic.Multiplication(trace, a, b);
        // Multiplication commutes: a×b and b×a are one problem, so they share a split, although their traces differ.
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

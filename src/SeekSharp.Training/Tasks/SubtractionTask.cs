using System.Globalization;
using System.Text;

namespace SeekSharp.Training.Tasks;

/// <summary>a - b with a ≥ b (results are never negative: the larger operand is put first, so digits 2x3 ask the same
/// problems as 3x2); the trace subtracts column by column with borrows.</summary>
public sealed class SubtractionTask : IReasoningTask
{
    // Trained phrasings first, then the held-out third that no training run asks in (seek eval --phrasings held-out).
    internal static readonly PhrasingTemplates Sentences = new(
    [
        "What is {0} - {1}?",
        "Compute {0} minus {1}.",
        "Subtract {1} from {0}.",
        "What is the difference between {0} and {1}?",
        "Calculate {0} - {1}.",
        "{0} - {1} = ?",
        "How much is {0} minus {1}?",
        "Take {1} away from {0}.",
        "Find the difference: {0} - {1}.",
        "What's {0}-{1}?",
        "I have {0} apples and give away {1}. How many apples do I have now?",
        "what is {0} minus {1}",
        "Evaluate {0} - {1}.",
        "How much is left when {1} is taken from {0}?",
    ],
    [
        "What do you get when you subtract {1} from {0}?",
        "If you subtract {1} from {0}, what is the result?",
        "Please work out {0} minus {1}.",
        "{0} minus {1} equals what?",
        "Can you tell me the difference between {0} and {1}?",
        "Quick question: {0} - {1}?",
        "Tell me what {0} - {1} is.",
    ]);

    /// <summary>Most digits of an operand (results stay well inside <see cref="long"/>).</summary>
    public const int MaxDigits = 15;

    readonly OperandDigits digits;

    /// <summary>Creates the task; each operand gets between <paramref name="minDigits"/> and <paramref name="maxDigits"/> digits.</summary>
    /// <exception cref="ArgumentException">Digit counts outside 1..15 or min above max.</exception>
    public SubtractionTask(int minDigits = 1, int maxDigits = 3)
        : this(new OperandDigits(new DigitRange(minDigits, maxDigits), new DigitRange(minDigits, maxDigits))) { }

    /// <summary>Creates the task with its own digit range per operand.</summary>
    /// <exception cref="ArgumentException">A digit count outside 1..15 or a min above its max.</exception>
    public SubtractionTask(OperandDigits digits)
    {
        digits.Left.Validate(MaxDigits);
        digits.Right.Validate(MaxDigits);
        this.digits = digits;
    }

    /// <inheritdoc/>
    public PhrasingSet Phrasings { get; init; }

    /// <inheritdoc/>
    public string Name => "subtraction";

    /// <inheritdoc/>
    public string? Digits => digits.ToString();

    /// <inheritdoc/>
    public Problem Generate(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        long a = digits.Left.Draw(rng);
        long b = digits.Right.Draw(rng);
        if (a < b) (a, b) = (b, a);
        string prompt = Sentences.Format(rng, Phrasings, a, b);
        var trace = new StringBuilder("Subtract the digits column by column from the right, borrowing when a column is negative.\n");
        ColumnArithmetic.Subtraction(trace, a, b);
        string key = string.Create(CultureInfo.InvariantCulture, $"{a}-{b}");
        return new Problem(Name, key, prompt, (a - b).ToString(CultureInfo.InvariantCulture), trace.ToString(), [a, b], a - b);
    }

    /// <inheritdoc/>
    public bool Verify(Problem problem, string answer)
    {
        ArgumentNullException.ThrowIfNull(problem);
        return IntegerAnswer.Matches(answer, problem.Target);
    }
}

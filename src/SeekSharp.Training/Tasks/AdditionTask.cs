using System.Globalization;
using System.Text;

namespace SeekSharp.Training.Tasks;

/// <summary>a + b with operands of a configurable number of digits; the trace adds column by column with carries.</summary>
public sealed class AdditionTask : IReasoningTask
{
    // Trained phrasings first, then the held-out third that no training run asks in (seek eval --phrasings held-out).
    internal static readonly PhrasingTemplates Sentences = new(
    [
        "What is {0} + {1}?",
        "Compute {0} plus {1}.",
        "Add {0} and {1}.",
        "What is the sum of {0} and {1}?",
        "Calculate {0} + {1}.",
        "{0} + {1} = ?",
        "How much is {0} plus {1}?",
        "Find the sum: {0} + {1}.",
        "Add {1} to {0}.",
        "What's {0}+{1}?",
        "I have {0} apples and get {1} more. How many apples do I have now?",
        "what is {0} plus {1}",
        "Evaluate {0} + {1}.",
        "Sum {0} and {1}, please.",
    ],
    [
        "What do you get when you add {1} to {0}?",
        "If you add {0} and {1}, what is the result?",
        "Please work out {0} plus {1}.",
        "{0} plus {1} equals what?",
        "Can you tell me the sum of {0} and {1}?",
        "Quick question: {0} + {1}?",
        "Tell me what {0} + {1} is.",
    ]);

    /// <summary>Most digits of an operand (results stay well inside <see cref="long"/>).</summary>
    public const int MaxDigits = 15;

    readonly OperandDigits digits;

    /// <summary>Creates the task; each operand gets between <paramref name="minDigits"/> and <paramref name="maxDigits"/> digits.</summary>
    /// <exception cref="ArgumentException">Digit counts outside 1..15 or min above max.</exception>
    public AdditionTask(int minDigits = 1, int maxDigits = 3)
        : this(new OperandDigits(new DigitRange(minDigits, maxDigits), new DigitRange(minDigits, maxDigits))) { }

    /// <summary>Creates the task with its own digit range per operand.</summary>
    /// <exception cref="ArgumentException">A digit count outside 1..15 or a min above its max.</exception>
    public AdditionTask(OperandDigits digits)
    {
        digits.Left.Validate(MaxDigits);
        digits.Right.Validate(MaxDigits);
        this.digits = digits;
    }

    /// <inheritdoc/>
    public PhrasingSet Phrasings { get; init; }

    /// <inheritdoc/>
    public string Name => "addition";

    /// <inheritdoc/>
    public string? Digits => digits.ToString();

    /// <inheritdoc/>
    public Problem Generate(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        long a = digits.Left.Draw(rng);
        long b = digits.Right.Draw(rng);
        string prompt = Sentences.Format(rng, Phrasings, a, b);
        var trace = new StringBuilder("Add the digits column by column from the right, carrying tens.\n");
        ColumnArithmetic.Addition(trace, a, b);
        // Addition commutes: a+b and b+a are one problem, so they share a split.
        string key = string.Create(CultureInfo.InvariantCulture, $"{Math.Min(a, b)}+{Math.Max(a, b)}");
        return new Problem(Name, key, prompt, (a + b).ToString(CultureInfo.InvariantCulture), trace.ToString(), [a, b], a + b);
    }

    /// <inheritdoc/>
    public bool Verify(Problem problem, string answer)
    {
        ArgumentNullException.ThrowIfNull(problem);
        return IntegerAnswer.Matches(answer, problem.Target);
    }
}

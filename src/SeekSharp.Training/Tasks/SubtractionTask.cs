using System.Globalization;
using System.Text;

namespace SeekSharp.Training.Tasks;

/// <summary>a - b with a ≥ b (results are never negative); the trace subtracts column by column with borrows.</summary>
public sealed class SubtractionTask : IReasoningTask
{
    static readonly string[] Templates =
    [
        "What is {0} - {1}?",
        "Compute {0} minus {1}.",
        "Subtract {1} from {0}.",
        "What is the difference between {0} and {1}?",
        "Calculate {0} - {1}.",
        "{0} - {1} = ?",
        "How much is {0} minus {1}?",
        "Take {1} away from {0}.",
    ];

    readonly int minDigits, maxDigits;

    /// <summary>Creates the task; each operand gets between <paramref name="minDigits"/> and <paramref name="maxDigits"/> digits.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Digit counts outside 1..15 or min above max.</exception>
    public SubtractionTask(int minDigits = 1, int maxDigits = 3)
    {
        RandomOperands.ValidateDigits(minDigits, maxDigits, limit: 15, nameof(maxDigits));
        (this.minDigits, this.maxDigits) = (minDigits, maxDigits);
    }

    /// <inheritdoc/>
    public string Name => "subtraction";

    /// <inheritdoc/>
    public Problem Generate(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        long a = RandomOperands.WithDigits(rng, minDigits, maxDigits);
        long b = RandomOperands.WithDigits(rng, minDigits, maxDigits);
        if (a < b) (a, b) = (b, a);
        string prompt = PromptPhrasing.Format(rng, Templates, a, b);
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

using System.Globalization;
using System.Text;

namespace SeekSharp.Training.Tasks;

/// <summary>a + b with operands of a configurable number of digits; the trace adds column by column with carries.</summary>
public sealed class AdditionTask : IReasoningTask
{
    static readonly string[] Templates =
    [
        "What is {0} + {1}?",
        "Compute {0} plus {1}.",
        "Add {0} and {1}.",
        "What is the sum of {0} and {1}?",
        "Calculate {0} + {1}.",
        "{0} + {1} = ?",
        "How much is {0} plus {1}?",
        "Find the sum: {0} + {1}.",
    ];

    readonly int minDigits, maxDigits;

    /// <summary>Creates the task; each operand gets between <paramref name="minDigits"/> and <paramref name="maxDigits"/> digits.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Digit counts outside 1..15 or min above max.</exception>
    public AdditionTask(int minDigits = 1, int maxDigits = 3)
    {
        RandomOperands.ValidateDigits(minDigits, maxDigits, limit: 15, nameof(maxDigits));
        (this.minDigits, this.maxDigits) = (minDigits, maxDigits);
    }

    /// <inheritdoc/>
    public string Name => "addition";

    /// <inheritdoc/>
    public Problem Generate(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        long a = RandomOperands.WithDigits(rng, minDigits, maxDigits);
        long b = RandomOperands.WithDigits(rng, minDigits, maxDigits);
        string prompt = PromptPhrasing.Format(rng, Templates, a, b);
        var trace = new StringBuilder("Add the digits column by column from the right, carrying tens.\n");
        ColumnArithmetic.Addition(trace, a, b);
        // Addition commutes: a+b and b+a are one problem for the held-out split.
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

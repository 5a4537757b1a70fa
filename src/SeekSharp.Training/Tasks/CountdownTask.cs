using System.Globalization;
using System.Text;

namespace SeekSharp.Training.Tasks;

/// <summary>
/// Countdown: given 3-4 numbers and a target, write an expression with + - * / that equals the target, using each
/// number at most once. The generator builds the target from a random combination of all the numbers, so every problem
/// is solvable and the trace is that combination step by step. Numbers are small (1-10) or large (25, 50, 75, 100)
/// as in the television game; every intermediate of the generated solution is a positive integer.
/// </summary>
/// <remarks>The verifier (see <see cref="Verify"/>) is more permissive than the generator: any subset of the numbers,
/// exact rational intermediates, optional "= target" at the end.</remarks>
public sealed class CountdownTask : IReasoningTask
{
    // Trained phrasings first, then the held-out third that no training run asks in (seek eval --phrasings held-out).
    internal static readonly PhrasingTemplates Sentences = new(
    [
        "Using {0}, make {1}.",
        "Use the numbers {0} to make {1}. You may use +, -, * and /, and each number at most once.",
        "Reach {1} with {0} using + - * /, each number at most once.",
        "Combine {0} with +, -, * and / to get {1}.",
        "Make {1} from the numbers {0}.",
        "Numbers: {0}. Target: {1}. Write an expression that reaches the target.",
        "Find an expression using {0} that equals {1}.",
        "How can you make {1} with {0}?",
        "Using only {0} and + - * /, reach {1}.",
        "Build {1} out of {0}.",
        "Get to {1} using {0}, each at most once.",
        "I have the numbers {0}. How do I make {1}?",
        "make {1} using {0}",
        "Write {1} as an expression of {0}.",
    ],
    [
        "Is there a way to make {1} from {0}?",
        "If you combine {0}, can you make {1}?",
        "Please work out how to make {1} from {0}.",
        "{0}: which expression equals {1}?",
        "Can you tell me how to make {1} with {0}?",
        "Quick question: make {1} from {0}?",
        "Tell me how {0} can make {1}.",
    ]);

    static readonly int[] LargeNumbers = [25, 50, 75, 100];

    // A whole problem is redrawn when its target falls outside the range; a few draws suffice in practice.
    const int MaxDraws = 10_000;

    readonly int minNumbers, maxNumbers, minTarget, maxTarget;

    /// <summary>Creates the task.</summary>
    /// <param name="minNumbers">Fewest numbers given (at least 2).</param>
    /// <param name="maxNumbers">Most numbers given (at most 6).</param>
    /// <param name="minTarget">Smallest target.</param>
    /// <param name="maxTarget">Largest target.</param>
    /// <exception cref="ArgumentOutOfRangeException">Inconsistent ranges.</exception>
    public CountdownTask(int minNumbers = 3, int maxNumbers = 4, int minTarget = 10, int maxTarget = 999)
    {
        if (minNumbers < 2 || maxNumbers < minNumbers || maxNumbers > 6)
            throw new ArgumentOutOfRangeException(nameof(maxNumbers), $"need 2 <= minNumbers ({minNumbers}) <= maxNumbers ({maxNumbers}) <= 6.");
        if (minTarget < 1 || maxTarget < minTarget)
            throw new ArgumentOutOfRangeException(nameof(maxTarget), $"need 1 <= minTarget ({minTarget}) <= maxTarget ({maxTarget}).");
        (this.minNumbers, this.maxNumbers, this.minTarget, this.maxTarget) = (minNumbers, maxNumbers, minTarget, maxTarget);
    }

    /// <inheritdoc/>
    public PhrasingSet Phrasings { get; init; }

    /// <inheritdoc/>
    public string Name => "countdown";

    // A partial solution: its value, its expression text and the precedence of its top operator (3 for a number).
    readonly record struct Part(long Value, string Text, int Precedence);

    /// <inheritdoc/>
    public Problem Generate(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        for (int draw = 0; draw < MaxDraws; draw++)
        {
            int k = rng.Next(minNumbers, maxNumbers + 1);
            var numbers = new long[k];
            for (int i = 0; i < k; i++)
                numbers[i] = rng.Next(4) == 0 ? LargeNumbers[rng.Next(LargeNumbers.Length)] : rng.Next(1, 11);

            var parts = numbers.Select(n => new Part(n, n.ToString(CultureInfo.InvariantCulture), 3)).ToList();
            var steps = new StringBuilder();
            while (parts.Count > 1)
            {
                int i = rng.Next(parts.Count);
                int j = rng.Next(parts.Count - 1);
                if (j >= i) j++;
                var (a, b) = (parts[i], parts[j]);
                if (a.Value < b.Value) (a, b) = (b, a);   // larger first: differences and quotients stay positive
                var part = Combine(rng, a, b, steps);
                parts.RemoveAt(Math.Max(i, j));
                parts.RemoveAt(Math.Min(i, j));
                parts.Add(part);
            }
            long target = parts[0].Value;
            if (target < minTarget || target > maxTarget || numbers.Contains(target)) continue;

            string list = ListText(numbers);
            string prompt = Sentences.Format(rng, Phrasings, list, target);
            string answer = parts[0].Text;
            string reasoning = $"Combine two numbers at a time until only the target is left.\n{steps}{answer} = {target}";
            string key = string.Join(",", numbers.Order()) + "->" + target.ToString(CultureInfo.InvariantCulture);
            return new Problem(Name, key, prompt, answer, reasoning, numbers, target);
        }
        throw new InvalidOperationException($"Countdown: no target in [{minTarget}, {maxTarget}] after {MaxDraws} draws; widen the target range.");
    }

    static Part Combine(Random rng, Part a, Part b, StringBuilder steps)
    {
        // Trivial steps (- to zero, * 1, / 1) are left out so every step of the trace does something.
        Span<char> ops = stackalloc char[4];
        int n = 0;
        ops[n++] = '+';
        if (a.Value > b.Value) ops[n++] = '-';
        if (b.Value > 1) ops[n++] = '*';
        if (b.Value > 1 && a.Value % b.Value == 0) ops[n++] = '/';
        char op = ops[rng.Next(n)];
        long value = op switch { '+' => a.Value + b.Value, '-' => a.Value - b.Value, '*' => a.Value * b.Value, _ => a.Value / b.Value };
        int precedence = op is '+' or '-' ? 1 : 2;
        string left = a.Precedence < precedence ? $"({a.Text})" : a.Text;
        // The right side also needs parentheses at equal precedence under - and / (a - (b + c), a / (b * c)).
        string right = b.Precedence < precedence || (b.Precedence == precedence && op is '-' or '/') ? $"({b.Text})" : b.Text;
        steps.Append(CultureInfo.InvariantCulture, $"{a.Value} {op} {b.Value} = {value}\n");
        return new Part(value, $"{left} {op} {right}", precedence);
    }

    static string ListText(long[] numbers)
    {
        var s = numbers.Select(n => n.ToString(CultureInfo.InvariantCulture)).ToArray();
        return s.Length == 1 ? s[0] : string.Join(", ", s[..^1]) + " and " + s[^1];
    }

    /// <summary>
    /// True when <paramref name="answer"/> is an expression over some of the problem's numbers, each used at most as
    /// often as it is given, whose exact value is the target. Intermediates may be fractions; division by zero, unary
    /// minus, other numbers, other symbols, or a wrong "= N" suffix make it false.
    /// </summary>
    public bool Verify(Problem problem, string answer)
    {
        ArgumentNullException.ThrowIfNull(problem);
        if (!CountdownExpression.TryEvaluate(answer, out var value, out var literals)) return false;
        var available = problem.Numbers.GroupBy(n => n).ToDictionary(g => g.Key, g => g.Count());
        foreach (long literal in literals)
        {
            if (!available.TryGetValue(literal, out int left) || left == 0) return false;
            available[literal] = left - 1;
        }
        return value == Rational.FromInteger(problem.Target);
    }
}

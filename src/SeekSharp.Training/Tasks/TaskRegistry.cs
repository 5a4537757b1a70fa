namespace SeekSharp.Training.Tasks;

/// <summary>
/// The built-in tasks by name, each with its default configuration, or with chosen operand lengths: a spec
/// <c>addition-3x3</c> (or <see cref="Create(string, string?)"/> with digits <c>3</c>) asks for two 3-digit operands.
/// </summary>
public static class TaskRegistry
{
    static readonly Dictionary<string, Func<OperandDigits?, PhrasingSet, IReasoningTask>> Factories = new(StringComparer.Ordinal)
    {
        ["addition"] = (d, p) => d is { } x ? new AdditionTask(x) { Phrasings = p } : new AdditionTask { Phrasings = p },
        ["subtraction"] = (d, p) => d is { } x ? new SubtractionTask(x) { Phrasings = p } : new SubtractionTask { Phrasings = p },
        ["multiplication"] = (d, p) => d is { } x ? new MultiplicationTask(x) { Phrasings = p } : new MultiplicationTask { Phrasings = p },
        ["countdown"] = (d, p) => d is null ? new CountdownTask { Phrasings = p }
            : throw new ArgumentException("countdown has no operand digits; its numbers are 1-10 or 25, 50, 75, 100 as in the game."),
    };

    /// <summary>The registered names.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Factories.Keys];

    /// <summary>
    /// A new instance of the task that <paramref name="spec"/> names: a registered name (default configuration) or
    /// <c>name-AxB</c> with operand digit ranges (<see cref="OperandDigits.Parse"/>), e.g. <c>addition-3x3</c>,
    /// <c>multiplication-3x2</c>, <c>subtraction-1-3x1-3</c>.
    /// </summary>
    /// <param name="spec">The task spec.</param>
    /// <param name="phrasings">The phrasings its questions are asked in (training always uses the trained ones).</param>
    /// <exception cref="ArgumentException">No task has this name, or the digits are malformed.</exception>
    public static IReasoningTask Create(string spec, PhrasingSet phrasings = PhrasingSet.Trained)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (Factories.ContainsKey(spec)) return Create(spec, null, phrasings);
        int dash = spec.IndexOf('-');
        if (dash > 0 && Factories.ContainsKey(spec[..dash])) return Create(spec[..dash], spec[(dash + 1)..], phrasings);
        return Create(spec, null, phrasings);
    }

    /// <summary>The task called <paramref name="name"/> with operand digits <paramref name="digits"/> (<c>3</c>,
    /// <c>3,2</c>, <c>3x2</c>, <c>1-3</c>), or its default configuration when null.</summary>
    /// <exception cref="ArgumentException">No task has this name, it has no operands, or the digits are malformed.</exception>
    public static IReasoningTask Create(string name, string? digits, PhrasingSet phrasings = PhrasingSet.Trained)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!Factories.TryGetValue(name, out var factory))
            throw new ArgumentException($"Unknown task '{name}'; known tasks: {string.Join(", ", Names)} (add -AxB for operand digits, e.g. addition-3x3).", nameof(name));
        int limit = name == "multiplication" ? MultiplicationTask.MaxDigits : AdditionTask.MaxDigits;
        return factory(digits is null ? null : OperandDigits.Parse(digits, limit), phrasings);
    }

    /// <summary>The spec that <see cref="Create(string)"/> reads back: the name, with <c>-AxB</c> when the task has operands.</summary>
    public static string Label(IReasoningTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return Label(task.Name, task.Digits);
    }

    /// <summary>The spec of task <paramref name="name"/> with operand digits <paramref name="digits"/> (<c>AxB</c>, or null).</summary>
    public static string Label(string name, string? digits) => digits is null ? name : $"{name}-{digits}";
}

namespace SeekSharp.Training.Tasks;

/// <summary>
/// The built-in tasks by name, each with its default configuration, or with chosen operand lengths: a spec
/// <c>addition-3x3</c> (or <see cref="Create(string, string?)"/> with digits <c>3</c>) asks for two 3-digit operands.
/// </summary>
public static class TaskRegistry
{
    static readonly Dictionary<string, Func<OperandDigits?, IReasoningTask>> Factories = new(StringComparer.Ordinal)
    {
        ["addition"] = d => d is { } x ? new AdditionTask(x) : new AdditionTask(),
        ["subtraction"] = d => d is { } x ? new SubtractionTask(x) : new SubtractionTask(),
        ["multiplication"] = d => d is { } x ? new MultiplicationTask(x) : new MultiplicationTask(),
        ["countdown"] = d => d is null ? new CountdownTask()
            : throw new ArgumentException("countdown has no operand digits; its numbers are 1-10 or 25, 50, 75, 100 as in the game."),
    };

    /// <summary>The registered names.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Factories.Keys];

    /// <summary>
    /// A new instance of the task that <paramref name="spec"/> names: a registered name (default configuration) or
    /// <c>name-AxB</c> with operand digit ranges (<see cref="OperandDigits.Parse"/>), e.g. <c>addition-3x3</c>,
    /// <c>multiplication-3x2</c>, <c>subtraction-1-3x1-3</c>.
    /// </summary>
    /// <exception cref="ArgumentException">No task has this name, or the digits are malformed.</exception>
    public static IReasoningTask Create(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (Factories.ContainsKey(spec)) return Create(spec, null);
        int dash = spec.IndexOf('-');
        if (dash > 0 && Factories.ContainsKey(spec[..dash])) return Create(spec[..dash], spec[(dash + 1)..]);
        return Create(spec, null);
    }

    /// <summary>The task called <paramref name="name"/> with operand digits <paramref name="digits"/> (<c>3</c>,
    /// <c>3,2</c>, <c>3x2</c>, <c>1-3</c>), or its default configuration when null.</summary>
    /// <exception cref="ArgumentException">No task has this name, it has no operands, or the digits are malformed.</exception>
    public static IReasoningTask Create(string name, string? digits)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!Factories.TryGetValue(name, out var factory))
            throw new ArgumentException($"Unknown task '{name}'; known tasks: {string.Join(", ", Names)} (add -AxB for operand digits, e.g. addition-3x3).", nameof(name));
        int limit = name == "multiplication" ? MultiplicationTask.MaxDigits : AdditionTask.MaxDigits;
        return factory(digits is null ? null : OperandDigits.Parse(digits, limit));
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

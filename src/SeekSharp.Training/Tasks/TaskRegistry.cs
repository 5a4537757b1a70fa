namespace SeekSharp.Training.Tasks;

/// <summary>The built-in tasks by name, each with its default configuration.</summary>
public static class TaskRegistry
{
    static readonly Dictionary<string, Func<IReasoningTask>> Factories = new(StringComparer.Ordinal)
    {
        ["addition"] = () => new AdditionTask(),
        ["subtraction"] = () => new SubtractionTask(),
        ["multiplication"] = () => new MultiplicationTask(),
        ["countdown"] = () => new CountdownTask(),
    };

    /// <summary>The registered names.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Factories.Keys];

    /// <summary>A new instance of the task called <paramref name="name"/>, with its default configuration.</summary>
    /// <exception cref="ArgumentException">No task has this name.</exception>
    public static IReasoningTask Create(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Factories.TryGetValue(name, out var factory)
            ? factory()
            : throw new ArgumentException($"Unknown task '{name}'; known tasks: {string.Join(", ", Names)}.", nameof(name));
    }
}

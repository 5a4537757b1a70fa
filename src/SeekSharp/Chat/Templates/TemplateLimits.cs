namespace SeekSharp.Chat.Templates;

/// <summary>
/// Bounds that keep an untrusted template from running forever or exhausting memory or the stack.
/// Real chat templates stay far below every default.
/// </summary>
public sealed record TemplateLimits
{
    /// <summary>Defaults used when none are given.</summary>
    public static TemplateLimits Default { get; } = new();

    /// <summary>Total for-loop iterations (all loops together) plus <c>range()</c> elements in one render.</summary>
    public long MaxLoopIterations { get; init; } = 1_000_000;

    /// <summary>Nesting depth of macro and caller calls in one render.</summary>
    public int MaxRecursionDepth { get; init; } = 64;

    /// <summary>Nesting depth of expressions and blocks accepted by the parser.</summary>
    public int MaxNestingDepth { get; init; } = 200;

    /// <summary>Longest string (UTF-16 code units) the template may build, including the rendered output.</summary>
    public int MaxOutputLength { get; init; } = 16 * 1024 * 1024;

    /// <summary>
    /// Longest list the template may build. Lower than the string bound because list elements are objects: doubling a
    /// list up to 16M entries copies hundreds of megabytes and takes seconds, while real templates build lists of a few items.
    /// </summary>
    public int MaxListLength { get; init; } = 1024 * 1024;

    /// <summary>
    /// Total bytes one render may allocate for the values it builds (strings, lists, dicts, loop and call frames, the
    /// output), counted as they are created and never given back. The per-value bounds above do not bound memory by
    /// themselves: a template can keep thousands of strings each just under <see cref="MaxOutputLength"/> (a namespace
    /// list of 3,000 strings of 8 MiB reached 23.6 GB). Measured: the real chat templates under tests/ charge at most
    /// 16 KB for the test conversations, and 1.8 to 4.2 MB for a 400-message conversation of 344K characters (about six
    /// times the message text's UTF-16 size), so the default leaves a margin of 60x at that size and still fits a
    /// conversation of a million tokens. Caller-supplied variables (messages, tools) are not counted. Real memory stays
    /// within about twice the charge (see TemplateMemoryBudgetTests).
    /// </summary>
    public long MaxAllocatedBytes { get; init; } = 256L * 1024 * 1024;
}

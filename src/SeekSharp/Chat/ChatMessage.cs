namespace SeekSharp.Chat;

/// <summary>
/// One message of a conversation, in the OpenAI / DeepSeek API's terms, which is also what chat templates expect.
/// </summary>
/// <param name="Role">"system", "user", "assistant" or "tool".</param>
/// <param name="Content">The text; for an assistant message, the answer without its reasoning.</param>
public sealed record ChatMessage(string Role, string? Content)
{
    /// <summary>An assistant message's reasoning (DeepSeek's <c>reasoning_content</c>); templates that replay it get it, R1's drops it.</summary>
    public string? ReasoningContent { get; init; }
    /// <summary>Tool calls an assistant message made.</summary>
    public IReadOnlyList<ToolCall>? ToolCalls { get; init; }
    /// <summary>For a "tool" message: the id of the call it answers.</summary>
    public string? ToolCallId { get; init; }
    /// <summary>Optional author or tool name.</summary>
    public string? Name { get; init; }

    /// <summary>A system message.</summary>
    public static ChatMessage System(string content) => new("system", content);
    /// <summary>A user message.</summary>
    public static ChatMessage User(string content) => new("user", content);
    /// <summary>An assistant message.</summary>
    public static ChatMessage Assistant(string content, string? reasoning = null) => new("assistant", content) { ReasoningContent = reasoning };
}

/// <summary>A function call made by the assistant; <paramref name="Arguments"/> is the JSON text of the arguments, as the OpenAI API carries it.</summary>
public sealed record ToolCall(string Id, string Name, string Arguments);

namespace SeekSharp.Chat.Reasoning;

/// <summary>
/// How a model marks its thinking in the generated text: not at all (<see cref="None"/>), or between an opening
/// and a closing tag (<see cref="ThinkTags"/> for DeepSeek-R1, R1-Distill, V3.1 and Qwen3; <see cref="Tags"/> for others).
/// </summary>
public sealed record ReasoningFormat
{
    ReasoningFormat(string? openTag, string? closeTag)
    {
        OpenTag = openTag;
        CloseTag = closeTag;
    }

    /// <summary>The model does not reason: all generated text is answer, tags included.</summary>
    public static ReasoningFormat None { get; } = new(null, null);

    /// <summary>Thinking between <c>&lt;think&gt;</c> and <c>&lt;/think&gt;</c>.</summary>
    public static ReasoningFormat ThinkTags { get; } = new("<think>", "</think>");

    /// <summary>Opening tag, or null for <see cref="None"/>.</summary>
    public string? OpenTag { get; }

    /// <summary>Closing tag, or null for <see cref="None"/>.</summary>
    public string? CloseTag { get; }

    /// <summary>True when this format splits thinking from the answer.</summary>
    public bool HasTags => OpenTag is not null;

    /// <summary>Thinking between the given tags (for example <c>[THINK]</c> and <c>[/THINK]</c>).</summary>
    /// <exception cref="ArgumentException">A tag is empty, or the opening tag starts with whitespace
    /// (the parser skips whitespace before it looks for the opening tag, so such a tag could never match).</exception>
    public static ReasoningFormat Tags(string openTag, string closeTag)
    {
        ArgumentException.ThrowIfNullOrEmpty(openTag);
        ArgumentException.ThrowIfNullOrEmpty(closeTag);
        if (ReasoningParser.IsSpace(openTag[0]))
            throw new ArgumentException($"The opening tag {openTag} starts with whitespace; whitespace before the opening tag is skipped, so it could never match.", nameof(openTag));
        return new(openTag, closeTag);
    }
}

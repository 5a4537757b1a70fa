using SeekSharp.Training.Tokenizers;

namespace SeekSharp.Training.Data;

/// <summary>
/// Training text in DeepSeek-R1's chat format, rendered exactly as <see cref="R1ChatFormat.ChatTemplate"/> renders a
/// one-turn conversation with the generation prompt, so the model is trained on the prefix it is later prompted with.
/// </summary>
/// <remarks>
/// A turn is <c>BOS [system] &lt;｜User｜&gt;user &lt;｜Assistant｜&gt;&lt;think&gt;\n</c> (the prompt) followed by
/// <c>reasoning\n&lt;/think&gt;\n\nanswer&lt;｜end▁of▁sentence｜&gt;</c> (the assistant output, see
/// <see cref="Tasks.Problem.Completion"/>). The rewards parse completions with <c>promptOpensThinking</c> = true for
/// the same reason: the opening <c>&lt;think&gt;</c> belongs to the prompt, not to what the model writes.
/// </remarks>
public static class R1ChatText
{
    /// <summary>The prompt of a one-turn conversation, ending with the generation prompt <c>&lt;｜Assistant｜&gt;&lt;think&gt;\n</c>.</summary>
    public static string Prompt(string user, string? system = null)
    {
        ArgumentNullException.ThrowIfNull(user);
        return R1ChatFormat.Bos + (system ?? "") + R1ChatFormat.User + user + R1ChatFormat.Assistant + R1ChatFormat.ThinkOpen + "\n";
    }

    /// <summary>
    /// The assistant output that follows <see cref="Prompt"/>: <paramref name="completion"/> (reasoning, <c>&lt;/think&gt;</c>,
    /// answer) closed by EOS. A completion that opens with its own <c>&lt;think&gt;</c> (as a chat transcript shows it)
    /// has that opening dropped, since the prompt already holds it.
    /// </summary>
    public static string AssistantTurn(string completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        return StripThinkOpen(completion) + R1ChatFormat.Eos;
    }

    /// <summary><paramref name="completion"/> without a leading <c>&lt;think&gt;</c> and the newline after it.</summary>
    public static string StripThinkOpen(string completion)
    {
        var text = completion.AsSpan().TrimStart();
        if (!text.StartsWith(R1ChatFormat.ThinkOpen, StringComparison.Ordinal)) return completion;
        text = text[R1ChatFormat.ThinkOpen.Length..];
        if (text.StartsWith("\n", StringComparison.Ordinal)) text = text[1..];
        return text.ToString();
    }
}

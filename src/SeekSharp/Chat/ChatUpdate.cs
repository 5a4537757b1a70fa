namespace SeekSharp.Chat;

/// <summary>What a streaming chat response delivers, in order: reasoning and content deltas, then one <see cref="Final"/>.</summary>
public enum ChatUpdateKind
{
    /// <summary>A piece of the model's thinking.</summary>
    Reasoning,
    /// <summary>A piece of the answer.</summary>
    Content,
    /// <summary>The end: finish reason, usage and timings.</summary>
    Final,
}

/// <summary>Why generation stopped.</summary>
public enum FinishReason
{
    /// <summary>The model ended its turn or a stop sequence was met.</summary>
    Stop,
    /// <summary>The token limit or the context was reached.</summary>
    Length,
    /// <summary>The caller cancelled.</summary>
    Cancelled,
}

/// <summary>Token counts of one response, as the OpenAI / DeepSeek APIs report them.</summary>
/// <param name="PromptTokens">Tokens of the rendered prompt.</param>
/// <param name="CachedPromptTokens">Of those, tokens whose keys and values were reused from the previous turn.</param>
/// <param name="CompletionTokens">Tokens generated (reasoning included).</param>
/// <param name="ReasoningTokens">Of those, tokens generated while thinking.</param>
public sealed record ChatUsage(int PromptTokens, int CachedPromptTokens, int CompletionTokens, int ReasoningTokens)
{
    /// <summary>Prompt plus completion.</summary>
    public int TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>Wall-clock times of one response.</summary>
public sealed record ChatTimings(TimeSpan PromptEvaluation, TimeSpan Generation, TimeSpan Reasoning)
{
    /// <summary>Generated tokens per second over <see cref="Generation"/>, given the count.</summary>
    public double TokensPerSecond(int tokens) => tokens / Math.Max(Generation.TotalSeconds, 1e-9);
}

/// <summary>One streamed piece of a chat response.</summary>
public sealed record ChatUpdate(ChatUpdateKind Kind, string Text)
{
    /// <summary>Set on the <see cref="ChatUpdateKind.Final"/> update.</summary>
    public FinishReason? FinishReason { get; init; }
    /// <summary>Set on the <see cref="ChatUpdateKind.Final"/> update.</summary>
    public ChatUsage? Usage { get; init; }
    /// <summary>Set on the <see cref="ChatUpdateKind.Final"/> update.</summary>
    public ChatTimings? Timings { get; init; }
}

using SeekSharp.Inference.Sampling;

namespace SeekSharp.Chat;

/// <summary>What to do when a conversation no longer fits the context.</summary>
public enum ContextOverflowPolicy
{
    /// <summary>Refuse with <see cref="Inference.ContextOverflowException"/> (the default: nothing is silently lost).</summary>
    Error,
    /// <summary>Drop the oldest turns after any system message until the prompt fits, keeping at least the last message.</summary>
    DropOldestTurns,
}

/// <summary>Settings of one chat response.</summary>
public sealed record ChatGenerationOptions
{
    /// <summary>Sampling settings.</summary>
    public SamplingOptions Sampling { get; init; } = new();
    /// <summary>Most tokens to generate, reasoning included; null: until the context is full.</summary>
    public int? MaxTokens { get; init; }
    /// <summary>Texts that end the answer when generated (not included in it).</summary>
    public IReadOnlyList<string> StopSequences { get; init; } = [];
    /// <summary>Policy when the prompt does not fit.</summary>
    public ContextOverflowPolicy Overflow { get; init; } = ContextOverflowPolicy.Error;
    /// <summary>Tools (OpenAI function definitions as JSON text, one per tool) offered to templates that support them.</summary>
    public IReadOnlyList<string>? ToolsJson { get; init; }
    /// <summary>Extra template variables, e.g. enable_thinking = false for Qwen3, thinking = true for DeepSeek-V3.1.</summary>
    public IReadOnlyDictionary<string, object?>? TemplateVariables { get; init; }
    /// <summary>When set, the answer (after any thinking) is JSON of this grammar (structured output; see <see cref="JsonGrammar"/>).</summary>
    public JsonGrammar? AnswerJson { get; init; }
}

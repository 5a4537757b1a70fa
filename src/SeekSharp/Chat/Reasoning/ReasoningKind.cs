namespace SeekSharp.Chat.Reasoning;

/// <summary>Which part of an assistant message a piece of generated text belongs to.</summary>
public enum ReasoningKind
{
    /// <summary>The model's thinking (the DeepSeek API's <c>reasoning_content</c>), without the tags around it.</summary>
    Reasoning,

    /// <summary>The answer shown to the user (the DeepSeek API's <c>content</c>).</summary>
    Content,
}

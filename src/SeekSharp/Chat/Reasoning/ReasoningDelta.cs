namespace SeekSharp.Chat.Reasoning;

/// <summary>A piece of reasoning or answer text, as decided by <see cref="ReasoningParser"/>. Never empty.</summary>
/// <param name="Kind">Whether <paramref name="Text"/> is thinking or answer.</param>
/// <param name="Text">Text to append to that part; pieces are final and never retracted.</param>
public readonly record struct ReasoningDelta(ReasoningKind Kind, string Text);

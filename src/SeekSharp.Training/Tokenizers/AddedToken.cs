namespace SeekSharp.Training.Tokenizers;

/// <summary>A token added to a trained vocabulary as one indivisible id, never produced by merges.</summary>
/// <param name="Content">The exact text of the token.</param>
/// <param name="Special">True for control tokens (Hugging Face <c>"special": true</c>): they render only when special
/// tokens are rendered. False for added tokens that are part of the visible text, such as R1's <c>&lt;think&gt;</c>.</param>
public sealed record AddedToken(string Content, bool Special);

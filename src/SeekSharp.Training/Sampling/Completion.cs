namespace SeekSharp.Training.Sampling;

/// <summary>One sampled continuation of a prompt.</summary>
/// <param name="PromptIndex">Index of the prompt it continues, in the list given to <see cref="CompletionSampler.Sample"/>.</param>
/// <param name="Tokens">The generated token ids, without the prompt and without the end-of-generation token.</param>
/// <param name="Text">The tokens decoded without rendering control tokens (what a reward function scores).</param>
/// <param name="Finish"><c>"stop"</c> when the model produced an end-of-generation token, <c>"length"</c> when it
/// reached the token limit first (the names of OpenAI's <c>finish_reason</c>).</param>
public sealed record Completion(int PromptIndex, int[] Tokens, string Text, string Finish)
{
    /// <summary>The <see cref="Finish"/> value of a completion ended by the model.</summary>
    public const string Stop = "stop";

    /// <summary>The <see cref="Finish"/> value of a completion cut at the token limit.</summary>
    public const string Length = "length";
}

namespace SeekSharp.Training.Data;

/// <summary>One chat example as token ids: the prompt's <see cref="PromptLength"/> ids, then the assistant's (ending in EOS).</summary>
/// <param name="Tokens">All ids, prompt first.</param>
/// <param name="PromptLength">Ids that belong to the prompt; SFT puts no loss on predicting them.</param>
internal readonly record struct TokenizedExample(int[] Tokens, int PromptLength)
{
    /// <summary>Ids in the example.</summary>
    public int Length => Tokens.Length;
}

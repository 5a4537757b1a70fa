namespace SeekSharp.Training.Tokenizers;

/// <summary>What <see cref="BpeTrainer"/> trains: vocabulary size, added tokens and the chat metadata stored with them.</summary>
public sealed record BpeTrainerOptions
{
    /// <summary>Total vocabulary size: the 256 byte symbols, the learned merges and <see cref="AddedTokens"/>.
    /// Training stops earlier when no pair occurs <see cref="MinPairCount"/> times any more.</summary>
    public int VocabSize { get; init; } = 4096;

    /// <summary>Added tokens, given ids after the learned tokens in this order. Default: R1's chat tokens.</summary>
    public IReadOnlyList<AddedToken> AddedTokens { get; init; } = R1ChatFormat.AddedTokens;

    /// <summary>A pair seen fewer times than this is never merged: a merge used once saves one token and costs a
    /// vocabulary row.</summary>
    public int MinPairCount { get; init; } = 2;

    /// <summary>Content of the BOS token (must be one of <see cref="AddedTokens"/>); added in front of encoded text.</summary>
    public string? BosToken { get; init; } = R1ChatFormat.Bos;

    /// <summary>Content of the EOS token (must be one of <see cref="AddedTokens"/>).</summary>
    public string? EosToken { get; init; } = R1ChatFormat.Eos;

    /// <summary>The Jinja chat template stored with the tokenizer, or null for none.</summary>
    public string? ChatTemplate { get; init; } = R1ChatFormat.ChatTemplate;
}

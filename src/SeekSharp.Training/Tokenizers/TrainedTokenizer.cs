using SeekSharp.Gguf;
using SeekSharp.Tokenization;

namespace SeekSharp.Training.Tokenizers;

/// <summary>
/// The result of <see cref="BpeTrainer"/>: a byte-level BPE vocabulary in GGUF terms, written either as GGUF tokenizer
/// metadata or as Hugging Face tokenizer.json + tokenizer_config.json files that load to the same tokenizer.
/// </summary>
/// <remarks>
/// Id layout: 0-255 the byte symbols (id = byte value, spelled in GPT-2's byte-to-unicode alphabet), then the learned
/// tokens in merge order, then the added tokens in the order given.
/// </remarks>
public sealed class TrainedTokenizer
{
    /// <summary>The <c>tokenizer.ggml.pre</c> name (and tokenizer.json Split regex) the vocabulary was trained with.</summary>
    public const string PreTokenizerName = "qwen2";

    readonly string[] tokens;   // [nVocab] token text: byte-level alphabet for learned tokens, raw text for added ones
    readonly int[] tokenTypes;  // [nVocab] GgufTokenType values
    readonly string[] merges;   // [nMerges] "left right" in rank order

    internal TrainedTokenizer(List<string> learned, List<string> merges, BpeTrainerOptions options)
    {
        LearnedCount = learned.Count;
        var added = options.AddedTokens;
        tokens = [.. learned, .. added.Select(a => a.Content)];
        tokenTypes = new int[tokens.Length];
        Array.Fill(tokenTypes, (int)GgufTokenType.Normal, 0, learned.Count);
        for (int i = 0; i < added.Count; i++)
            // As convert_hf_to_gguf: special added tokens, and those spelled like control tokens, are CONTROL.
            tokenTypes[learned.Count + i] = (int)(added[i].Special || HuggingFaceTokenizerFiles.LooksSpecial(added[i].Content)
                ? GgufTokenType.Control : GgufTokenType.UserDefined);
        this.merges = [.. merges];
        AddedTokens = [.. added];
        BosId = options.BosToken is null ? null : IdOf(options.BosToken);
        EosId = options.EosToken is null ? null : IdOf(options.EosToken);
        ChatTemplate = options.ChatTemplate;
    }

    /// <summary>Number of token ids.</summary>
    public int VocabSize => tokens.Length;

    /// <summary>Byte symbols plus learned tokens (the ids before the added tokens).</summary>
    public int LearnedCount { get; }

    /// <summary>Token texts by id, as stored in GGUF <c>tokenizer.ggml.tokens</c>.</summary>
    public IReadOnlyList<string> Tokens => tokens;

    /// <summary>Merges in rank order, each "left right" in the byte-level alphabet.</summary>
    public IReadOnlyList<string> Merges => merges;

    /// <summary>The added tokens; token <c>LearnedCount + i</c> is <c>AddedTokens[i]</c>.</summary>
    public IReadOnlyList<AddedToken> AddedTokens { get; }

    /// <summary>BOS id, added in front of encoded text (<c>add_bos_token</c> is true when it is set).</summary>
    public int? BosId { get; }

    /// <summary>EOS id.</summary>
    public int? EosId { get; }

    /// <summary>The chat template stored with the tokenizer.</summary>
    public string? ChatTemplate { get; }

    /// <summary>The id of an added token.</summary>
    /// <exception cref="KeyNotFoundException">No added token has this content.</exception>
    public int IdOf(string addedTokenContent)
    {
        for (int i = 0; i < AddedTokens.Count; i++)
            if (AddedTokens[i].Content == addedTokenContent) return LearnedCount + i;
        throw new KeyNotFoundException($"'{addedTokenContent}' is not an added token of this vocabulary.");
    }

    internal TokenizerDefinition ToDefinition()
    {
        var def = new TokenizerDefinition
        {
            Model = "gpt2",
            Pre = PreTokenizerName,
            Tokens = tokens,
            TokenTypes = tokenTypes,
            Merges = merges,
            ChatTemplate = ChatTemplate,
        };
        if (BosId is int bos) def.SetSpecialId("bos", bos);
        if (EosId is int eos) def.SetSpecialId("eos", eos);
        def.SetAddSpecial("bos", BosId is not null);
        def.SetAddSpecial("eos", false);
        return def;
    }

    /// <summary>
    /// Adds the tokenizer keys to a GGUF writer: <c>tokenizer.ggml.model</c> "gpt2", <c>pre</c> "qwen2", tokens,
    /// token_type, merges, bos/eos ids, add_bos (true when there is a BOS) / add_eos (false) and
    /// <c>tokenizer.chat_template</c>. The model's embedding must have <see cref="VocabSize"/> rows.
    /// </summary>
    public void WriteGgufMetadata(GgufWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        GgufTokenizerMetadata.Write(writer, ToDefinition());
    }

    /// <summary>A tokenizer for this vocabulary, as <see cref="Tokenizer.FromGguf"/> would load it from the metadata.</summary>
    public Tokenizer CreateTokenizer() => new(ToDefinition(), fromGguf: true, "(trained tokenizer)");

    /// <summary>
    /// Writes tokenizer.json and tokenizer_config.json into <paramref name="directory"/> (created if missing), in the
    /// shapes Hugging Face tokenizers and transformers read; see <see cref="HuggingFaceTokenizerJson"/>.
    /// </summary>
    public void SaveHuggingFace(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Directory.CreateDirectory(directory);
        File.WriteAllBytes(Path.Combine(directory, "tokenizer.json"), HuggingFaceTokenizerJson.TokenizerJson(this));
        File.WriteAllBytes(Path.Combine(directory, "tokenizer_config.json"), HuggingFaceTokenizerJson.TokenizerConfigJson(this));
    }
}

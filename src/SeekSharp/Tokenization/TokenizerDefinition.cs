namespace SeekSharp.Tokenization;

/// <summary>
/// Everything a tokenizer is built from, in GGUF terms (the <c>tokenizer.ggml.*</c> keys), plus the few
/// Hugging Face behaviours that GGUF cannot carry. Both loaders and the GGUF converter meet here.
/// </summary>
internal sealed class TokenizerDefinition
{
    /// <summary><c>tokenizer.ggml.model</c>: "gpt2" (byte-level BPE) or "llama" (SentencePiece BPE).</summary>
    public required string Model { get; init; }

    /// <summary><c>tokenizer.ggml.pre</c>; null for SentencePiece.</summary>
    public string? Pre { get; set; }

    /// <summary>[nVocab] token text (byte-level alphabet for gpt2, U+2581 for spaces in llama).</summary>
    public required string[] Tokens { get; set; }

    /// <summary>[nVocab] <see cref="GgufTokenType"/> values.</summary>
    public required int[] TokenTypes { get; set; }

    /// <summary>[nVocab] SentencePiece scores, or null.</summary>
    public float[]? Scores { get; init; }

    /// <summary>BPE merges in rank order, each "left right".</summary>
    public string[] Merges { get; init; } = [];

    /// <summary>Special token ids by GGUF role name ("bos", "eos", "unk", "sep", "pad", "cls", "mask", "eot", "eom"), in the order they were found.</summary>
    public List<KeyValuePair<string, int>> SpecialIds { get; } = [];

    /// <summary>add_{role}_token flags ("bos", "eos", "sep") in the order they were found.</summary>
    public List<KeyValuePair<string, bool>> AddSpecial { get; } = [];

    /// <summary><c>tokenizer.ggml.add_space_prefix</c> when present.</summary>
    public bool? AddSpacePrefix { get; init; }

    /// <summary><c>tokenizer.chat_template</c>.</summary>
    public string? ChatTemplate { get; set; }

    /// <summary>Hugging Face only: apply NFC to text fragments before pre-tokenization.</summary>
    public bool NfcNormalize { get; init; }

    /// <summary>Hugging Face only: the BPE model's ignore_merges flag.</summary>
    public bool IgnoreMerges { get; init; }

    /// <summary>Hugging Face only: [nVocab] extra LStrip/RStrip flags of added tokens, or null.</summary>
    public TokenAttributes[]? ExtraAttributes { get; set; }

    public int? GetSpecialId(string role)
    {
        foreach (var kv in SpecialIds) if (kv.Key == role) return kv.Value;
        return null;
    }

    public bool? GetAddSpecial(string role)
    {
        foreach (var kv in AddSpecial) if (kv.Key == role) return kv.Value;
        return null;
    }

    public void SetSpecialId(string role, int id)
    {
        // First writer wins, as gguf-py's SpecialVocab._set_special_token.
        if (GetSpecialId(role) is null) SpecialIds.Add(new(role, id));
    }

    public void SetAddSpecial(string role, bool value)
    {
        int i = AddSpecial.FindIndex(kv => kv.Key == role);
        if (i >= 0) AddSpecial[i] = new(role, value);
        else AddSpecial.Add(new(role, value));
    }
}

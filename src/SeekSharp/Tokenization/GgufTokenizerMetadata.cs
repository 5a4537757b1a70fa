using SeekSharp.Gguf;

namespace SeekSharp.Tokenization;

/// <summary>Reads and writes the <c>tokenizer.ggml.*</c> keys of a GGUF file.</summary>
internal static class GgufTokenizerMetadata
{
    public const string Model = "tokenizer.ggml.model";
    public const string Pre = "tokenizer.ggml.pre";
    public const string Tokens = "tokenizer.ggml.tokens";
    public const string TokenType = "tokenizer.ggml.token_type";
    public const string Scores = "tokenizer.ggml.scores";
    public const string Merges = "tokenizer.ggml.merges";
    public const string AddSpacePrefix = "tokenizer.ggml.add_space_prefix";
    public const string ChatTemplate = "tokenizer.chat_template";

    static readonly string[] Roles = ["bos", "eos", "unk", "sep", "pad", "cls", "mask", "eot", "eom"];
    static readonly string[] AddRoles = ["bos", "eos", "sep"];

    // The key of each role as gguf-py and llama.cpp spell it (llama-arch.cpp's LLM_KV_TOKENIZER_*_ID): three roles are
    // written out in full, "seperator" misspelt as it is there. A file read by llama.cpp must use these names.
    static string IdKey(string role) => role switch
    {
        "unk" => "tokenizer.ggml.unknown_token_id",
        "sep" => "tokenizer.ggml.seperator_token_id",
        "pad" => "tokenizer.ggml.padding_token_id",
        _ => $"tokenizer.ggml.{role}_token_id",
    };
    static string AddKey(string role) => $"tokenizer.ggml.add_{role}_token";

    // The short spellings that SeekSharp wrote before it used llama.cpp's: read when the long ones are absent.
    static string? EarlierIdKey(string role) => role is "unk" or "sep" or "pad" ? $"tokenizer.ggml.{role}_token_id" : null;

    /// <summary>
    /// A special token id, refused when it is outside the vocabulary (llama.cpp warns "bad special token" and keeps its
    /// default instead): such an id means the metadata does not describe this vocabulary, and BOS/EOS/EOT decide where
    /// text starts and where generation stops.
    /// </summary>
    static uint CheckedId(GgufFile file, string key, int vocabSize)
    {
        uint id = file.GetUInt32(key);
        if (id >= (uint)vocabSize)
            throw new TokenizerFormatException(file.Path,
                $"{key} is {id}, outside the vocabulary of {vocabSize} tokens (valid ids are 0 to {vocabSize - 1}).");
        return id;
    }

    public static TokenizerDefinition Read(GgufFile file)
    {
        string model = file.GetString(Model);
        string[] tokens = file.GetStringArrayOrNull(Tokens)
            ?? throw new TokenizerFormatException(file.Path, $"'{Tokens}' is missing; the file has no vocabulary.");
        int[] types = file.GetInt32ArrayOrNull(TokenType) ?? Enumerable.Repeat((int)GgufTokenType.Normal, tokens.Length).ToArray();
        string[]? merges = file.GetStringArrayOrNull(Merges);
        if (model == "gpt2" && merges is null)
            throw new TokenizerFormatException(file.Path, $"'{Merges}' is missing; a gpt2 (byte-level BPE) tokenizer needs its merges.");

        var def = new TokenizerDefinition
        {
            Model = model,
            Pre = file.GetStringOrNull(Pre),
            Tokens = tokens,
            TokenTypes = types,
            Scores = file.GetFloat32ArrayOrNull(Scores),
            Merges = merges ?? [],
            AddSpacePrefix = file.Metadata.ContainsKey(AddSpacePrefix) ? file.GetBoolOrDefault(AddSpacePrefix, true) : null,
            ChatTemplate = file.GetStringOrNull(ChatTemplate),
        };
        foreach (var role in Roles)
        {
            string? key = file.Metadata.ContainsKey(IdKey(role)) ? IdKey(role)
                : EarlierIdKey(role) is string earlier && file.Metadata.ContainsKey(earlier) ? earlier : null;
            if (key is not null) def.SetSpecialId(role, (int)CheckedId(file, key, tokens.Length));
        }
        foreach (var role in AddRoles)
            if (file.Metadata.ContainsKey(AddKey(role))) def.SetAddSpecial(role, file.GetBoolOrDefault(AddKey(role), false));
        return def;
    }

    /// <summary>Writes the keys in the order convert_hf_to_gguf.py's _set_vocab_gpt2 and SpecialVocab.add_to_gguf do.</summary>
    public static void Write(GgufWriter w, TokenizerDefinition def)
    {
        w.Set(Model, def.Model);
        if (def.Pre is not null) w.Set(Pre, def.Pre);
        w.Set(Tokens, def.Tokens);
        if (def.Scores is not null) w.Set(Scores, def.Scores);
        w.Set(TokenType, def.TokenTypes);
        if (def.Merges.Length > 0) w.Set(Merges, def.Merges);
        foreach (var (role, id) in def.SpecialIds) w.Set(IdKey(role), (uint)id);
        foreach (var (role, value) in def.AddSpecial) w.Set(AddKey(role), value);
        if (def.AddSpacePrefix is bool asp) w.Set(AddSpacePrefix, asp);
        if (def.ChatTemplate is not null) w.Set(ChatTemplate, def.ChatTemplate);
    }
}

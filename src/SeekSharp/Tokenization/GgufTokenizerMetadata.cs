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

    static string IdKey(string role) => $"tokenizer.ggml.{role}_token_id";
    static string AddKey(string role) => $"tokenizer.ggml.add_{role}_token";

    static readonly string[] LlamaCppSpelledIdKeys =
        ["tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id", "tokenizer.ggml.seperator_token_id"];

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
            if (file.Metadata.ContainsKey(IdKey(role))) def.SetSpecialId(role, (int)CheckedId(file, IdKey(role), tokens.Length));
        // gguf-py and llama.cpp spell these three roles differently from IdKey; they are not used here, but an id outside
        // the vocabulary is refused all the same.
        foreach (var key in LlamaCppSpelledIdKeys)
            if (file.Metadata.ContainsKey(key)) CheckedId(file, key, tokens.Length);
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

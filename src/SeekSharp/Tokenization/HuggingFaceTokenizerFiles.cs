using System.Text.Json;

namespace SeekSharp.Tokenization;

/// <summary>
/// Reads a Hugging Face tokenizer.json (+ tokenizer_config.json) into a <see cref="TokenizerDefinition"/>
/// following llama.cpp's convert_hf_to_gguf.py (get_vocab_base) and gguf-py's SpecialVocab, so a
/// tokenizer built from the JSON and one built from the converted GGUF see the same vocabulary.
/// </summary>
internal static class HuggingFaceTokenizerFiles
{
    // The Split regexes as they appear in tokenizer.json, used to name the pre-tokenizer.
    const string Llama3Regex = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    const string Qwen2Regex = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    const string DeepSeekV3Digits = @"\p{N}{1,3}";
    const string DeepSeekV3Cjk = "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+";
    const string DeepSeekV3Main = "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+";

    static readonly string[] SpecialRoles = ["bos", "eos", "unk", "sep", "pad", "cls", "mask"];

    public static TokenizerDefinition Load(string tokenizerJsonPath, string? tokenizerConfigPath)
    {
        using var json = ParseFile(tokenizerJsonPath);
        using var config = tokenizerConfigPath is null ? null : ParseFile(tokenizerConfigPath);
        var root = json.RootElement;

        var model = root.GetProperty("model");
        if (!model.TryGetProperty("type", out var type) || type.GetString() != "BPE")
            throw new TokenizerFormatException(tokenizerJsonPath, $"model.type is '{(model.TryGetProperty("type", out var t) ? t.ToString() : "missing")}'; only BPE tokenizers are supported.");
        if (model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True)
            throw new TokenizerFormatException(tokenizerJsonPath, "byte_fallback BPE (SentencePiece-style tokenizer.json) is not supported; convert the model's tokenizer.model to GGUF instead.");
        if (!root.TryGetProperty("decoder", out var decoder) || !ContainsType(decoder, "ByteLevel"))
            throw new TokenizerFormatException(tokenizerJsonPath, "decoder is not ByteLevel; only byte-level BPE tokenizers are supported.");

        var pre = DetectPreTokenizer(root, tokenizerJsonPath);

        // Vocabulary: model.vocab plus added tokens; ids with neither become unused padding as in the converter.
        var vocab = new Dictionary<int, string>();
        foreach (var p in model.GetProperty("vocab").EnumerateObject()) vocab[p.Value.GetInt32()] = p.Name;
        var added = new List<(int Id, string Content, bool Special, bool LStrip, bool RStrip)>();
        if (root.TryGetProperty("added_tokens", out var addedJson))
            foreach (var a in addedJson.EnumerateArray())
                added.Add((a.GetProperty("id").GetInt32(), a.GetProperty("content").GetString()!,
                    Bool(a, "special"), Bool(a, "lstrip"), Bool(a, "rstrip")));
        int nVocab = Math.Max(vocab.Count == 0 ? 0 : vocab.Keys.Max() + 1, added.Count == 0 ? 0 : added.Max(a => a.Id) + 1);

        var tokens = new string[nVocab];
        var types = new int[nVocab];
        var extra = new TokenAttributes[nVocab];
        for (int i = 0; i < nVocab; i++)
        {
            if (vocab.TryGetValue(i, out var text)) { tokens[i] = text; types[i] = (int)GgufTokenType.Normal; }
            else { tokens[i] = $"[PAD{i}]"; types[i] = (int)GgufTokenType.Unused; }
        }
        foreach (var a in added)
        {
            if (a.Special || LooksSpecial(a.Content))
            {
                tokens[a.Id] = a.Content;
                types[a.Id] = (int)GgufTokenType.Control;
            }
            else
            {
                // The converter pre-normalizes SentencePiece spaces in user-defined tokens.
                tokens[a.Id] = a.Content.Replace('\u2581', ' ');
                types[a.Id] = (int)GgufTokenType.UserDefined;
            }
            extra[a.Id] = (a.LStrip ? TokenAttributes.LStrip : 0) | (a.RStrip ? TokenAttributes.RStrip : 0);
        }

        var def = new TokenizerDefinition
        {
            Model = "gpt2",
            Pre = PreTokenizerNames.ToGgufName(pre),
            Tokens = tokens,
            TokenTypes = types,
            Merges = ReadMerges(model, tokenizerJsonPath),
            NfcNormalize = root.TryGetProperty("normalizer", out var norm) && ContainsType(norm, "NFC"),
            IgnoreMerges = Bool(model, "ignore_merges"),
            ExtraAttributes = extra.Any(a => a != 0) ? extra : null,
        };
        ReadSpecialTokens(def, root, config?.RootElement, added);
        return def;
    }

    static JsonDocument ParseFile(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return JsonDocument.Parse(stream, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new TokenizerFormatException(path, $"not valid JSON: {e.Message}", e);
        }
    }

    static bool Bool(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    /// <summary>convert_hf_to_gguf.py's does_token_look_special: control tokens some models forget to mark special.</summary>
    internal static bool LooksSpecial(string t) =>
        t is "<pad>" or "<mask>" or "<2mass>" or "[@BOS@]"
        || (t.StartsWith("<|", StringComparison.Ordinal) && t.EndsWith("|>", StringComparison.Ordinal))
        || (t.StartsWith("<\uFF5C", StringComparison.Ordinal) && t.EndsWith("\uFF5C>", StringComparison.Ordinal))
        || (t.StartsWith("<unused", StringComparison.Ordinal) && t.EndsWith('>'));

    static bool ContainsType(JsonElement e, string typeName)
    {
        if (e.ValueKind != JsonValueKind.Object) return false;
        if (e.TryGetProperty("type", out var t) && t.GetString() == typeName) return true;
        foreach (var listName in new[] { "normalizers", "pretokenizers", "decoders", "processors" })
            if (e.TryGetProperty(listName, out var list) && list.ValueKind == JsonValueKind.Array)
                foreach (var child in list.EnumerateArray())
                    if (ContainsType(child, typeName)) return true;
        return false;
    }

    static PreTokenizerKind DetectPreTokenizer(JsonElement root, string path)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object)
            throw new TokenizerFormatException(path, "pre_tokenizer is missing; cannot tell which pre-tokenizer to use.");
        var regexes = new List<string>();
        bool byteLevelRegex = false;
        void Walk(JsonElement e)
        {
            string? kind = e.TryGetProperty("type", out var t) ? t.GetString() : null;
            if (kind == "Sequence" && e.TryGetProperty("pretokenizers", out var list))
                foreach (var c in list.EnumerateArray()) Walk(c);
            else if (kind == "Split" && e.GetProperty("pattern").TryGetProperty("Regex", out var rx))
                regexes.Add(rx.GetString()!);
            else if (kind == "ByteLevel" && (!e.TryGetProperty("use_regex", out var ur) || ur.ValueKind == JsonValueKind.True))
                byteLevelRegex = true;
        }
        Walk(pre);

        if (regexes.Count == 0 && byteLevelRegex) return PreTokenizerKind.Gpt2;
        if (regexes.Count == 1 && !byteLevelRegex && regexes[0] == Llama3Regex) return PreTokenizerKind.Llama3;
        if (regexes.Count == 1 && !byteLevelRegex && regexes[0] == Qwen2Regex) return PreTokenizerKind.Qwen2;
        if (regexes.Count == 3 && !byteLevelRegex && regexes[0] == DeepSeekV3Digits && regexes[1] == DeepSeekV3Cjk && regexes[2] == DeepSeekV3Main)
            return PreTokenizerKind.DeepSeekV3;
        throw new TokenizerFormatException(path,
            $"unsupported pre_tokenizer (Split regexes: {string.Join(" ; ", regexes)}; ByteLevel use_regex: {byteLevelRegex}). " +
            $"Supported: {PreTokenizerNames.SupportedList}.");
    }

    static string[] ReadMerges(JsonElement model, string path)
    {
        if (!model.TryGetProperty("merges", out var merges)) return [];
        var result = new string[merges.GetArrayLength()];
        int i = 0;
        foreach (var m in merges.EnumerateArray())
        {
            if (m.ValueKind == JsonValueKind.String) result[i++] = m.GetString()!;
            else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2)
            {
                // Pair form (transformers >= 4.45): a space inside a part is written as U+0120, as gguf-py does.
                string a = m[0].GetString()!.Replace(' ', '\u0120'), b = m[1].GetString()!.Replace(' ', '\u0120');
                result[i++] = a + " " + b;
            }
            else throw new TokenizerFormatException(path, $"model.merges[{i}] is neither \"a b\" nor [\"a\", \"b\"].");
        }
        return result;
    }

    /// <summary>SpecialVocab: add_bos/add_eos from a TemplateProcessing post-processor, then tokenizer_config.</summary>
    static void ReadSpecialTokens(TokenizerDefinition def, JsonElement root, JsonElement? config,
        List<(int Id, string Content, bool Special, bool LStrip, bool RStrip)> added)
    {
        string? TokenContent(string role)
        {
            if (config is not { } c || !c.TryGetProperty(role + "_token", out var e)) return null;
            return e.ValueKind switch
            {
                JsonValueKind.String => e.GetString(),
                JsonValueKind.Object when e.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String => content.GetString(),
                _ => null,
            };
        }
        string? bos = TokenContent("bos"), eos = TokenContent("eos"), cls = TokenContent("cls");

        if (root.TryGetProperty("post_processor", out var post) && post.ValueKind == JsonValueKind.Object)
        {
            var processors = post.TryGetProperty("processors", out var list) ? list.EnumerateArray().ToList() : [post];
            foreach (var p in processors)
            {
                string? kind = p.TryGetProperty("type", out var t) ? t.GetString() : null;
                if (kind == "RobertaProcessing")
                {
                    def.SetAddSpecial("bos", true);
                    def.SetAddSpecial("eos", true);
                    def.SetAddSpecial("sep", true);
                }
                else if (kind == "TemplateProcessing" && p.TryGetProperty("single", out var single) && single.GetArrayLength() > 1)
                {
                    string? first = SpecialTokenId(single[0]);
                    string? last = SpecialTokenId(single[single.GetArrayLength() - 1]);
                    if (first is not null)
                    {
                        if (config is null) bos = first;
                        def.SetAddSpecial("bos", first == bos || first == cls);
                    }
                    if (last is not null)
                    {
                        if (config is null) eos = last;
                        def.SetAddSpecial("eos", last == eos);
                    }
                }
            }
        }
        if (config is not { } cfg)
        {
            // Without tokenizer_config.json gguf-py would leave the ids to config.json; the template names them too.
            foreach (var (role, content) in new[] { ("bos", bos), ("eos", eos) })
                if (content is not null && def.GetAddSpecial(role) == true)
                    foreach (var a in added)
                        if (a.Content == content) { def.SetSpecialId(role, a.Id); break; }
            return;
        }

        if (cfg.TryGetProperty("chat_template", out var tpl) && tpl.ValueKind == JsonValueKind.String)
            def.ChatTemplate = tpl.GetString();

        foreach (var role in SpecialRoles)
        {
            if (cfg.TryGetProperty($"add_{role}_token", out var add) && add.ValueKind is JsonValueKind.True or JsonValueKind.False)
                def.SetAddSpecial(role, add.GetBoolean());
            string? content = role switch { "bos" => bos, "eos" => eos, _ => TokenContent(role) };
            if (content is null) continue;
            foreach (var a in added)
                if (a.Content == content) { def.SetSpecialId(role, a.Id); break; }
        }
    }

    static string? SpecialTokenId(JsonElement piece) =>
        piece.TryGetProperty("SpecialToken", out var st) && st.TryGetProperty("id", out var id) ? id.GetString() : null;
}

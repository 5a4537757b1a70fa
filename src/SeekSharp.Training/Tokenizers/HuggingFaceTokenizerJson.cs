using System.Text.Encodings.Web;
using System.Text.Json;

namespace SeekSharp.Training.Tokenizers;

/// <summary>
/// Serialises a <see cref="TrainedTokenizer"/> as Hugging Face files. tokenizer.json: model BPE (vocab without the
/// added tokens, merges as "left right" strings, which every tokenizers version reads), no normalizer (GGUF cannot
/// carry one, so both forms tokenize alike), pre_tokenizer Sequence[Split(qwen2 regex, Isolated), ByteLevel without its
/// own regex], ByteLevel decoder, and a TemplateProcessing post-processor that prepends BOS, so the Rust library adds
/// BOS as llama.cpp does with add_bos. tokenizer_config.json: bos/eos tokens, add_bos_token, chat_template.
/// </summary>
internal static class HuggingFaceTokenizerJson
{
    /// <summary>Qwen2's Split regex, exactly as in its tokenizer.json (our loaders recognise the pre-tokenizer by it).</summary>
    internal const string Qwen2Regex = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    static readonly JsonWriterOptions Options = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] TokenizerJson(TrainedTokenizer t)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, Options))
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteNull("truncation");
            w.WriteNull("padding");

            w.WriteStartArray("added_tokens");
            for (int i = 0; i < t.AddedTokens.Count; i++)
            {
                w.WriteStartObject();
                w.WriteNumber("id", t.LearnedCount + i);
                WriteAddedTokenFields(w, t.AddedTokens[i]);
                w.WriteEndObject();
            }
            w.WriteEndArray();

            w.WriteNull("normalizer");

            w.WriteStartObject("pre_tokenizer");
            w.WriteString("type", "Sequence");
            w.WriteStartArray("pretokenizers");
            w.WriteStartObject();
            w.WriteString("type", "Split");
            w.WriteStartObject("pattern");
            w.WriteString("Regex", Qwen2Regex);
            w.WriteEndObject();
            w.WriteString("behavior", "Isolated");
            w.WriteBoolean("invert", false);
            w.WriteEndObject();
            WriteByteLevel(w);
            w.WriteEndArray();
            w.WriteEndObject();

            w.WritePropertyName("post_processor");
            if (t.BosId is int bos)
            {
                string bosText = t.Tokens[bos];
                w.WriteStartObject();
                w.WriteString("type", "TemplateProcessing");
                w.WriteStartArray("single");
                WriteSpecialPiece(w, bosText, 0);
                WriteSequencePiece(w, "A", 0);
                w.WriteEndArray();
                w.WriteStartArray("pair");
                WriteSpecialPiece(w, bosText, 0);
                WriteSequencePiece(w, "A", 0);
                WriteSpecialPiece(w, bosText, 1);
                WriteSequencePiece(w, "B", 1);
                w.WriteEndArray();
                w.WriteStartObject("special_tokens");
                w.WriteStartObject(bosText);
                w.WriteString("id", bosText);
                w.WriteStartArray("ids");
                w.WriteNumberValue(bos);
                w.WriteEndArray();
                w.WriteStartArray("tokens");
                w.WriteStringValue(bosText);
                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
            }
            else w.WriteNullValue();

            w.WritePropertyName("decoder");
            WriteByteLevel(w);

            w.WriteStartObject("model");
            w.WriteString("type", "BPE");
            w.WriteNull("dropout");
            w.WriteNull("unk_token");
            w.WriteNull("continuing_subword_prefix");
            w.WriteNull("end_of_word_suffix");
            w.WriteBoolean("fuse_unk", false);
            w.WriteBoolean("byte_fallback", false);
            w.WriteBoolean("ignore_merges", false);
            w.WriteStartObject("vocab");
            for (int id = 0; id < t.LearnedCount; id++) w.WriteNumber(t.Tokens[id], id);
            w.WriteEndObject();
            w.WriteStartArray("merges");
            foreach (var m in t.Merges) w.WriteStringValue(m);
            w.WriteEndArray();
            w.WriteEndObject();

            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    public static byte[] TokenizerConfigJson(TrainedTokenizer t)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, Options))
        {
            w.WriteStartObject();
            w.WriteBoolean("add_bos_token", t.BosId is not null);
            w.WriteBoolean("add_eos_token", false);
            w.WriteStartObject("added_tokens_decoder");
            for (int i = 0; i < t.AddedTokens.Count; i++)
            {
                w.WriteStartObject((t.LearnedCount + i).ToString(System.Globalization.CultureInfo.InvariantCulture));
                WriteAddedTokenFields(w, t.AddedTokens[i]);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            if (t.BosId is int bos) w.WriteString("bos_token", t.Tokens[bos]);
            if (t.EosId is int eos) w.WriteString("eos_token", t.Tokens[eos]);
            if (t.ChatTemplate is not null) w.WriteString("chat_template", t.ChatTemplate);
            w.WriteBoolean("clean_up_tokenization_spaces", false);
            w.WriteString("tokenizer_class", "PreTrainedTokenizerFast");
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    static void WriteAddedTokenFields(Utf8JsonWriter w, AddedToken a)
    {
        w.WriteString("content", a.Content);
        w.WriteBoolean("single_word", false);
        w.WriteBoolean("lstrip", false);
        w.WriteBoolean("rstrip", false);
        w.WriteBoolean("normalized", false);
        w.WriteBoolean("special", a.Special);
    }

    // Byte-to-unicode mapping only: the Split before it has already cut the words.
    static void WriteByteLevel(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", false);
        w.WriteBoolean("trim_offsets", false);
        w.WriteBoolean("use_regex", false);
        w.WriteEndObject();
    }

    static void WriteSpecialPiece(Utf8JsonWriter w, string id, int typeId)
    {
        w.WriteStartObject();
        w.WriteStartObject("SpecialToken");
        w.WriteString("id", id);
        w.WriteNumber("type_id", typeId);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    static void WriteSequencePiece(Utf8JsonWriter w, string id, int typeId)
    {
        w.WriteStartObject();
        w.WriteStartObject("Sequence");
        w.WriteString("id", id);
        w.WriteNumber("type_id", typeId);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}

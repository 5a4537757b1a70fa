using SeekSharp.Gguf;

namespace SeekSharp.Tokenization;

/// <summary>Converts a Hugging Face byte-level BPE tokenizer to GGUF tokenizer metadata.</summary>
public static class HuggingFaceGgufConverter
{
    /// <summary>
    /// Adds the <c>tokenizer.ggml.*</c> keys (model, pre, tokens, token_type, merges, special token ids,
    /// add_bos/add_eos) and <c>tokenizer.chat_template</c> as llama.cpp's convert_hf_to_gguf.py writes them:
    /// added tokens that are special or spelled like control tokens become CONTROL, other added tokens
    /// USER_DEFINED, ids without a token "[PADn]" UNUSED. The pre-tokenizer name is chosen from the
    /// tokenizer.json Split regexes (gpt-2, llama-bpe, qwen2, deepseek-v3).
    /// </summary>
    /// <param name="w">The writer to add keys to.</param>
    /// <param name="tokenizerJsonPath">Path of tokenizer.json.</param>
    /// <param name="tokenizerConfigPath">Path of tokenizer_config.json; when null, one next to tokenizer.json is used if present.</param>
    /// <exception cref="TokenizerFormatException">The files are invalid or describe an unsupported tokenizer.</exception>
    /// <remarks>The vocabulary size is the highest token id + 1; a model whose config.json declares a larger
    /// vocabulary needs "[PADn]" tokens appended by the caller to match its embedding rows.</remarks>
    public static void AddTokenizerMetadata(GgufWriter w, string tokenizerJsonPath, string? tokenizerConfigPath)
    {
        ArgumentNullException.ThrowIfNull(w);
        tokenizerConfigPath ??= Tokenizer.SiblingConfig(tokenizerJsonPath);
        GgufTokenizerMetadata.Write(w, HuggingFaceTokenizerFiles.Load(tokenizerJsonPath, tokenizerConfigPath));
    }
}

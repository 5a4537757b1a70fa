namespace SeekSharp.Tokenization;

/// <summary>The byte-level BPE pre-tokenizers we implement, keyed by llama.cpp's <c>tokenizer.ggml.pre</c> names.</summary>
internal enum PreTokenizerKind
{
    /// <summary><c>gpt-2</c>: <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>.</summary>
    Gpt2,
    /// <summary><c>llama-bpe</c> (Llama 3): contractions, optional-prefix letter runs, digits in threes, newline-aware whitespace.</summary>
    Llama3,
    /// <summary><c>qwen2</c> and <c>deepseek-r1-qwen</c>: the Llama 3 regex with single digits.</summary>
    Qwen2,
    /// <summary><c>deepseek-v3</c>: digits in threes, then CJK runs, then a punctuation-aware main regex.</summary>
    DeepSeekV3,
}

internal static class PreTokenizerNames
{
    public static PreTokenizerKind? FromGgufName(string? name) => name switch
    {
        "gpt-2" => PreTokenizerKind.Gpt2,
        "llama-bpe" or "llama3" or "llama-v3" => PreTokenizerKind.Llama3,
        "qwen2" or "deepseek-r1-qwen" => PreTokenizerKind.Qwen2,
        "deepseek-v3" => PreTokenizerKind.DeepSeekV3,
        _ => null,
    };

    public static string ToGgufName(PreTokenizerKind kind) => kind switch
    {
        PreTokenizerKind.Gpt2 => "gpt-2",
        PreTokenizerKind.Llama3 => "llama-bpe",
        PreTokenizerKind.Qwen2 => "qwen2",
        PreTokenizerKind.DeepSeekV3 => "deepseek-v3",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public const string SupportedList = "gpt-2, llama-bpe (llama3, llama-v3), qwen2, deepseek-r1-qwen, deepseek-v3";
}

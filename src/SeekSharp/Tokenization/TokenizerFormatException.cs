namespace SeekSharp.Tokenization;

/// <summary>A tokenizer description (tokenizer.json, tokenizer_config.json or GGUF tokenizer metadata) is invalid or unsupported.</summary>
public sealed class TokenizerFormatException : Exception
{
    /// <summary>Creates the exception for the file at <paramref name="filePath"/>.</summary>
    public TokenizerFormatException(string filePath, string message, Exception? inner = null)
        : base($"{filePath}: {message}", inner) => FilePath = filePath;

    /// <summary>The file that was being read.</summary>
    public string FilePath { get; }
}

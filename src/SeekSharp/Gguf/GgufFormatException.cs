namespace SeekSharp.Gguf;

/// <summary>
/// A GGUF file is corrupt, truncated or uses something SeekSharp does not support, or a metadata key is missing or
/// has an unexpected type. The message names the file, the byte offset, what was expected and what was found.
/// </summary>
public class GgufFormatException : Exception
{
    /// <summary>Creates the exception; <paramref name="message"/> should already say what was expected and found.</summary>
    /// <param name="filePath">The file being read.</param>
    /// <param name="offset">Byte offset in the file where the problem was found, or -1 if it has no position.</param>
    /// <param name="message">What was expected and what was found.</param>
    public GgufFormatException(string filePath, long offset, string message)
        : base(Compose(filePath, offset, message))
    {
        FilePath = filePath;
        Offset = offset;
    }

    /// <summary>The file being read.</summary>
    public string FilePath { get; }

    /// <summary>Byte offset in the file where the problem was found, or -1 if it has no position (e.g. a missing key).</summary>
    public long Offset { get; }

    static string Compose(string filePath, long offset, string message) =>
        offset >= 0 ? $"GGUF file '{filePath}', byte offset {offset}: {message}" : $"GGUF file '{filePath}': {message}";
}

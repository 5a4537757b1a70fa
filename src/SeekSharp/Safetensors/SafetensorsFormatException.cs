namespace SeekSharp.Safetensors;

/// <summary>
/// A safetensors file or shard index is corrupt, truncated, inconsistent or unsupported. The message names the file,
/// the tensor when there is one, what was expected and what was found.
/// </summary>
public sealed class SafetensorsFormatException : Exception
{
    /// <summary>Creates the exception; <paramref name="message"/> should already say what was expected and found.</summary>
    /// <param name="filePath">The file being read (a shard, or the index).</param>
    /// <param name="tensorName">The tensor concerned, or null when the problem is not about one tensor.</param>
    /// <param name="message">What was expected and what was found.</param>
    public SafetensorsFormatException(string filePath, string? tensorName, string message)
        : base(tensorName is null ? $"safetensors file '{filePath}': {message}" : $"safetensors file '{filePath}', tensor '{tensorName}': {message}")
    {
        FilePath = filePath;
        TensorName = tensorName;
    }

    /// <summary>The file being read.</summary>
    public string FilePath { get; }

    /// <summary>The tensor concerned, or null.</summary>
    public string? TensorName { get; }
}

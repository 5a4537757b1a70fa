namespace SeekSharp.Models;

/// <summary>A model file that is well-formed GGUF but does not describe a model SeekSharp can run; the message names the file and the key or tensor.</summary>
public sealed class ModelLoadException(string filePath, string problem)
    : Exception($"{filePath}: {problem}")
{
    /// <summary>The model file.</summary>
    public string FilePath { get; } = filePath;
}

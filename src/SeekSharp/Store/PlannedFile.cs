namespace SeekSharp.Store;

/// <summary>One file a pull fetches.</summary>
/// <param name="Url">Where from.</param>
/// <param name="Path">Name in the model's folder.</param>
/// <param name="Size">Size the source publishes, if any.</param>
/// <param name="Sha256">SHA-256 the source publishes, if any.</param>
/// <param name="Gguf">The file must start with the GGUF magic.</param>
internal sealed record PlannedFile(Uri Url, string Path, long? Size, string? Sha256, bool Gguf);

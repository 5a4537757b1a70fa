using System.Text.Json.Serialization;

namespace SeekSharp.Store;

/// <summary>One file of a pulled model.</summary>
/// <param name="Path">Path relative to the model's folder, with '/' separators.</param>
/// <param name="Size">Size in bytes.</param>
/// <param name="Sha256">SHA-256 of the file on disk.</param>
/// <param name="Verified">True when the source published this hash and the download was checked against it; false when
/// the source published none and the hash was computed after the download (it then only detects later corruption).</param>
public sealed record ModelFile(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("sha256")] string Sha256,
    [property: JsonPropertyName("verified")] bool Verified);

/// <summary>What the store knows of a pulled model: <c>manifest.json</c> in the model's folder, written last, so a model
/// whose manifest exists is complete.</summary>
/// <param name="Name">The canonical model name (<see cref="ModelName.Canonical"/>).</param>
/// <param name="Source">Where the files came from: a Hugging Face or registry address.</param>
/// <param name="Format"><c>gguf</c> (one GGUF file) or <c>safetensors</c> (a Hugging Face folder).</param>
/// <param name="Pulled">When the pull finished.</param>
/// <param name="Files">The files, with their sizes and hashes.</param>
public sealed record ModelManifest(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("pulled")] DateTimeOffset Pulled,
    [property: JsonPropertyName("files")] IReadOnlyList<ModelFile> Files)
{
    /// <summary>Total size of the files in bytes.</summary>
    [JsonIgnore]
    public long Size => Files.Sum(f => f.Size);
}

/// <summary>A model in the store: its manifest and its folder.</summary>
/// <param name="Manifest">The manifest.</param>
/// <param name="Folder">The model's folder (absolute).</param>
public sealed record StoredModel(ModelManifest Manifest, string Folder)
{
    /// <summary>What commands load: the GGUF file of a GGUF model, the folder of a Hugging Face folder model.</summary>
    public string ModelPath => Manifest.Format == ModelStore.FormatGguf && Manifest.Files.FirstOrDefault(f => f.Path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)) is { } gguf
        ? System.IO.Path.Combine(Folder, gguf.Path)
        : Folder;
}

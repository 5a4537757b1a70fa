using System.Text.Json;
using System.Text.Json.Serialization;

namespace SeekSharp.Store;

/// <summary>A short name for one GGUF file of a Hugging Face repository.</summary>
/// <param name="Name">The alias, <c>NAME:TAG</c> in lower case.</param>
/// <param name="Repository">Hugging Face repository, <c>owner/repo</c>.</param>
/// <param name="File">Path of the GGUF file in the repository.</param>
/// <param name="Revision">Branch, tag or commit.</param>
/// <param name="Sha256">The file's SHA-256 when the alias pins it; null to trust the hash the Hub publishes.</param>
/// <param name="Size">The file's size in bytes when the alias pins it.</param>
/// <param name="Description">What the model is, for <c>seek pull</c>'s error listing the aliases.</param>
public sealed record ModelAlias(string Name, string Repository, string File, string Revision = "main", string? Sha256 = null, long? Size = null,
                                string? Description = null);

/// <summary>The alias table: <c>aliases.json</c>, built into the library so that every copy of <c>seek</c> knows the same names.</summary>
public sealed class ModelAliases
{
    private readonly Dictionary<string, ModelAlias> _aliases;

    private ModelAliases(Dictionary<string, ModelAlias> aliases) => _aliases = aliases;

    /// <summary>The aliases shipped with SeekSharp.</summary>
    public static ModelAliases BuiltIn { get; } = LoadBuiltIn();

    /// <summary>Every alias, by name.</summary>
    public IReadOnlyDictionary<string, ModelAlias> All => _aliases;

    /// <summary>The alias called <paramref name="name"/> (case-insensitive), or null.</summary>
    public ModelAlias? Find(string name) => _aliases.GetValueOrDefault(name.ToLowerInvariant());

    /// <summary>Reads an alias table in <c>aliases.json</c>'s layout.</summary>
    /// <exception cref="InvalidDataException">An entry lacks its repository or file, or a pinned hash is not 64 hex digits.</exception>
    public static ModelAliases Parse(string json)
    {
        var file = JsonSerializer.Deserialize<AliasFile>(json, new JsonSerializerOptions { ReadCommentHandling = JsonCommentHandling.Skip })
                   ?? throw new InvalidDataException("alias table is empty");
        var aliases = new Dictionary<string, ModelAlias>();
        foreach (var (name, e) in file.Aliases ?? [])
        {
            if (string.IsNullOrEmpty(e.Repo) || string.IsNullOrEmpty(e.File))
                throw new InvalidDataException($"alias '{name}' needs \"repo\" and \"file\"");
            if (e.Sha256 is not null && !Hashes.IsSha256(e.Sha256))
                throw new InvalidDataException($"alias '{name}': sha256 must be 64 hex digits, got '{e.Sha256}'");
            if (!ModelName.TryParse(name, out var parsed, out _) || parsed.Kind != ModelSourceKind.Alias)
                throw new InvalidDataException($"alias '{name}' is not of the form NAME:TAG");
            aliases[parsed.Canonical] = new ModelAlias(parsed.Canonical, e.Repo, e.File, e.Revision ?? "main", e.Sha256?.ToLowerInvariant(), e.Size, e.Description);
        }
        return new ModelAliases(aliases);
    }

    private static ModelAliases LoadBuiltIn()
    {
        using var stream = typeof(ModelAliases).Assembly.GetManifestResourceStream("SeekSharp.Store.aliases.json")
                           ?? throw new InvalidOperationException("the alias table is missing from the SeekSharp assembly");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd());
    }

    private sealed class AliasFile
    {
        [JsonPropertyName("aliases")] public Dictionary<string, AliasEntry>? Aliases { get; set; }
    }

    private sealed class AliasEntry
    {
        [JsonPropertyName("repo")] public string? Repo { get; set; }
        [JsonPropertyName("file")] public string? File { get; set; }
        [JsonPropertyName("revision")] public string? Revision { get; set; }
        [JsonPropertyName("sha256")] public string? Sha256 { get; set; }
        [JsonPropertyName("size")] public long? Size { get; set; }
        [JsonPropertyName("description")] public string? Description { get; set; }
    }
}

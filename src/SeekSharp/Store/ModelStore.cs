using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SeekSharp.IO;

namespace SeekSharp.Store;

/// <summary>
/// The folder of pulled models: one sub-folder per model holding its files and a <c>manifest.json</c>
/// (<see cref="ModelManifest"/>). The sub-folder's name is the canonical name made file-system-safe plus 8 hex digits of
/// its SHA-256, so that names differing only in characters a file system refuses (':' on Windows, '/') never share one.
/// </summary>
public sealed class ModelStore
{
    /// <summary>The <see cref="ModelManifest.Format"/> of a single GGUF file.</summary>
    public const string FormatGguf = "gguf";
    /// <summary>The <see cref="ModelManifest.Format"/> of a Hugging Face folder (config.json, tokenizer, safetensors).</summary>
    public const string FormatSafetensors = "safetensors";
    /// <summary>The environment variable that moves the store.</summary>
    public const string EnvironmentVariable = "SEEK_MODELS";

    private const string ManifestName = "manifest.json";
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>A store in <paramref name="root"/> (created on the first pull).</summary>
    public ModelStore(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = Path.GetFullPath(root);
    }

    /// <summary>The store's folder.</summary>
    public string Root { get; }

    /// <summary><c>SEEK_MODELS</c> when set, else <c>seeksharp/models</c> in the user's local application data folder
    /// (<c>~/.local/share</c> on Linux, <c>%LOCALAPPDATA%</c> on Windows, <c>~/Library/Application Support</c> on macOS).</summary>
    public static string DefaultRoot() =>
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } root
            ? root
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify),
                           "seeksharp", "models");

    /// <summary>The store at <paramref name="root"/> if given, else at <see cref="DefaultRoot"/>.</summary>
    public static ModelStore Open(string? root = null) => new(root is { Length: > 0 } ? root : DefaultRoot());

    /// <summary>The folder that holds (or will hold) the model called <paramref name="name"/>.</summary>
    public string FolderFor(ModelName name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var safe = new StringBuilder();
        foreach (char c in name.Canonical.Replace("://", "_"))
            safe.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' ? c : '_');
        string slug = safe.Length > 80 ? safe.ToString(0, 80) : safe.ToString();
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name.Canonical)))[..8];
        return Path.Combine(Root, $"{slug.Trim('.')}-{hash}");
    }

    /// <summary>Every pulled model, by name. Folders without a readable manifest (a pull in progress or interrupted) are left out.</summary>
    public IReadOnlyList<StoredModel> List()
    {
        if (!Directory.Exists(Root)) return [];
        var models = new List<StoredModel>();
        foreach (string folder in Directory.EnumerateDirectories(Root))
            if (TryRead(folder) is { } model) models.Add(model);
        return [.. models.OrderBy(m => m.Manifest.Name, StringComparer.Ordinal)];
    }

    /// <summary>The pulled model called <paramref name="name"/>, or null.</summary>
    public StoredModel? Find(ModelName name)
    {
        var model = TryRead(FolderFor(name));
        return model is not null && model.Manifest.Name == name.Canonical ? model : null;
    }

    /// <summary>
    /// What a command given <paramref name="nameOrPath"/> loads: the path itself when a file or folder is there (a path
    /// wins over a name), else the pulled model of that name. Null when it is neither a path nor a model name, so the
    /// caller reports a missing file in its own words.
    /// </summary>
    /// <exception cref="FileNotFoundException">A model name that is not pulled; the message says to <c>seek pull</c> it (nothing downloads implicitly).</exception>
    public string? Locate(string nameOrPath)
    {
        ArgumentNullException.ThrowIfNull(nameOrPath);
        if (File.Exists(nameOrPath) || Directory.Exists(nameOrPath)) return nameOrPath;
        if (!ModelName.TryParse(nameOrPath, out var name, out _)) return null;
        return Find(name)?.ModelPath
               ?? throw new FileNotFoundException($"no file '{nameOrPath}' and no model '{name.Canonical}' in the store ({Root}); " +
                                                  $"download it first with: seek pull {name.Canonical}", nameOrPath);
    }

    /// <summary>Deletes the model's folder, with any partial download in it.</summary>
    /// <returns>False when there was nothing to delete.</returns>
    public bool Remove(ModelName name)
    {
        string folder = FolderFor(name);
        if (!Directory.Exists(folder)) return false;
        // The manifest goes first: a removal stopped halfway leaves files that no longer pass for a pulled model.
        File.Delete(Path.Combine(folder, ManifestName));
        Directory.Delete(folder, recursive: true);
        return true;
    }

    /// <summary>Records a finished pull: the manifest is written whole (temporary file, then rename), after every file.</summary>
    internal StoredModel Save(ModelManifest manifest, string folder)
    {
        AtomicFile.WriteAllText(Path.Combine(folder, ManifestName), JsonSerializer.Serialize(manifest, Json));
        return new StoredModel(manifest, folder);
    }

    private static StoredModel? TryRead(string folder)
    {
        string path = Path.Combine(folder, ManifestName);
        if (!File.Exists(path)) return null;
        try
        {
            var manifest = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(path));
            return manifest is { Name: not null, Files: not null } ? new StoredModel(manifest, folder) : null;
        }
        catch (JsonException)
        {
            return null; // a damaged manifest: `seek pull` writes it again
        }
    }
}

using System.Text.Json;

namespace SeekSharp.Safetensors;

/// <summary>
/// The weights of a Hugging Face model folder: one <c>model.safetensors</c>, or the shards that
/// <c>model.safetensors.index.json</c>'s <c>weight_map</c> names (tensor name → shard file), each memory-mapped.
/// Without an index, every <c>model*.safetensors</c> in the folder is read, as llama.cpp's converter does.
/// </summary>
/// <remarks>
/// The index is checked against the shards: a shard path must stay inside the folder (no absolute path, no "..");
/// every shard it names must exist; every tensor it lists must be in the shard it names; and no shard may hold a
/// tensor the index does not list (the converter refuses that mismatch too: it means the files belong to different
/// downloads).
/// </remarks>
public sealed class SafetensorsCheckpoint : IDisposable
{
    /// <summary>File name of the shard index.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    readonly List<SafetensorsFile> _files;
    readonly Dictionary<string, (SafetensorsFile File, SafetensorsTensorInfo Info)> _tensors;

    SafetensorsCheckpoint(string folder, List<SafetensorsFile> files, Dictionary<string, (SafetensorsFile, SafetensorsTensorInfo)> tensors)
    {
        Folder = folder;
        _files = files;
        _tensors = tensors;
    }

    /// <summary>The model folder.</summary>
    public string Folder { get; }

    /// <summary>The mapped files, in the order they were opened.</summary>
    public IReadOnlyList<SafetensorsFile> Files => _files;

    /// <summary>Every tensor name, in shard order then header order.</summary>
    public IEnumerable<string> TensorNames => _tensors.Keys;

    /// <summary>Whether the folder holds a tensor named <paramref name="name"/>.</summary>
    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>The tensor named <paramref name="name"/> and the file holding it, or null.</summary>
    public (SafetensorsFile File, SafetensorsTensorInfo Info)? Find(string name) =>
        _tensors.TryGetValue(name, out var entry) ? entry : null;

    /// <summary>Opens the safetensors weights of <paramref name="folder"/>.</summary>
    /// <exception cref="SafetensorsFormatException">The index or a shard is invalid, missing, or they disagree.</exception>
    /// <exception cref="FileNotFoundException">The folder holds no safetensors weights.</exception>
    public static SafetensorsCheckpoint Open(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        string root = Path.GetFullPath(folder);
        string indexPath = Path.Combine(root, IndexFileName);
        var files = new List<SafetensorsFile>();
        var tensors = new Dictionary<string, (SafetensorsFile, SafetensorsTensorInfo)>(StringComparer.Ordinal);
        try
        {
            if (File.Exists(indexPath))
                OpenIndexed(root, indexPath, files, tensors);
            else
                OpenUnindexed(root, files, tensors);
            return new SafetensorsCheckpoint(root, files, tensors);
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
    }

    static void OpenUnindexed(string root, List<SafetensorsFile> files, Dictionary<string, (SafetensorsFile, SafetensorsTensorInfo)> tensors)
    {
        var parts = Directory.EnumerateFiles(root, "model*.safetensors").Order(StringComparer.Ordinal).ToArray();
        if (parts.Length == 0)
            throw new FileNotFoundException($"'{root}' holds no {IndexFileName} and no model*.safetensors file", Path.Combine(root, "model.safetensors"));
        foreach (string part in parts)
        {
            var file = SafetensorsFile.Open(part);
            files.Add(file);
            foreach (var t in file.Tensors)
                if (!tensors.TryAdd(t.Name, (file, t)))
                    throw new SafetensorsFormatException(part, t.Name, $"the tensor is also in '{tensors[t.Name].Item1.Path}'; which copy is meant is ambiguous");
        }
    }

    static void OpenIndexed(string root, string indexPath, List<SafetensorsFile> files, Dictionary<string, (SafetensorsFile, SafetensorsTensorInfo)> tensors)
    {
        // weight_map in file order: tensor name → shard name.
        var map = new List<(string Tensor, string Shard)>();
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("weight_map", out var weightMap) || weightMap.ValueKind != JsonValueKind.Object)
                throw new SafetensorsFormatException(indexPath, null, "expected an object with a 'weight_map' object (tensor name → shard file)");
            foreach (var p in weightMap.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String)
                    throw new SafetensorsFormatException(indexPath, p.Name, $"weight_map value must be a shard file name, found {p.Value.ValueKind}");
                map.Add((p.Name, p.Value.GetString()!));
            }
        }
        catch (JsonException e)
        {
            throw new SafetensorsFormatException(indexPath, null, $"not valid JSON: {e.Message}");
        }

        var shards = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        string rootWithSeparator = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        foreach (var (tensor, shard) in map)
        {
            if (!shards.TryGetValue(shard, out var file))
            {
                // A downloaded index is untrusted input: "../x" or "/etc/x" would read files outside the model.
                string full = Path.GetFullPath(Path.Combine(root, shard));
                if (Path.IsPathRooted(shard) || !full.StartsWith(rootWithSeparator, StringComparison.Ordinal))
                    throw new SafetensorsFormatException(indexPath, tensor, $"shard '{shard}' lies outside the model folder '{root}'");
                if (!File.Exists(full))
                    throw new SafetensorsFormatException(indexPath, tensor, $"shard '{shard}' does not exist in '{root}' (incomplete download?)");
                file = SafetensorsFile.Open(full);
                files.Add(file);
                shards.Add(shard, file);
            }
            var info = file.Find(tensor)
                ?? throw new SafetensorsFormatException(file.Path, tensor, $"{IndexFileName} places the tensor in this shard but the shard does not hold it");
            if (!tensors.TryAdd(tensor, (file, info)))
                throw new SafetensorsFormatException(indexPath, tensor, "the tensor is listed twice in weight_map");
        }
        foreach (var file in files)
            foreach (var t in file.Tensors)
                if (!tensors.TryGetValue(t.Name, out var owner) || !ReferenceEquals(owner.Item1, file))
                    throw new SafetensorsFormatException(file.Path, t.Name, $"the shard holds a tensor that {IndexFileName} does not place in it");
    }

    /// <summary>Unmaps every file.</summary>
    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
    }
}

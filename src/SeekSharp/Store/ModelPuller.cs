namespace SeekSharp.Store;

/// <summary>
/// <c>seek pull</c>: resolves a <see cref="ModelName"/> to the files of its source, downloads those that are missing or
/// changed into the model's store folder (<see cref="Downloader"/>: resumable, verified) and writes the manifest last.
/// </summary>
public sealed class ModelPuller : IDisposable
{
    private readonly ModelStore _store;
    private readonly StoreEndpoints _endpoints;
    private readonly ModelAliases _aliases;
    private readonly Downloader _downloader;
    private readonly HuggingFaceHub _hub;
    private readonly OllamaRegistry _ollama;

    /// <summary>A puller into <paramref name="store"/>.</summary>
    /// <param name="store">Where models go.</param>
    /// <param name="endpoints">The Hub and registry to ask, and the Hub token; default <see cref="StoreEndpoints.FromEnvironment"/>.</param>
    /// <param name="options">Download settings; their <see cref="DownloadOptions.Authorize"/> is replaced by the endpoints' token rule.</param>
    /// <param name="aliases">The alias table; default <see cref="ModelAliases.BuiltIn"/>.</param>
    public ModelPuller(ModelStore store, StoreEndpoints? endpoints = null, DownloadOptions? options = null, ModelAliases? aliases = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _endpoints = endpoints ?? StoreEndpoints.FromEnvironment();
        _aliases = aliases ?? ModelAliases.BuiltIn;
        _downloader = new Downloader((options ?? new DownloadOptions()) with { Authorize = _endpoints.Authorize });
        _hub = new HuggingFaceHub(_downloader, _endpoints);
        _ollama = new OllamaRegistry(_downloader, _endpoints);
    }

    /// <summary>Pulls <paramref name="name"/>: files already in the store with the size and hash the source publishes are kept,
    /// the others are downloaded (resuming partial files), and the manifest is written once all are there.</summary>
    /// <param name="name">The model.</param>
    /// <param name="progress">Reports each file's progress (the file name is in <see cref="DownloadProgress.File"/>).</param>
    /// <param name="cancellationToken">Stops the pull; partial files stay for the next pull to resume.</param>
    /// <exception cref="ArgumentException">An alias that the table does not know.</exception>
    /// <exception cref="DownloadException">The source refused, sent the wrong content, or kept failing.</exception>
    public async Task<StoredModel> PullAsync(ModelName name, IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        var (source, format, files) = await PlanAsync(name, cancellationToken);
        string folder = _store.FolderFor(name);
        Directory.CreateDirectory(folder);
        var previous = _store.Find(name)?.Manifest.Files.ToDictionary(f => f.Path) ?? [];
        CheckFreeSpace(folder, files.Where(f => !Unchanged(f, previous, folder)).ToList());
        var results = new List<ModelFile>();
        bool manifestDropped = false;
        foreach (var file in files)
        {
            string path = Inside(folder, file.Path);
            if (Unchanged(file, previous, folder))
            {
                results.Add(previous[file.Path]); // unchanged at the source: pulling again is a check, not a download
                continue;
            }
            if (!manifestDropped)
            {
                // A file is about to change: until the new manifest is written the store must not vouch for the old hashes.
                File.Delete(Path.Combine(folder, "manifest.json"));
                manifestDropped = true;
            }
            await _downloader.DownloadAsync(new DownloadRequest(file.Url, path) { Size = file.Size, Sha256 = file.Sha256, ExpectGguf = file.Gguf },
                                            progress, cancellationToken);
            // Without a published hash the file's own is recorded, so `seek show` can still list it and a later check can find corruption.
            string sha = file.Sha256 ?? Hashes.Sha256OfFile(path);
            results.Add(new ModelFile(file.Path, new FileInfo(path).Length, sha, Verified: file.Sha256 is not null));
        }
        return _store.Save(new ModelManifest(name.Canonical, source, format, DateTimeOffset.UtcNow, results), folder);
    }

    /// <summary>The source address, the format and the files of <paramref name="name"/>.</summary>
    private async Task<(string Source, string Format, IReadOnlyList<PlannedFile> Files)> PlanAsync(ModelName name, CancellationToken cancellationToken)
    {
        switch (name.Kind)
        {
            case ModelSourceKind.Alias:
            {
                var alias = _aliases.Find(name.Canonical)
                            ?? throw new ArgumentException($"unknown model '{name.Canonical}'; known names: {string.Join(", ", _aliases.All.Keys.Order())} " +
                                                           "(or pull hf://OWNER/REPO/FILE.gguf, ollama://NAME:TAG or an https:// URL)");
                var file = await _hub.FileAsync(alias.Repository, alias.Revision, alias.File, cancellationToken);
                if (alias.Sha256 is { } pinned)
                {
                    if (file.Sha256 is { } published && published != pinned)
                        throw new DownloadException($"{name.Canonical}: the alias table pins SHA-256 {pinned} but the Hub publishes {published} for {alias.File}");
                    file = file with { Sha256 = pinned };
                }
                if (alias.Size is { } size) file = file with { Size = size };
                return (file.Url.AbsoluteUri, ModelStore.FormatGguf, [file]);
            }
            case ModelSourceKind.HuggingFaceFile:
            {
                var file = await _hub.FileAsync(name.Repository!, name.Revision!, name.PathInRepository!, cancellationToken);
                return (file.Url.AbsoluteUri, ModelStore.FormatGguf, [file]);
            }
            case ModelSourceKind.HuggingFaceFolder:
            {
                var files = await _hub.FolderAsync(name.Repository!, name.Revision!, name.PathInRepository!, cancellationToken);
                string folder = StoreEndpoints.Combine(_endpoints.HuggingFace, $"{name.Repository}/tree/{name.Revision}/{name.PathInRepository}").AbsoluteUri.TrimEnd('/');
                return (folder, ModelStore.FormatSafetensors, files);
            }
            case ModelSourceKind.Ollama:
            {
                var file = await _ollama.ModelFileAsync(name, cancellationToken);
                return (file.Url.AbsoluteUri, ModelStore.FormatGguf, [file]);
            }
            default:
            {
                var url = name.Url!;
                string last = Uri.UnescapeDataString(url.AbsolutePath.TrimEnd('/').Split('/')[^1]);
                string file = new([.. last.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_')]);
                if (!file.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)) file += ".gguf";
                return (url.AbsoluteUri, ModelStore.FormatGguf, [new PlannedFile(url, file.TrimStart('.'), null, null, Gguf: true)]);
            }
        }
    }

    /// <summary>True when the store holds <paramref name="file"/> already, with the size and hash the source publishes now.</summary>
    private static bool Unchanged(PlannedFile file, Dictionary<string, ModelFile> previous, string folder)
    {
        if (!previous.TryGetValue(file.Path, out var had)) return false;
        var info = new FileInfo(Inside(folder, file.Path));
        return info.Exists && info.Length == had.Size && (file.Size is null || file.Size == had.Size) && (file.Sha256 is null || file.Sha256 == had.Sha256);
    }

    /// <summary>
    /// Refuses a pull whose files cannot all fit, before the first byte: the downloader checks each file as it starts,
    /// but a folder of shards would otherwise fill the disk with the first ones and fail on a later one.
    /// </summary>
    private void CheckFreeSpace(string folder, IReadOnlyList<PlannedFile> missing)
    {
        long needed = missing.Sum(f => f.Size is { } size
            ? Math.Max(0, size - (File.Exists(Downloader.PartialPath(Inside(folder, f.Path))) ? new FileInfo(Downloader.PartialPath(Inside(folder, f.Path))).Length : 0))
            : 0);
        long free = _downloader.Options.FreeSpace(folder);
        if (free < needed)
            throw new IOException($"not enough free disk space in {folder}: {needed / 1048576.0:N1} MiB needed for {missing.Count} file(s), {free / 1048576.0:N1} MiB free");
    }

    /// <summary><paramref name="relative"/> inside <paramref name="folder"/>; a name from a server that would climb out of it is refused.</summary>
    private static string Inside(string folder, string relative)
    {
        string path = Path.GetFullPath(Path.Combine(folder, relative));
        if (relative.Length == 0 || !path.StartsWith(Path.TrimEndingDirectorySeparator(folder) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new InvalidDataException($"the source names a file '{relative}' outside the model's folder");
        return path;
    }

    /// <inheritdoc/>
    public void Dispose() => _downloader.Dispose();
}

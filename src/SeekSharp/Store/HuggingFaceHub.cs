using System.Text.Json;

namespace SeekSharp.Store;

/// <summary>
/// What a pull needs from the Hugging Face Hub: a file's download address, size and SHA-256, and the files of a model folder.
/// </summary>
/// <remarks>
/// Files download from <c>{endpoint}/{repo}/resolve/{revision}/{path}</c>. For a file stored with Git LFS (every weight
/// file), the Hub's answer to a HEAD request on that address, before its redirect to the CDN, carries the SHA-256 as
/// <c>X-Linked-Etag</c> and the size as <c>X-Linked-Size</c>; small files kept in git have a git object id as ETag,
/// which is not a SHA-256 of the content, so they get no published hash. A folder is listed through
/// <c>GET {endpoint}/api/models/{repo}/tree/{revision}/{path}</c>, whose entries give each LFS file's SHA-256 as
/// <c>lfs.oid</c>; pages continue through the <c>Link: rel="next"</c> header.
/// </remarks>
internal sealed class HuggingFaceHub(Downloader http, StoreEndpoints endpoints)
{
    /// <summary>The files of a Hugging Face folder a model needs; the rest (README, images, other formats, <c>original/</c>) is left behind.</summary>
    private static bool IsModelFile(string name) =>
        name is "config.json" or "generation_config.json" or "tokenizer.json" or "tokenizer_config.json" or "model.safetensors.index.json"
        || name.EndsWith(".safetensors", StringComparison.Ordinal);

    public Uri ResolveUrl(string repo, string revision, string path) =>
        StoreEndpoints.Combine(endpoints.HuggingFace, $"{EscapePath(repo)}/resolve/{Uri.EscapeDataString(revision)}/{EscapePath(path)}");

    /// <summary>The download of one file, with the size and SHA-256 the Hub publishes for it (both null for a file kept in git).</summary>
    public async Task<PlannedFile> FileAsync(string repo, string revision, string path, CancellationToken cancellationToken)
    {
        var url = ResolveUrl(repo, revision, path);
        string what = $"hf://{repo}/{path}";
        using var response = await http.RetryAsync(what, () => http.SendAsync(HttpMethod.Head, url, null, cancellationToken, sameHostRedirectsOnly: true),
                                                   cancellationToken);
        if ((int)response.StatusCode is < 300 or >= 400)
            Downloader.EnsureSuccess(response, what, allowHtml: true); // HEAD has no body; the type says nothing yet
        string? sha = Header(response, "X-Linked-Etag") is { } etag ? etag.Replace("W/", "").Trim('"') : null;
        long? size = long.TryParse(Header(response, "X-Linked-Size"), out long linked) ? linked
                   : response.StatusCode == System.Net.HttpStatusCode.OK ? response.Content.Headers.ContentLength : null;
        return new PlannedFile(url, path.Split('/')[^1], size, Hashes.IsSha256(sha) ? sha!.ToLowerInvariant() : null,
                               Gguf: path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The model files directly inside <paramref name="folder"/> (empty: the repository's root), named relative to it.</summary>
    /// <exception cref="DownloadException">The listing failed, or the folder holds no config.json or no safetensors file.</exception>
    public async Task<IReadOnlyList<PlannedFile>> FolderAsync(string repo, string revision, string folder, CancellationToken cancellationToken)
    {
        string what = $"hf://{repo}{(folder.Length > 0 ? "/" + folder : "")}";
        var files = new List<PlannedFile>();
        Uri? page = StoreEndpoints.Combine(endpoints.HuggingFace, $"api/models/{EscapePath(repo)}/tree/{Uri.EscapeDataString(revision)}{(folder.Length > 0 ? "/" + EscapePath(folder) : "")}");
        for (int pages = 0; page is not null; pages++)
        {
            if (pages > 1000) throw new DownloadException($"{what}: the listing did not end after 1000 pages");
            var current = page;
            using var response = await http.RetryAsync(what, () => http.SendAsync(HttpMethod.Get, current, null, cancellationToken, accept: "application/json"),
                                                       cancellationToken);
            Downloader.EnsureSuccess(response, what);
            using var json = WireJson.Parse(await http.ReadTextAsync(response, what, cancellationToken), what, "the Hub's file listing");
            if (json.RootElement.ValueKind != JsonValueKind.Array)
                throw new DownloadException($"{what}: the Hub's file listing is not a JSON array");
            foreach (var entry in json.RootElement.EnumerateArray())
            {
                if (WireJson.String(entry, "type") is not (null or "file")) continue; // directories, and anything newer than files
                if (WireJson.String(entry, "path") is not { Length: > 0 } path) continue;
                string name = path.Split('/')[^1];
                if (!IsModelFile(name)) continue;
                string? sha = WireJson.Property(entry, "lfs", JsonValueKind.Object) is { } lfs ? WireJson.String(lfs, "oid") : null;
                files.Add(new PlannedFile(ResolveUrl(repo, revision, path), name, WireJson.Int64(entry, "size"),
                                          Hashes.IsSha256(sha) ? sha!.ToLowerInvariant() : null, Gguf: false));
            }
            page = NextPage(response);
        }
        if (!files.Any(f => f.Path == "config.json"))
            throw new DownloadException($"{what}: not a model folder: it has no config.json (for one GGUF file, name it: hf://{repo}/FILE.gguf)");
        if (!files.Any(f => f.Path.EndsWith(".safetensors", StringComparison.Ordinal)))
            throw new DownloadException($"{what}: not a model folder: it has no .safetensors file");
        return files;
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    /// <summary>The <c>rel="next"</c> address of an RFC 8288 Link header, as the Hub paginates long listings.</summary>
    private static Uri? NextPage(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out var links)) return null;
        foreach (string link in links.SelectMany(l => l.Split(',')))
        {
            string[] parts = link.Split(';', StringSplitOptions.TrimEntries);
            if (parts.Length > 1 && parts[0].StartsWith('<') && parts[0].EndsWith('>') && parts[1..].Any(p => p.Replace(" ", "") is "rel=\"next\"" or "rel=next"))
                return new Uri(response.RequestMessage!.RequestUri!, parts[0][1..^1]);
        }
        return null;
    }

    private static string EscapePath(string path) => string.Join('/', path.Split('/').Select(Uri.EscapeDataString));
}

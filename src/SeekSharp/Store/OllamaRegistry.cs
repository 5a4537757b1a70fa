using System.Text.Json;

namespace SeekSharp.Store;

/// <summary>
/// The model file of an Ollama registry name, through the registry's OCI distribution protocol: the manifest
/// <c>GET {registry}/v2/{namespace}/{name}/manifests/{tag}</c> lists layers; the one of media type
/// <c>application/vnd.ollama.image.model</c> is the GGUF file, fetched as <c>GET {registry}/v2/{namespace}/{name}/blobs/{digest}</c>,
/// and its digest (<c>sha256:HEX</c>) is the file's SHA-256. The template, parameter and licence layers are not fetched:
/// SeekSharp reads the chat template and the rest from the GGUF metadata.
/// </summary>
internal sealed class OllamaRegistry(Downloader http, StoreEndpoints endpoints)
{
    private const string ManifestType = "application/vnd.docker.distribution.manifest.v2+json";
    private const string ModelLayerType = "application/vnd.ollama.image.model";

    public async Task<PlannedFile> ModelFileAsync(ModelName name, CancellationToken cancellationToken)
    {
        string repo = name.Repository!, tag = name.Revision!;
        var url = StoreEndpoints.Combine(endpoints.OllamaRegistry, $"v2/{repo}/manifests/{Uri.EscapeDataString(tag)}");
        using var response = await http.RetryAsync(name.Canonical, () => http.SendAsync(HttpMethod.Get, url, null, cancellationToken, accept: ManifestType),
                                                   cancellationToken);
        Downloader.EnsureSuccess(response, name.Canonical);
        using var manifest = WireJson.Parse(await http.ReadTextAsync(response, name.Canonical, cancellationToken), name.Canonical, "the registry's manifest");
        if (WireJson.Property(manifest.RootElement, "layers", JsonValueKind.Array) is not { } layers)
            throw new DownloadException($"{name.Canonical}: the registry's manifest has no layers");
        foreach (var layer in layers.EnumerateArray())
        {
            if (WireJson.String(layer, "mediaType") != ModelLayerType) continue;
            string digest = WireJson.String(layer, "digest") ?? "";
            if (!digest.StartsWith("sha256:", StringComparison.Ordinal) || !Hashes.IsSha256(digest["sha256:".Length..]))
                throw new DownloadException($"{name.Canonical}: the model layer's digest '{digest}' is not sha256:HEX");
            long? size = WireJson.Int64(layer, "size");
            string file = $"{repo.Split('/')[^1]}-{tag}.gguf";
            return new PlannedFile(StoreEndpoints.Combine(endpoints.OllamaRegistry, $"v2/{repo}/blobs/{digest}"), file, size,
                                   digest["sha256:".Length..].ToLowerInvariant(), Gguf: true);
        }
        throw new DownloadException($"{name.Canonical}: the registry's manifest has no layer of type {ModelLayerType}");
    }
}

namespace SeekSharp.Store;

/// <summary>One file to fetch: where from, where to, and what the source says it must be.</summary>
/// <param name="Url">HTTP or HTTPS address; redirects are followed.</param>
/// <param name="Destination">The final file. It appears only once complete and verified; until then the bytes live in
/// <c>Destination.partial</c> (and the finished ranges in <c>Destination.partial.json</c>), from which a later call resumes.</param>
public sealed record DownloadRequest(Uri Url, string Destination)
{
    /// <summary>Size the source publishes, checked against the server's; null when unknown.</summary>
    public long? Size { get; init; }

    /// <summary>SHA-256 the source publishes (64 hex digits), checked before the rename; null when the source publishes none.</summary>
    public string? Sha256 { get; init; }

    /// <summary>The file must start with the GGUF magic: a login page or an error page served as 200 is refused by its first bytes.</summary>
    public bool ExpectGguf { get; init; }
}

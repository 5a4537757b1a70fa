using System.Net.Http.Headers;

namespace SeekSharp.Store;

/// <summary>How <see cref="Downloader"/> fetches files: parallelism, timeouts, retries and credentials.</summary>
public sealed record DownloadOptions
{
    /// <summary>Connections used at once for one file when the server honours range requests.</summary>
    public int Connections { get; init; } = 4;

    /// <summary>Files whose remaining bytes are fewer than this are fetched over one connection: splitting a small file costs
    /// more round trips than it saves.</summary>
    public long ParallelThreshold { get; init; } = 64L << 20;

    /// <summary>How long a connection may go without delivering a byte (or without answering with headers) before it is
    /// dropped and retried. A stalled TCP connection otherwise waits for the operating system's keep-alive, which can be hours.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Retries per byte range after a transient failure (dropped connection, stall, HTTP 5xx or 429), each after
    /// <see cref="RetryDelay"/> doubled per retry. Once spent, the download fails and the partial file stays for the next run.</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>Wait before the first retry; later retries double it.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Redirects followed per request (the Hugging Face Hub and the Ollama registry answer with one to a CDN).</summary>
    public int MaxRedirects { get; init; } = 10;

    /// <summary>
    /// Credentials for one request, called for every request including each redirect hop, so a token meant for one host
    /// (<c>HF_TOKEN</c> for the Hub) is never sent to the CDN it redirects to. Null: no Authorization header.
    /// </summary>
    public Func<Uri, AuthenticationHeaderValue?>? Authorize { get; init; }

    /// <summary>Free bytes in a folder; replaceable so that tests can simulate a full disk.</summary>
    internal Func<string, long> FreeSpace { get; init; } = FreeBytes;

    private static long FreeBytes(string folder) =>
        // On Unix DriveInfo takes any path and asks statvfs about its file system; Windows wants the volume root.
        new DriveInfo(OperatingSystem.IsWindows() ? Path.GetPathRoot(Path.GetFullPath(folder))! : folder).AvailableFreeSpace;
}

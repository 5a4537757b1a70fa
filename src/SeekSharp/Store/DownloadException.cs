namespace SeekSharp.Store;

/// <summary>A download that cannot finish: the message names the file and what went wrong, and says whether a partial
/// file was kept for the next attempt to resume.</summary>
public sealed class DownloadException : IOException
{
    /// <summary>Creates the exception with a message naming the file.</summary>
    public DownloadException(string message, Exception? inner = null) : base(message, inner) { }

    /// <summary>True when retrying later may succeed (the connection failed); false when the source itself is wrong
    /// (not found, HTML, checksum mismatch).</summary>
    public bool Transient { get; init; }

    /// <summary>The retries were spent on this failure already; an outer loop must not start them again.</summary>
    internal bool RetriesSpent { get; init; }
}

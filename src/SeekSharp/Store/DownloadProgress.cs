namespace SeekSharp.Store;

/// <summary>A snapshot of one file's download.</summary>
/// <param name="File">The destination's file name.</param>
/// <param name="Bytes">Bytes of the file on disk so far, including those a previous run left in the partial file.</param>
/// <param name="Total">The file's size, or null while the server has not told it.</param>
/// <param name="BytesPerSecond">Rate of this run (resumed bytes excluded), averaged since it started.</param>
/// <param name="Eta">Time left at that rate, or null when the size or the rate is unknown.</param>
public readonly record struct DownloadProgress(string File, long Bytes, long? Total, double BytesPerSecond, TimeSpan? Eta);

namespace SeekSharp.IO;

/// <summary>
/// Writes a file all or nothing: the content goes to a temporary file in the target's folder, which is flushed to disk
/// and then renamed over the target. Readers, and a process killed at any moment, see either the previous file (or
/// none) or the complete new one, never a truncated file under the final name.
/// </summary>
/// <remarks>
/// <para>
/// The temporary file is named <c>.NAME.tmp-PID-RANDOM</c> next to <c>NAME</c> (same folder, so the rename stays on
/// one file system, where it is atomic on Linux and macOS and a replace on Windows). It is created exclusively, so two
/// writers never share one.
/// </para>
/// <para>
/// On an exception in the callback, a write error or cancellation, the temporary file is deleted and the exception is
/// rethrown; the target is untouched. A process killed outright (SIGKILL, power loss before the flush) cannot clean up:
/// a <c>.NAME.tmp-*</c> file may stay behind, but the target is still either old or complete. Callers that want
/// SIGINT / SIGTERM to stop a write cleanly should cancel the token from a signal handler (see <c>seek quantize</c>).
/// </para>
/// <para>
/// The new file gets default permissions (not those of the file it replaces), and a symbolic link at the target is
/// replaced by a regular file rather than followed. The folder itself is not fsynced, so after a power loss the rename
/// may be lost (the old file comes back); a crash of the process alone cannot lose it.
/// </para>
/// </remarks>
public static class AtomicFile
{
    /// <summary>Bytes handed to the underlying file per write, so a cancellation stops a large write within one chunk.</summary>
    private const int ChunkBytes = 1 << 20;

    /// <summary>Writes <paramref name="text"/> as UTF-8 without a byte-order mark, as <see cref="Write"/> does.</summary>
    public static void WriteAllText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Write(path, stream => stream.Write(new System.Text.UTF8Encoding(false).GetBytes(text)));
    }

    /// <summary>
    /// Writes <paramref name="path"/> through <paramref name="write"/>, which receives a write-only, non-seekable stream
    /// positioned at the start of an empty temporary file; once it returns, the file is flushed to disk and renamed to
    /// <paramref name="path"/>, replacing an existing file.
    /// </summary>
    /// <param name="path">The file to create or replace. Its folder must exist.</param>
    /// <param name="write">Writes the whole content. It must not keep the stream after returning.</param>
    /// <param name="cancellationToken">Checked before and after the callback and on every write to the stream; once cancelled,
    /// the write throws <see cref="OperationCanceledException"/>, the temporary file is deleted and the target is left as it was.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the rename.</exception>
    /// <exception cref="IOException">The temporary file could not be written or renamed (e.g. the folder is missing or read-only).</exception>
    public static void Write(string path, Action<Stream> write, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string name = Path.GetFileName(full);
        if (name.Length == 0)
            throw new ArgumentException($"'{path}' names a folder, not a file", nameof(path));
        cancellationToken.ThrowIfCancellationRequested();

        string temp = Path.Combine(Path.GetDirectoryName(full)!, $".{name}.tmp-{Environment.ProcessId}-{Random.Shared.Next():x8}");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: ChunkBytes))
            {
                write(new CancellableWriteStream(file, cancellationToken));
                cancellationToken.ThrowIfCancellationRequested();
                file.Flush(flushToDisk: true);
            }
            cancellationToken.ThrowIfCancellationRequested();
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); }
            catch (IOException) { }                 // the original exception matters more than a leftover temp file
            catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Forwards writes to a file in chunks, throwing once the token is cancelled; reading and seeking are not offered.</summary>
    private sealed class CancellableWriteStream(Stream inner, CancellationToken token) : Stream
    {
        long _position;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            while (true)
            {
                token.ThrowIfCancellationRequested();
                int n = Math.Min(buffer.Length, ChunkBytes);
                inner.Write(buffer[..n]);
                _position += n;
                buffer = buffer[n..];
                if (buffer.IsEmpty) return;
            }
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            ValidateBufferArguments(buffer, offset, count);
            Write(buffer.AsSpan(offset, count));
        }

        public override void WriteByte(byte value) => Write([value]);

        public override void Flush()
        {
            token.ThrowIfCancellationRequested();
            inner.Flush();
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}

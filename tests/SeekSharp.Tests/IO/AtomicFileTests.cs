using SeekSharp.IO;

namespace SeekSharp.Tests.IO;

public sealed class AtomicFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("seek-atomic-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Target => Path.Combine(_dir, "out.bin");

    private string[] Leftovers() => Directory.GetFiles(_dir, ".out.bin.tmp-*");

    [Fact]
    public void Writes_a_new_file_and_leaves_no_temporary_file()
    {
        AtomicFile.Write(Target, s => s.Write("hello"u8));

        Assert.Equal("hello"u8.ToArray(), File.ReadAllBytes(Target));
        Assert.Equal([Target], Directory.GetFiles(_dir));
    }

    [Fact]
    public void Replaces_an_existing_file_only_after_the_callback_returns()
    {
        File.WriteAllText(Target, "old");
        string? temp = null;
        AtomicFile.Write(Target, s =>
        {
            s.Write(new byte[3 << 20]); // several chunks
            // While writing: the target is untouched and one dot-prefixed temporary file sits next to it.
            Assert.Equal("old", File.ReadAllText(Target));
            temp = Assert.Single(Leftovers());
            Assert.StartsWith($".out.bin.tmp-{Environment.ProcessId}-", Path.GetFileName(temp));
        });

        Assert.Equal(3 << 20, new FileInfo(Target).Length);
        Assert.False(File.Exists(temp));
        Assert.Empty(Leftovers());
    }

    [Fact]
    public void A_failing_callback_keeps_the_old_file_and_deletes_the_temporary_file()
    {
        File.WriteAllText(Target, "old");
        var e = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(Target, s =>
        {
            s.Write(new byte[1000]);
            throw new InvalidOperationException("boom");
        }));

        Assert.Equal("boom", e.Message);
        Assert.Equal("old", File.ReadAllText(Target));
        Assert.Empty(Leftovers());
    }

    [Fact]
    public void A_failing_callback_creates_no_file()
    {
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(Target, _ => throw new InvalidOperationException()));

        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void Cancelling_during_the_write_stops_it_and_keeps_the_old_file()
    {
        File.WriteAllText(Target, "old");
        using var cts = new CancellationTokenSource();
        int chunksAfterCancel = 0;
        Assert.ThrowsAny<OperationCanceledException>(() => AtomicFile.Write(Target, s =>
        {
            s.Write(new byte[100]);
            cts.Cancel();
            chunksAfterCancel++;
            s.Write(new byte[10 << 20]); // throws before writing the first chunk
            chunksAfterCancel++;
        }, cts.Token));

        Assert.Equal(1, chunksAfterCancel);
        Assert.Equal("old", File.ReadAllText(Target));
        Assert.Empty(Leftovers());
    }

    [Fact]
    public void Cancelling_after_the_last_write_still_writes_nothing()
    {
        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => AtomicFile.Write(Target, s =>
        {
            s.Write("complete"u8);
            cts.Cancel(); // e.g. SIGTERM between the last byte and the rename
        }, cts.Token));

        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void An_already_cancelled_token_never_calls_the_callback()
    {
        bool called = false;
        Assert.ThrowsAny<OperationCanceledException>(() => AtomicFile.Write(Target, _ => called = true, new CancellationToken(canceled: true)));

        Assert.False(called);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void A_missing_folder_is_an_error_and_creates_nothing()
    {
        string path = Path.Combine(_dir, "missing", "out.bin");
        Assert.Throws<DirectoryNotFoundException>(() => AtomicFile.Write(path, s => s.Write("x"u8)));

        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir));
    }

    [Fact]
    public void A_folder_path_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => AtomicFile.Write(_dir + Path.DirectorySeparatorChar, s => s.Write("x"u8)));
    }

    [Fact]
    public void Replacing_a_folder_fails_and_removes_the_temporary_file()
    {
        Directory.CreateDirectory(Target);
        var e = Record.Exception(() => AtomicFile.Write(Target, s => s.Write("x"u8)));

        Assert.True(e is IOException or UnauthorizedAccessException, e?.ToString());
        Assert.True(Directory.Exists(Target));
        Assert.Empty(Leftovers());
    }

    [Fact]
    public void The_stream_is_write_only_and_not_seekable()
    {
        AtomicFile.Write(Target, s =>
        {
            Assert.True(s.CanWrite);
            Assert.False(s.CanRead);
            Assert.False(s.CanSeek);
            s.WriteByte(1);
            s.Write([2, 3, 4, 5], 1, 2);
            Assert.Equal(3, s.Position);
            s.Flush();
        });

        Assert.Equal([1, 3, 4], File.ReadAllBytes(Target));
    }
}

using System.Security.Cryptography;
using SeekSharp.Store;

namespace SeekSharp.Tests.Store;

public sealed class DownloaderTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("seek-download-").FullName;
    private readonly LoopbackServer _server = new();

    public Task InitializeAsync() => Task.CompletedTask;

    // xUnit 2 calls IAsyncLifetime.DisposeAsync, not IAsyncDisposable's: the temporary folder is deleted here.
    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Options that keep every test short: short retry waits, and a stall timeout that a loaded machine still meets.</summary>
    private static DownloadOptions Fast(int connections = 1, long parallelThreshold = long.MaxValue, int retries = 0) => new()
    {
        Connections = connections, ParallelThreshold = parallelThreshold, MaxRetries = retries,
        StallTimeout = TimeSpan.FromSeconds(3), RetryDelay = TimeSpan.FromMilliseconds(10),
    };

    /// <summary>Seeded bytes that start with the GGUF magic, so a GGUF check passes and any misplaced range shows.</summary>
    private static byte[] Data(int length, int seed = 1)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        "GGUF"u8.CopyTo(data);
        return data;
    }

    private static string Sha(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    private string Target => Path.Combine(_dir, "model.gguf");

    private string[] Files() => [.. Directory.GetFiles(_dir).Select(Path.GetFileName).Order()!];

    private async Task Download(DownloadOptions options, string path = "/model.gguf", string? sha = null, bool gguf = true,
                                IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        using var downloader = new Downloader(options);
        await downloader.DownloadAsync(new DownloadRequest(_server.Url(path), Target) { Sha256 = sha, ExpectGguf = gguf }, progress, cancellationToken);
    }

    [Fact]
    public async Task Parallel_ranges_produce_the_identical_file()
    {
        byte[] data = Data(1_000_003);
        _server.Serve("/model.gguf", data);

        await Download(Fast(connections: 4, parallelThreshold: 1000), sha: Sha(data));

        Assert.Equal(data, File.ReadAllBytes(Target));
        Assert.Equal(["model.gguf"], Files()); // no partial file, no range record
        var ranges = _server.RequestsFor("/model.gguf").Skip(1).Select(r => r.Header("range")).ToList(); // after the 8-byte probe
        Assert.Equal(4, ranges.Count);
        Assert.Equal(data.Length, _server.RequestsFor("/model.gguf").Skip(1).Sum(r => r.BytesSent));
    }

    [Fact]
    public async Task A_server_without_ranges_is_read_in_one_stream()
    {
        byte[] data = Data(300_000);
        _server.Serve("/model.gguf", data).Ranges = false;

        await Download(Fast(connections: 4, parallelThreshold: 1000), sha: Sha(data));

        Assert.Equal(data, File.ReadAllBytes(Target));
        Assert.Single(_server.RequestsFor("/model.gguf")); // the probe's 200 answer is the whole file
        Assert.Equal(["model.gguf"], Files());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public async Task A_dropped_connection_fails_clearly_and_the_next_call_resumes(int connections)
    {
        byte[] data = Data(800_000);
        var resource = _server.Serve("/model.gguf", data);
        resource.DropAfter = 150_000;
        var options = Fast(connections, parallelThreshold: 1000);

        var e = await Assert.ThrowsAsync<DownloadException>(() => Download(options, sha: Sha(data)));
        Assert.Contains("model.gguf", e.Message);
        Assert.Contains("run the same command again to resume", e.Message);
        Assert.False(File.Exists(Target));
        Assert.True(File.Exists(Downloader.PartialPath(Target)));

        resource.DropAfter = null;
        int before = _server.Requests.Count;
        await Download(options, sha: Sha(data));

        Assert.Equal(data, File.ReadAllBytes(Target));
        Assert.Equal(["model.gguf"], Files());
        long resent = _server.Requests.Skip(before).Sum(r => r.BytesSent);
        Assert.True(resent < data.Length - 100_000, $"the resumed download fetched {resent} of {data.Length} bytes");
    }

    [Fact]
    public async Task A_transient_server_error_is_retried()
    {
        byte[] data = Data(10_000);
        _server.Serve("/model.gguf", data).FailFirst = 2;

        await Download(Fast(retries: 2), sha: Sha(data));

        Assert.Equal(data, File.ReadAllBytes(Target));
    }

    [Fact]
    public async Task Not_found_names_the_file_and_leaves_nothing()
    {
        var e = await Assert.ThrowsAsync<DownloadException>(() => Download(Fast(retries: 3)));

        Assert.Contains("model.gguf", e.Message);
        Assert.Contains("404", e.Message);
        Assert.False(e.Transient);
        Assert.Single(_server.RequestsFor("/model.gguf")); // a 404 is not retried
        Assert.Empty(Files());
    }

    [Fact]
    public async Task An_html_page_is_refused_by_its_content_type()
    {
        _server.Serve("/model.gguf", "<!DOCTYPE html><html><body>Sign in</body></html>"u8.ToArray(), "text/html");

        var e = await Assert.ThrowsAsync<DownloadException>(() => Download(Fast()));

        Assert.Contains("HTML", e.Message);
        Assert.Contains("model.gguf", e.Message);
        Assert.Empty(Files());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_file_that_is_not_gguf_is_refused_by_its_magic(bool ranges)
    {
        // Served as a binary type, so only the first bytes give it away.
        _server.Serve("/model.gguf", "<!DOCTYPE html><html><body>Error</body></html>"u8.ToArray()).Ranges = ranges;

        var e = await Assert.ThrowsAsync<DownloadException>(() => Download(Fast()));

        Assert.Contains("did not return a GGUF file", e.Message);
        Assert.Contains("'<!DO'", e.Message);
        Assert.False(File.Exists(Target));
    }

    [Fact]
    public async Task A_wrong_checksum_deletes_the_download_and_names_both_hashes()
    {
        byte[] data = Data(50_000);
        _server.Serve("/model.gguf", data);
        string expected = Sha(Data(50_000, seed: 2));

        var e = await Assert.ThrowsAsync<DownloadException>(() => Download(Fast(), sha: expected));

        Assert.Contains("model.gguf", e.Message);
        Assert.Contains($"expected {expected}", e.Message);
        Assert.Contains($"found {Sha(data)}", e.Message);
        Assert.Empty(Files()); // no final file, no partial file, no range record
    }

    [Fact]
    public async Task A_trickling_server_times_out_and_is_retried_a_bounded_number_of_times()
    {
        _server.Serve("/model.gguf", Data(1000)).Trickle = TimeSpan.FromSeconds(1);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var e = await Assert.ThrowsAsync<DownloadException>(() => Download(Fast(retries: 2) with { StallTimeout = TimeSpan.FromMilliseconds(150) }));

        Assert.Contains("no data for 0.15 s", e.Message);
        Assert.Contains("gave up after 3 attempts", e.Message);
        Assert.Equal(3, _server.RequestsFor("/model.gguf").Count);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.False(File.Exists(Target));
    }

    [Fact]
    public async Task A_slow_but_steady_server_is_not_a_stall()
    {
        // 60 bytes 50 ms apart: 3 s in all, twice the stall timeout, but never 1.5 s without a byte.
        byte[] data = Data(60);
        _server.Serve("/model.gguf", data).Trickle = TimeSpan.FromMilliseconds(50);

        await Download(Fast() with { StallTimeout = TimeSpan.FromSeconds(1.5) }, sha: Sha(data));

        Assert.Equal(data, File.ReadAllBytes(Target));
    }

    [Fact]
    public async Task Too_little_free_space_fails_before_any_byte_is_written()
    {
        _server.Serve("/model.gguf", Data(100_000));

        var e = await Assert.ThrowsAsync<IOException>(() => Download(Fast() with { FreeSpace = _ => 99_999 }));

        Assert.Contains("not enough free disk space", e.Message);
        Assert.False(File.Exists(Downloader.PartialPath(Target)));
    }

    [Fact]
    public async Task Cancellation_keeps_a_partial_file_that_the_next_call_resumes()
    {
        byte[] data = Data(2_000_000);
        using var cancel = new CancellationTokenSource();
        // Cancel from the progress report once some bytes are on disk (reports come at most every 100 ms).
        var stopper = new SyncProgress(p => { if (p.Bytes > 0) cancel.Cancel(); });
        var slow = _server.Serve("/model.gguf", data);
        slow.Trickle = TimeSpan.FromMilliseconds(1);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Download(Fast() with { StallTimeout = TimeSpan.FromSeconds(5) }, sha: Sha(data),
                                                                                 progress: stopper, cancellationToken: cancel.Token));
        Assert.False(File.Exists(Target));
        long kept = new FileInfo(Downloader.PartialPath(Target)).Length;
        Assert.True(kept > 0);

        slow.Trickle = TimeSpan.Zero;
        int before = _server.Requests.Count;
        await Download(Fast(), sha: Sha(data));

        Assert.Equal(data, File.ReadAllBytes(Target));
        Assert.Equal(data.Length - kept + 8, _server.Requests.Skip(before).Sum(r => r.BytesSent)); // the rest, plus the 8-byte probe
    }

    [Fact]
    public async Task Redirects_are_followed_and_credentials_go_only_where_they_are_meant()
    {
        await using var cdn = new LoopbackServer();
        byte[] data = Data(20_000);
        cdn.Serve("/blob", data);
        _server.Serve("/model.gguf", []).RedirectTo = cdn.Url("/blob").ToString();
        var options = Fast() with
        {
            Authorize = url => url.Port == _server.BaseUrl.Port ? new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "secret") : null,
        };

        await Download(options, sha: Sha(data));

        Assert.Equal(data, File.ReadAllBytes(Target));
        Assert.All(_server.RequestsFor("/model.gguf"), r => Assert.Equal("Bearer secret", r.Header("authorization")));
        Assert.NotEmpty(cdn.RequestsFor("/blob"));
        Assert.All(cdn.RequestsFor("/blob"), r => Assert.Null(r.Header("authorization")));
    }

    [Fact]
    public async Task A_second_download_of_the_same_file_is_refused_while_the_first_runs()
    {
        byte[] data = Data(1000);
        var slow = _server.Serve("/model.gguf", data);
        slow.Trickle = TimeSpan.FromMilliseconds(20);
        using var cancel = new CancellationTokenSource();
        var first = Download(Fast(), sha: Sha(data), cancellationToken: cancel.Token);
        while (!File.Exists(Downloader.PartialPath(Target) + ".lock")) await Task.Delay(10);

        var e = await Assert.ThrowsAsync<DownloadException>(() => Download(Fast(), sha: Sha(data)));

        Assert.Contains("another download of this file is running", e.Message);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        Assert.False(File.Exists(Downloader.PartialPath(Target) + ".lock")); // released and deleted with the first download
        slow.Trickle = TimeSpan.Zero;
        await Download(Fast(), sha: Sha(data)); // and the next one may run
        Assert.Equal(data, File.ReadAllBytes(Target));
    }

    /// <summary>Reports on the calling thread (<see cref="Progress{T}"/> would post to the thread pool and report late).</summary>
    private sealed class SyncProgress(Action<DownloadProgress> report) : IProgress<DownloadProgress>
    {
        public void Report(DownloadProgress value) => report(value);
    }
}

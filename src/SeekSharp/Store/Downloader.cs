using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using SeekSharp.IO;

namespace SeekSharp.Store;

/// <summary>
/// Fetches one file over HTTP so that an interrupted download resumes and a finished one is verified before it appears.
/// </summary>
/// <remarks>
/// <para>
/// The first request asks for the first 8 bytes (<c>Range: bytes=0-7</c>). A 206 answer tells the size and that ranges
/// work: the missing byte ranges are then fetched, over <see cref="DownloadOptions.Connections"/> connections when at
/// least <see cref="DownloadOptions.ParallelThreshold"/> bytes remain, into <c>NAME.partial</c>, and the finished part
/// of every range is recorded in <c>NAME.partial.json</c> (after its bytes are written, so the record never claims
/// bytes that are not on disk). A 200 answer means the server ignores ranges: its body is the whole file, streamed from
/// the start. A partial file without a record is a prefix written by one stream and resumes from its length.
/// </para>
/// <para>
/// Once all bytes are there, the size, the GGUF magic (when expected) and the SHA-256 (when known) are checked and the
/// partial file is renamed to the final name; a mismatch deletes it. A failure or a cancellation keeps it for the next
/// call. Redirects are followed here rather than by <see cref="HttpClient"/> so that credentials are chosen for each
/// hop (<see cref="DownloadOptions.Authorize"/>). The system proxy applies, as for any <see cref="HttpClient"/>.
/// </para>
/// </remarks>
public sealed class Downloader : IDisposable
{
    private const int BufferBytes = 1 << 16;
    /// <summary>How often the range record is rewritten: often enough that a killed run loses little, rarely enough to cost nothing.</summary>
    private static readonly TimeSpan StateInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ReportInterval = TimeSpan.FromMilliseconds(100);

    private readonly HttpClient _http;
    private readonly DownloadOptions _options;

    /// <summary>A downloader with its own connection pool.</summary>
    public Downloader(DownloadOptions? options = null)
    {
        _options = options ?? new DownloadOptions();
        if (_options.Connections < 1) throw new ArgumentException($"Connections must be at least 1, got {_options.Connections}", nameof(options));
        if (_options.MaxRetries < 0) throw new ArgumentException($"MaxRetries must not be negative, got {_options.MaxRetries}", nameof(options));
        // Compression off: a range is a range of the file's bytes, not of a gzip stream.
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan }; // stalls are timed per read instead
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("seeksharp/0.1");
    }

    /// <summary>The options this downloader was created with.</summary>
    public DownloadOptions Options => _options;

    /// <summary>Where the bytes of <paramref name="destination"/> live until the download is verified.</summary>
    public static string PartialPath(string destination) => destination + ".partial";

    internal static string StatePath(string destination) => destination + ".partial.json";

    /// <summary>Downloads <paramref name="request"/>'s file, resuming a partial file that an earlier call left.</summary>
    /// <exception cref="DownloadException">The server refused the file, sent something else (HTML, not GGUF, other size or
    /// checksum), or kept failing after <see cref="DownloadOptions.MaxRetries"/> retries. The message names the file.</exception>
    /// <exception cref="IOException">Not enough free disk space, or the file could not be written.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the partial file is kept and a later call resumes it.</exception>
    public async Task DownloadAsync(DownloadRequest request, IProgress<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        string final = Path.GetFullPath(request.Destination);
        Directory.CreateDirectory(Path.GetDirectoryName(final)!);
        var job = new Job(this, request, final, progress);
        using var guard = Lock(final, job.Name);
        long? total;
        try
        {
            total = await RetryAsync(job.Name, () => job.DownloadAsync(cancellationToken), cancellationToken);
        }
        catch (DownloadException e) when (e.RetriesSpent && File.Exists(PartialPath(final)))
        {
            throw new DownloadException($"{e.Message}; the partial download is kept in {PartialPath(final)}: run the same command again to resume", e.InnerException)
            {
                Transient = true, RetriesSpent = true,
            };
        }
        job.VerifyAndRename(total, cancellationToken);
    }

    /// <summary>
    /// Holds <c>FILE.partial.lock</c> exclusively while a download runs, so two pulls of one model (two terminals, a
    /// script started twice) cannot write into the same partial file. On Unix the runtime implements FileShare.None with
    /// an advisory flock, which a killed process releases; the file itself is deleted on close.
    /// </summary>
    private static FileStream Lock(string final, string name)
    {
        string path = PartialPath(final) + ".lock";
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (IOException e)
        {
            throw new DownloadException($"{name}: another download of this file is running (it holds {path}); wait for it, or stop it first", e);
        }
    }

    /// <summary>
    /// Sends one request, following redirects with <see cref="DownloadOptions.Authorize"/> asked anew for every hop, and
    /// returns the first answer that is not a redirect (headers read, body not yet). Waiting longer than the stall
    /// timeout for the headers throws <see cref="TimeoutException"/>.
    /// </summary>
    /// <param name="sameHostRedirectsOnly">Return a redirect to another host instead of following it: the Hub's answer to a
    /// HEAD request carries the file's hash and size, and its redirect leads to a CDN that does not know them.</param>
    internal async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri url, RangeHeaderValue? range, CancellationToken cancellationToken,
                                                       string? accept = null, bool sameHostRedirectsOnly = false)
    {
        for (int hop = 0; ; hop++)
        {
            var message = new HttpRequestMessage(method, url);
            message.Headers.Range = range;
            message.Headers.Authorization = _options.Authorize?.Invoke(url);
            if (accept is not null) message.Headers.Accept.ParseAdd(accept);
            HttpResponseMessage response;
            using (var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                stall.CancelAfter(_options.StallTimeout);
                try
                {
                    response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, stall.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new TimeoutException($"{url.Host} did not answer within {_options.StallTimeout.TotalSeconds:0.###} s");
                }
            }
            if ((int)response.StatusCode is 301 or 302 or 303 or 307 or 308 && response.Headers.Location is { } location
                && !(sameHostRedirectsOnly && location.IsAbsoluteUri && location.Authority != url.Authority))
            {
                response.Dispose();
                if (hop >= _options.MaxRedirects)
                    throw new DownloadException($"{url} redirected more than {_options.MaxRedirects} times");
                url = location.IsAbsoluteUri ? location : new Uri(url, location); // the Hub redirects small files relatively
                continue;
            }
            return response;
        }
    }

    /// <summary>Throws a <see cref="DownloadException"/> naming <paramref name="what"/> unless the answer is a 2xx that is not an HTML page.</summary>
    internal static void EnsureSuccess(HttpResponseMessage response, string what, bool allowHtml = false)
    {
        int code = (int)response.StatusCode;
        Uri? url = response.RequestMessage?.RequestUri;
        if (code is >= 200 and < 300)
        {
            if (!allowHtml && response.Content.Headers.ContentType?.MediaType is "text/html")
                throw new DownloadException($"{what}: {url} returned an HTML page instead of the file (a wrong name, a login or an error page)");
            return;
        }
        string hint = code switch
        {
            404 => " (not found: check the name)",
            401 or 403 => " (access denied: a gated or private Hugging Face repository needs HF_TOKEN)",
            _ => "",
        };
        // 408, 429 and 5xx are the server's momentary trouble; every other status answers the request itself.
        throw new DownloadException($"{what}: {url} answered HTTP {code} {response.ReasonPhrase}{hint}")
        {
            Transient = code is 408 or 429 or >= 500,
        };
    }

    /// <summary>Runs <paramref name="attempt"/> again after transient failures, waiting longer each time, at most <see cref="DownloadOptions.MaxRetries"/> times.</summary>
    internal async Task<T> RetryAsync<T>(string what, Func<Task<T>> attempt, CancellationToken cancellationToken)
    {
        for (int failures = 0; ;)
        {
            try
            {
                return await attempt();
            }
            catch (Exception e) when (IsTransient(e) && !cancellationToken.IsCancellationRequested)
            {
                failures++;
                if (failures > _options.MaxRetries)
                    throw new DownloadException($"{what}: {Describe(e, what)} (gave up after {failures} attempt{(failures > 1 ? "s" : "")})", e)
                    {
                        Transient = true, RetriesSpent = true,
                    };
                await Task.Delay(_options.RetryDelay * Math.Pow(2, failures - 1), cancellationToken);
            }
        }
    }

    private static bool IsTransient(Exception e) => e switch
    {
        DownloadException d => d.Transient && !d.RetriesSpent, // an inner loop already retried it
        TimeoutException or HttpRequestException => true,
        _ => false,
    };

    private static string Describe(Exception e, string what) => e switch
    {
        DownloadException d when d.Message.StartsWith(what + ": ", StringComparison.Ordinal) => d.Message[(what.Length + 2)..],
        HttpRequestException h => $"connection failed ({h.Message})",
        _ => e.Message,
    };

    /// <summary>The body of a small answer (a listing, a manifest) as text, each read under the stall timeout and the
    /// whole capped so that a server streaming without end cannot fill the memory.</summary>
    internal async Task<string> ReadTextAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        const int MaxBytes = 64 << 20;
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var text = new MemoryStream();
        byte[] buffer = new byte[BufferBytes];
        while (await ReadAsync(body, buffer, cancellationToken) is var n and > 0)
        {
            if (text.Length + n > MaxBytes)
                throw new DownloadException($"{what}: {response.RequestMessage?.RequestUri} sent more than {MaxBytes >> 20} MiB where a listing was expected");
            text.Write(buffer, 0, n);
        }
        return Encoding.UTF8.GetString(text.GetBuffer(), 0, (int)text.Length);
    }

    /// <summary>Reads once, turning a read that delivers nothing for the stall timeout into a <see cref="TimeoutException"/>
    /// and a broken connection into a transient <see cref="DownloadException"/>.</summary>
    private async Task<int> ReadAsync(Stream body, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stall.CancelAfter(_options.StallTimeout);
        try
        {
            return await body.ReadAsync(buffer, stall.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no data for {_options.StallTimeout.TotalSeconds:0.###} s");
        }
        catch (IOException e) when (e is not DownloadException)
        {
            throw new DownloadException($"connection lost ({e.Message})", e) { Transient = true };
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _http.Dispose();

    /// <summary>One byte range of the file and how much of it is on disk.</summary>
    private sealed class Segment
    {
        public long Start { get; init; }
        public long End { get; init; } // exclusive
        public long Done;             // written by the one task fetching the range, read by the record writer
        public long Length => End - Start;
    }

    /// <summary>The range record next to the partial file.</summary>
    private sealed record State(long Size, string? Sha256, long[][] Segments);

    /// <summary>One call's download: the request, its files, its ranges and its progress.</summary>
    private sealed class Job(Downloader owner, DownloadRequest request, string final, IProgress<DownloadProgress>? progress)
    {
        public string Name { get; } = Path.GetFileName(final);
        private readonly string _partial = PartialPath(final);
        private readonly string _state = StatePath(final);
        private readonly DownloadOptions _o = owner._options;
        private readonly Lock _stateLock = new();
        private List<Segment> _segments = [];
        private long _total;
        private long _lastStateSave;
        private Meter? _meter;

        /// <summary>Fetches every missing byte; returns the file's size (null when a server without ranges did not say).</summary>
        public async Task<long?> DownloadAsync(CancellationToken cancellationToken)
        {
            var response = await owner.SendAsync(HttpMethod.Get, request.Url, new RangeHeaderValue(0, 7), cancellationToken);
            using (response)
            {
                if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && response.Content.Headers.ContentRange?.Length == 0)
                {
                    // Only an empty file has no byte 0.
                    CheckSize(0);
                    File.WriteAllBytes(_partial, []);
                    return 0;
                }
                EnsureSuccess(response, Name);
                if (response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange is { HasLength: true, From: 0 } range)
                {
                    byte[] head = await ReadHeadAsync(response, cancellationToken);
                    CheckMagic(head, range.Length!.Value, request.Url);
                    await DownloadRangesAsync(range.Length!.Value, cancellationToken);
                    return range.Length;
                }
                return await DownloadWholeAsync(response, cancellationToken);
            }
        }

        private async Task<byte[]> ReadHeadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            var head = new byte[8];
            int n = 0;
            while (n < head.Length && await owner.ReadAsync(body, head.AsMemory(n), cancellationToken) is var read and > 0) n += read;
            return head[..n];
        }

        /// <summary>A server that honours ranges: fetch the missing ranges, in parallel when many bytes remain.</summary>
        private async Task DownloadRangesAsync(long total, CancellationToken cancellationToken)
        {
            CheckSize(total);
            _total = total;
            _segments = LoadSegments(total);
            long done = _segments.Sum(s => s.Done);
            var pending = Split(_segments, total - done);
            // The finished part of each range stays recorded; the rest becomes the new ranges.
            _segments = [.. _segments.Where(s => s.Done > 0).Select(s => new Segment { Start = s.Start, End = s.Start + s.Done, Done = s.Done }), .. pending];
            CheckFreeSpace(total - done);
            _meter = new Meter(Name, done, total, progress);
            SaveState(force: true); // before any byte: a partial file without a record would pass for a prefix
            if (pending.Count == 0) return;

            using var file = File.OpenHandle(_partial, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, FileOptions.Asynchronous);
            using var abort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var tasks = pending.Select(async segment =>
            {
                try
                {
                    await owner.RetryAsync(Name, () => FetchAsync(segment, file, abort.Token), abort.Token);
                }
                catch
                {
                    abort.Cancel(); // one range failing for good fails the file: stop the others now, not at their end
                    throw;
                }
            }).ToArray();
            try
            {
                await Task.WhenAll(tasks);
            }
            catch when (!cancellationToken.IsCancellationRequested)
            {
                // Report the range that failed, not the siblings it cancelled.
                var first = tasks.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!).FirstOrDefault(e => e is not OperationCanceledException);
                if (first is not null) ExceptionDispatchInfo.Throw(first);
                throw;
            }
            finally
            {
                SaveState(force: true);
                _meter.Report();
            }
        }

        private async Task<bool> FetchAsync(Segment segment, SafeFileHandle file, CancellationToken cancellationToken)
        {
            long from = segment.Start + Volatile.Read(ref segment.Done);
            using var response = await owner.SendAsync(HttpMethod.Get, request.Url, new RangeHeaderValue(from, segment.End - 1), cancellationToken);
            EnsureSuccess(response, Name);
            if (response.StatusCode != HttpStatusCode.PartialContent || response.Content.Headers.ContentRange?.From != from)
                throw new DownloadException($"{Name}: the server answered a request for bytes {from}-{segment.End - 1} with HTTP {(int)response.StatusCode} " +
                                            $"{response.Content.Headers.ContentRange?.ToString() ?? "without a range"}") { Transient = true };
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
            try
            {
                while (Volatile.Read(ref segment.Done) < segment.Length)
                {
                    long left = segment.Length - segment.Done;
                    int n = await owner.ReadAsync(body, buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellationToken);
                    if (n == 0)
                        throw new DownloadException($"{Name}: connection closed with {left:N0} bytes of range {segment.Start}-{segment.End - 1} left " +
                                                    $"({_meter!.Bytes:N0} of {_total:N0} bytes on disk)") { Transient = true };
                    await RandomAccess.WriteAsync(file, buffer.AsMemory(0, n), segment.Start + segment.Done, cancellationToken);
                    Volatile.Write(ref segment.Done, segment.Done + n); // only after the write: the record must not run ahead of the disk
                    _meter!.Add(n);
                    SaveState(force: false);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            return true;
        }

        /// <summary>A server that ignores ranges (HTTP 200): the body is the whole file, so the partial file starts over.</summary>
        private async Task<long?> DownloadWholeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
        {
            long? total = response.Content.Headers.ContentLength;
            if (total is { } known)
            {
                CheckSize(known);
                CheckFreeSpace(known);
            }
            File.Delete(_state);
            _meter = new Meter(Name, 0, total, progress);
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            await using var file = new FileStream(_partial, FileMode.Create, FileAccess.Write, FileShare.Read, BufferBytes, useAsync: true);
            byte[] buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
            var head = new List<byte>(4);
            try
            {
                long written = 0;
                while (await owner.ReadAsync(body, buffer.AsMemory(0, BufferBytes), cancellationToken) is var n and > 0)
                {
                    if (head.Count < 4)
                    {
                        head.AddRange(buffer.AsSpan(0, Math.Min(n, 4 - head.Count)).ToArray());
                        if (head.Count == 4 || total < 4) CheckMagic([.. head], total ?? long.MaxValue, response.RequestMessage!.RequestUri!);
                    }
                    await file.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
                    written += n;
                    _meter.Add(n);
                }
                if (total is { } expected && written != expected)
                    throw new DownloadException($"{Name}: connection closed after {written:N0} of {expected:N0} bytes") { Transient = true };
                return written;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
                _meter.Report();
            }
        }

        /// <summary>The ranges already on disk: from the record when it describes this file, else the partial file as a prefix.</summary>
        private List<Segment> LoadSegments(long total)
        {
            if (File.Exists(_state))
            {
                State? state = null;
                try { state = JsonSerializer.Deserialize<State>(File.ReadAllText(_state)); }
                catch (JsonException) { } // a damaged record is no record: start over rather than trust it
                bool same = state is { Segments: not null } && state.Size == total && File.Exists(_partial)
                            && (request.Sha256 is null || string.Equals(state.Sha256, request.Sha256, StringComparison.OrdinalIgnoreCase))
                            && state.Segments.All(s => s is [var a, var b, var d] && 0 <= a && a <= b && b <= total && 0 <= d && d <= b - a);
                if (same)
                    return [.. state!.Segments!.Select(s => new Segment { Start = s[0], End = s[1], Done = s[2] })];
                File.Delete(_partial);
                File.Delete(_state);
                return [new Segment { Start = 0, End = total }];
            }
            long prefix = File.Exists(_partial) ? new FileInfo(_partial).Length : 0;
            if (prefix > total)
            {
                File.Delete(_partial); // longer than the file: not a prefix of it
                prefix = 0;
            }
            return prefix > 0 ? [new Segment { Start = 0, End = prefix, Done = prefix }, new Segment { Start = prefix, End = total }]
                              : [new Segment { Start = 0, End = total }];
        }

        /// <summary>The unfinished ranges, cut so that about <see cref="DownloadOptions.Connections"/> run at once when enough bytes remain.</summary>
        private List<Segment> Split(List<Segment> segments, long remaining)
        {
            var gaps = segments.Where(s => s.Done < s.Length).Select(s => (From: s.Start + s.Done, s.End)).ToList();
            bool parallel = _o.Connections > 1 && remaining >= _o.ParallelThreshold;
            long piece = parallel ? (remaining + _o.Connections - 1) / _o.Connections : long.MaxValue;
            var result = new List<Segment>();
            foreach (var (from, end) in gaps)
                for (long at = from; at < end;)
                {
                    long stop = end - at <= piece ? end : at + piece; // no at + piece: piece may be long.MaxValue
                    result.Add(new Segment { Start = at, End = stop });
                    at = stop;
                }
            return result;
        }

        private void SaveState(bool force)
        {
            long now = Stopwatch.GetTimestamp();
            if (!force && Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastStateSave), now) < StateInterval) return;
            lock (_stateLock)
            {
                if (!force && Stopwatch.GetElapsedTime(_lastStateSave, now) < StateInterval) return;
                _lastStateSave = now;
                var state = new State(_total, request.Sha256, [.. _segments.Select(s => new[] { s.Start, s.End, Volatile.Read(ref s.Done) })]);
                AtomicFile.WriteAllText(_state, JsonSerializer.Serialize(state));
            }
        }

        private void CheckSize(long served)
        {
            if (request.Size is { } expected && expected != served)
                throw new DownloadException($"{Name}: the server offers {served:N0} bytes but the source lists {expected:N0}");
        }

        private void CheckFreeSpace(long needed)
        {
            string folder = Path.GetDirectoryName(final)!;
            long free = _o.FreeSpace(folder);
            if (free < needed)
                throw new IOException($"{Name}: not enough free disk space in {folder}: {needed / 1048576.0:N1} MiB needed, {free / 1048576.0:N1} MiB free");
        }

        private void CheckMagic(byte[] head, long total, Uri url)
        {
            if (!request.ExpectGguf || total < 4 || head.Length < 4 || head.AsSpan(0, 4).SequenceEqual("GGUF"u8)) return;
            string start = Encoding.ASCII.GetString(head.AsSpan(0, 4)).Replace('\n', ' ').Replace('\r', ' ');
            string html = head[0] == (byte)'<' ? ", which looks like HTML" : "";
            throw new DownloadException($"{Name}: {url} did not return a GGUF file (it starts with '{start}'{html}, not 'GGUF')");
        }

        /// <summary>Checks the finished partial file and gives it the final name; a file that fails a check is deleted.</summary>
        public void VerifyAndRename(long? total, CancellationToken cancellationToken)
        {
            long length = new FileInfo(_partial).Length;
            if (total is { } size && length != size)
                throw new DownloadException($"{Name}: the partial file holds {length:N0} bytes, not {size:N0}; run the command again to resume") { Transient = true };
            using (var stream = new FileStream(_partial, FileMode.Open, FileAccess.Read, FileShare.Read, BufferBytes))
            {
                var head = new byte[Math.Min(8, length)];
                stream.ReadExactly(head);
                try
                {
                    CheckMagic(head, length, request.Url);
                }
                catch (DownloadException)
                {
                    stream.Dispose();
                    Discard();
                    throw;
                }
                if (request.Sha256 is { } expected)
                {
                    stream.Position = 0;
                    string found = Convert.ToHexStringLower(SHA256.HashData(stream));
                    cancellationToken.ThrowIfCancellationRequested();
                    if (!string.Equals(found, expected, StringComparison.OrdinalIgnoreCase))
                    {
                        stream.Dispose();
                        Discard();
                        throw new DownloadException($"{Name}: SHA-256 mismatch: expected {expected.ToLowerInvariant()}, found {found}; " +
                                                    "the download was deleted (run the command again to download it afresh)");
                    }
                }
            }
            File.Move(_partial, final, overwrite: true);
            File.Delete(_state);
        }

        private void Discard()
        {
            File.Delete(_partial);
            File.Delete(_state);
        }
    }

    /// <summary>Counts bytes and reports at most every <see cref="ReportInterval"/>, from whichever range task gets there first.</summary>
    private sealed class Meter(string file, long resumed, long? total, IProgress<DownloadProgress>? sink)
    {
        private readonly long _started = Stopwatch.GetTimestamp();
        private readonly long _resumed = resumed;
        private long _bytes = resumed;
        private long _lastReport;

        public long Bytes => Interlocked.Read(ref _bytes);

        public void Add(int n)
        {
            Interlocked.Add(ref _bytes, n);
            long last = Interlocked.Read(ref _lastReport), now = Stopwatch.GetTimestamp();
            if (Stopwatch.GetElapsedTime(last, now) >= ReportInterval && Interlocked.CompareExchange(ref _lastReport, now, last) == last)
                Report();
        }

        public void Report()
        {
            if (sink is null) return;
            long bytes = Bytes;
            double seconds = Stopwatch.GetElapsedTime(_started).TotalSeconds;
            double rate = seconds > 0 ? (bytes - _resumed) / seconds : 0;
            TimeSpan? eta = total is { } t && rate > 0 ? TimeSpan.FromSeconds(Math.Max(0, t - bytes) / rate) : null;
            sink.Report(new DownloadProgress(file, bytes, total, rate, eta));
        }
    }
}

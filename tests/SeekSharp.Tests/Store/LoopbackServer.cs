using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SeekSharp.Tests.Store;

/// <summary>What the loopback server answers for one path, changeable between requests.</summary>
internal sealed class Resource
{
    public byte[] Body { get; set; } = [];
    public string ContentType { get; set; } = "application/octet-stream";
    /// <summary>Honour <c>Range</c> with 206 and advertise <c>Accept-Ranges</c>; otherwise every GET gets the whole body with 200.</summary>
    public bool Ranges { get; set; } = true;
    public int Status { get; set; } = 200;
    /// <summary>Close the connection (cleanly, so the bytes sent still arrive) after this many body bytes of a response.</summary>
    public long? DropAfter { get; set; }
    /// <summary>Wait this long before each body byte: a connection that trickles.</summary>
    public TimeSpan Trickle { get; set; }
    /// <summary>Answer 302 to this location instead.</summary>
    public string? RedirectTo { get; set; }
    /// <summary>Answer this many requests with 503 first.</summary>
    public int FailFirst { get; set; }
    public Dictionary<string, string> Headers = [];
}

/// <summary>One request the server received and how many body bytes it sent back.</summary>
internal sealed class Received(string method, string path, string query, IReadOnlyDictionary<string, string> headers)
{
    public string Method { get; } = method;
    public string Path { get; } = path;
    public string Query { get; } = query;
    public IReadOnlyDictionary<string, string> Headers { get; } = headers;
    public long BytesSent;
    public string? Header(string name) => Headers.GetValueOrDefault(name.ToLowerInvariant());
}

/// <summary>
/// A minimal HTTP/1.1 server on 127.0.0.1 written on a socket, so a test controls what a real server can do wrong:
/// ignore ranges, drop the connection midway, trickle, redirect, send HTML. Every response closes its connection.
/// </summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly ConcurrentDictionary<string, Resource> _resources = new();

    public LoopbackServer()
    {
        _listener.Start();
        BaseUrl = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _loop = AcceptAsync();
    }

    public Uri BaseUrl { get; }

    public ConcurrentQueue<Received> Requests { get; } = new();

    public Uri Url(string path) => new(BaseUrl, path);

    public Resource Serve(string path, byte[] body, string contentType = "application/octet-stream")
    {
        var resource = new Resource { Body = body, ContentType = contentType };
        _resources[path] = resource;
        return resource;
    }

    public Resource ServeJson(string path, string json) => Serve(path, Encoding.UTF8.GetBytes(json), "application/json");

    /// <summary>Requests for <paramref name="path"/> (any query), in arrival order.</summary>
    public List<Received> RequestsFor(string path) => [.. Requests.Where(r => r.Path == path)];

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) { return; } // stopped
            _ = Task.Run(() => HandleAsync(client));
        }
    }

    private async Task HandleAsync(TcpClient client)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            var reader = new StreamReader(stream, Encoding.ASCII);
            string? line = await reader.ReadLineAsync();
            if (line is null) return;
            string[] parts = line.Split(' ');
            var headers = new Dictionary<string, string>();
            while (await reader.ReadLineAsync() is { Length: > 0 } header)
            {
                int colon = header.IndexOf(':');
                headers[header[..colon].Trim().ToLowerInvariant()] = header[(colon + 1)..].Trim();
            }
            string target = parts[1];
            int q = target.IndexOf('?');
            var request = new Received(parts[0], q < 0 ? target : target[..q], q < 0 ? "" : target[(q + 1)..], headers);
            Requests.Enqueue(request);
            await RespondAsync(stream, request, client.Client);
        }
        catch (IOException) { }         // the client went away (a cancelled or timed-out download)
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
        catch (OperationCanceledException) { } // the server is stopping
    }

    private async Task RespondAsync(NetworkStream stream, Received request, Socket socket)
    {
        if (!_resources.TryGetValue(request.Path, out var r))
        {
            await WriteHeadAsync(stream, 404, "Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")]);
            await stream.WriteAsync("not found"u8.ToArray());
            return;
        }
        if (r.FailFirst > 0)
        {
            r.FailFirst--;
            await WriteHeadAsync(stream, 503, "Service Unavailable", [("Content-Length", "0")]);
            return;
        }
        var head = new List<(string, string)>(r.Headers.Select(h => (h.Key, h.Value)));
        if (r.RedirectTo is { } location)
        {
            head.AddRange([("Location", location), ("Content-Length", "0")]);
            await WriteHeadAsync(stream, 302, "Found", head);
            return;
        }
        long total = r.Body.Length, from = 0, to = total - 1;
        int status = r.Status;
        head.Add(("Content-Type", r.ContentType));
        if (r.Ranges) head.Add(("Accept-Ranges", "bytes"));
        if (r.Ranges && status == 200 && request.Header("range") is { } range && range.StartsWith("bytes="))
        {
            string[] ends = range["bytes=".Length..].Split('-');
            from = long.Parse(ends[0]);
            to = ends[1].Length > 0 ? Math.Min(long.Parse(ends[1]), total - 1) : total - 1;
            if (from >= total)
            {
                head.AddRange([("Content-Range", $"bytes */{total}"), ("Content-Length", "0")]);
                await WriteHeadAsync(stream, 416, "Range Not Satisfiable", head);
                return;
            }
            status = 206;
            head.Add(("Content-Range", $"bytes {from}-{to}/{total}"));
        }
        long length = to - from + 1;
        head.Add(("Content-Length", length.ToString()));
        await WriteHeadAsync(stream, status, status switch { 200 => "OK", 206 => "Partial Content", 404 => "Not Found", _ => "Status" }, head);
        if (request.Method == "HEAD") return;

        long limit = r.DropAfter is { } drop ? Math.Min(drop, length) : length;
        if (r.Trickle > TimeSpan.Zero)
        {
            for (long i = 0; i < limit; i++)
            {
                await Task.Delay(r.Trickle, _stop.Token);
                await stream.WriteAsync(r.Body.AsMemory((int)(from + i), 1));
                Interlocked.Increment(ref request.BytesSent);
            }
        }
        else
        {
            await stream.WriteAsync(r.Body.AsMemory((int)from, (int)limit));
            Interlocked.Add(ref request.BytesSent, limit);
        }
        if (limit < length)
            socket.Shutdown(SocketShutdown.Send); // the bytes sent arrive, then the stream ends short of Content-Length
    }

    private static async Task WriteHeadAsync(NetworkStream stream, int status, string reason, IEnumerable<(string Name, string Value)> headers)
    {
        var text = new StringBuilder($"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n");
        foreach (var (name, value) in headers) text.Append($"{name}: {value}\r\n");
        text.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(text.ToString()));
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try { await _loop; } catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}

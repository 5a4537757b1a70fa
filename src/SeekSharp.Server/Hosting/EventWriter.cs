using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace SeekSharp.Server.Hosting;

/// <summary>
/// Writes a streamed response and flushes each event at once: server-sent events (<c>data: JSON</c> and a blank line,
/// as OpenAI's SDKs read them) or NDJSON (one JSON object per line, as Ollama's clients read them, even for stream:false).
/// An SSE stream that has been silent for <see cref="ServerOptions.KeepAliveInterval"/> (a request waiting in the queue, a long
/// prompt) gets a <c>: keep-alive</c> comment, as DeepSeek's API and llama.cpp's server send, so that proxies and
/// clients with read timeouts do not drop it; every SSE client skips comments.
/// </summary>
internal sealed class EventWriter : IAsyncDisposable
{
    static readonly byte[] DataPrefix = "data: "u8.ToArray();
    static readonly byte[] SseEnd = "\n\n"u8.ToArray();
    static readonly byte[] LineEnd = "\n"u8.ToArray();
    static readonly byte[] KeepAlive = ": keep-alive\n\n"u8.ToArray();

    readonly HttpResponse _response;
    readonly bool _sse;
    readonly SemaphoreSlim _writing = new(1, 1);
    readonly CancellationTokenSource _stop = new();
    readonly Task _pings = Task.CompletedTask;
    readonly TimeSpan _keepAlive;
    long _lastWrite = Stopwatch.GetTimestamp();

    EventWriter(HttpResponse response, bool sse, TimeSpan keepAlive = default)
    {
        _response = response;
        _sse = sse;
        _keepAlive = keepAlive;
        if (sse) _pings = PingAsync(_stop.Token);
    }

    /// <summary>Sends the status and headers now, so that a queued request's client knows it was accepted (the first
    /// event waits for the first token).</summary>
    public static async Task<EventWriter> StartSseAsync(HttpResponse response, TimeSpan keepAlive)
    {
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no"; // nginx would otherwise buffer the stream
        await response.StartAsync();
        await response.Body.FlushAsync();
        return new EventWriter(response, sse: true, keepAlive);
    }

    public static async Task<EventWriter> StartNdjsonAsync(HttpResponse response)
    {
        response.ContentType = "application/x-ndjson";
        await response.StartAsync();
        await response.Body.FlushAsync();
        return new EventWriter(response, sse: false);
    }

    public Task WriteAsync<T>(T value, JsonTypeInfo<T> type)
    {
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(value, type);
        return _sse ? WriteAsync(DataPrefix, json, SseEnd) : WriteAsync([], json, LineEnd);
    }

    /// <summary>The SSE terminator OpenAI's clients stop at.</summary>
    public Task WriteDoneAsync() => WriteAsync([], "data: [DONE]"u8.ToArray(), SseEnd);

    async Task WriteAsync(byte[] prefix, byte[] body, byte[] end)
    {
        await _writing.WaitAsync();
        try
        {
            await _response.Body.WriteAsync(prefix);
            await _response.Body.WriteAsync(body);
            await _response.Body.WriteAsync(end);
            await _response.Body.FlushAsync();
            _lastWrite = Stopwatch.GetTimestamp();
        }
        finally
        {
            _writing.Release();
        }
    }

    async Task PingAsync(CancellationToken stop)
    {
        try
        {
            while (true)
            {
                var silent = Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastWrite));
                await Task.Delay(silent >= _keepAlive ? _keepAlive : _keepAlive - silent, stop);
                if (Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastWrite)) >= _keepAlive) await WriteAsync([], KeepAlive, []);
            }
        }
        catch (OperationCanceledException) { }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException) { } // the client is gone
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _pings;
        _stop.Dispose();
    }
}

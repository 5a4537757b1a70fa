using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace SeekSharp.Server.Hosting;

/// <summary>
/// Writes a streamed response and flushes each event at once: server-sent events (<c>data: JSON</c> and a blank line,
/// as OpenAI's SDKs read them) or NDJSON (one JSON object per line, as Ollama's clients read them, even for stream:false).
/// </summary>
internal sealed class EventWriter(HttpResponse response, bool sse)
{
    static readonly byte[] DataPrefix = "data: "u8.ToArray();
    static readonly byte[] SseEnd = "\n\n"u8.ToArray();
    static readonly byte[] LineEnd = "\n"u8.ToArray();

    /// <summary>Sends the status and headers now, so that a queued request's client knows it was accepted (the first
    /// event waits for the first token).</summary>
    public static async Task<EventWriter> StartSseAsync(HttpResponse response)
    {
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no"; // nginx would otherwise buffer the stream
        await response.StartAsync();
        await response.Body.FlushAsync();
        return new EventWriter(response, sse: true);
    }

    public static async Task<EventWriter> StartNdjsonAsync(HttpResponse response)
    {
        response.ContentType = "application/x-ndjson";
        await response.StartAsync();
        await response.Body.FlushAsync();
        return new EventWriter(response, sse: false);
    }

    public async Task WriteAsync<T>(T value, JsonTypeInfo<T> type)
    {
        if (sse) await response.Body.WriteAsync(DataPrefix);
        await response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(value, type));
        await response.Body.WriteAsync(sse ? SseEnd : LineEnd);
        await response.Body.FlushAsync();
    }

    /// <summary>The SSE terminator OpenAI's clients stop at.</summary>
    public async Task WriteDoneAsync()
    {
        await response.Body.WriteAsync("data: [DONE]\n\n"u8.ToArray());
        await response.Body.FlushAsync();
    }
}

using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace SeekSharp.Server.Hosting;

/// <summary>
/// What one request did, filled in by its endpoint and logged as one structured line when it ends: id, method and path,
/// status, prompt / cached / completion tokens, time to first token and duration.
/// </summary>
internal sealed partial class RequestLog
{
    static long s_next;

    public string Id { get; } = "req-" + Interlocked.Increment(ref s_next).ToString(System.Globalization.CultureInfo.InvariantCulture);
    public int? Status { get; set; }
    public int PromptTokens { get; set; }
    public int CachedTokens { get; set; }
    public int CompletionTokens { get; set; }
    public double? TimeToFirstTokenMs { get; set; }

    public static RequestLog Of(HttpContext http)
    {
        if (http.Items[typeof(RequestLog)] is RequestLog log) return log;
        log = new RequestLog();
        http.Items[typeof(RequestLog)] = log;
        return log;
    }

    public static async Task Middleware(HttpContext http, RequestDelegate next, ILogger logger)
    {
        var log = Of(http);
        long start = Stopwatch.GetTimestamp();
        try
        {
            await next(http);
        }
        finally
        {
            // /health and /metrics are polled; logging them would drown the requests.
            string path = http.Request.Path.Value ?? "";
            if (path is not ("/health" or "/metrics") || (log.Status ?? http.Response.StatusCode) >= 400)
                Completed(logger, log.Id, http.Request.Method, path, log.Status ?? http.Response.StatusCode, log.PromptTokens, log.CachedTokens,
                    log.CompletionTokens, log.TimeToFirstTokenMs, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "{RequestId} {Method} {Endpoint} {Status} prompt={PromptTokens} cached={CachedTokens} completion={CompletionTokens} ttft_ms={TtftMs:F1} duration_ms={DurationMs:F1}")]
    static partial void Completed(ILogger logger, string requestId, string method, string endpoint, int status, int promptTokens, int cachedTokens,
        int completionTokens, double? ttftMs, double durationMs);
}

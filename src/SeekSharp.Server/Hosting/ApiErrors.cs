using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SeekSharp.Server.Ollama;
using SeekSharp.Server.OpenAi;

namespace SeekSharp.Server.Hosting;

/// <summary>
/// Writes every failure in the shape the calling API's clients read: Ollama's <c>{"error":"…"}</c> under /api/,
/// OpenAI's envelope everywhere else. The outermost middleware, so nothing leaves as ASP.NET's default page.
/// </summary>
internal static class ApiErrors
{
    public static bool IsOllama(HttpContext http) => http.Request.Path.StartsWithSegments("/api");

    public static async Task Middleware(HttpContext http, RequestDelegate next)
    {
        try
        {
            await next(http);
        }
        catch (Exception e) when (http.RequestAborted.IsCancellationRequested && e is OperationCanceledException or IOException)
        {
            // The client went away; there is no one to answer. 499 is nginx's "client closed request", for the log.
            RequestLog.Of(http).Status = 499;
        }
        catch (ApiException e)
        {
            await WriteAsync(http, e);
        }
        catch (BadHttpRequestException e)
        {
            await WriteAsync(http, new ApiException(e.StatusCode, e.StatusCode == 413
                ? "the request body is larger than the server's limit"
                : $"bad request: {e.Message}", "invalid_request_error"));
        }
        catch (Exception e)
        {
            http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("SeekSharp.Server")
                .LogError(e, "request {Id} {Path} failed", RequestLog.Of(http).Id, http.Request.Path);
            await WriteAsync(http, new ApiException(500, $"internal server error: {e.GetType().Name}: {e.Message}", "server_error"));
        }
    }

    /// <summary>Answers with <paramref name="e"/>'s status and message, unless the response has started (then the
    /// endpoint reports the failure inside its stream).</summary>
    public static async Task WriteAsync(HttpContext http, ApiException e)
    {
        RequestLog.Of(http).Status = e.Status;
        if (http.Response.HasStarted) return;
        http.Response.Clear();
        http.Response.StatusCode = e.Status;
        if (e.RetryAfterSeconds is { } retry) http.Response.Headers.RetryAfter = retry.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (e.Status == 401 && !IsOllama(http)) http.Response.Headers.WWWAuthenticate = "Bearer";
        http.Response.ContentType = "application/json";
        byte[] body = IsOllama(http)
            ? JsonSerializer.SerializeToUtf8Bytes(new OllamaError(e.Message), OllamaJson.Wire.OllamaError)
            : JsonSerializer.SerializeToUtf8Bytes(Envelope(e), OpenAiJson.Wire.ErrorEnvelope);
        await http.Response.Body.WriteAsync(body, CancellationToken.None);
    }

    public static ErrorEnvelope Envelope(ApiException e) => new(new ErrorBody(e.Message, e.Type) { Param = e.Param, Code = e.Code });
}

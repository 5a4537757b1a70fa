using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace SeekSharp.Server.Hosting;

/// <summary>
/// Reads a request body as JSON with the source-generated contract, turning every way it can be wrong into a 400 (or
/// 413) <see cref="ApiException"/> that the error middleware writes in the API's shape. Minimal APIs' own binding
/// would answer with ASP.NET's problem details instead, which OpenAI and Ollama clients cannot read.
/// </summary>
internal static class JsonBody
{
    /// <summary>Writes <paramref name="value"/> as the response body, <c>application/json; charset=utf-8</c>, with its source-generated contract.</summary>
    public static Task WriteAsync<T>(HttpContext http, T value, JsonTypeInfo<T> type)
    {
        http.Response.ContentType = "application/json; charset=utf-8";
        return http.Response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(value, type)).AsTask();
    }

    public static async Task<T> ReadAsync<T>(HttpContext http, JsonTypeInfo<T> type) where T : class
    {
        byte[] body = await ReadBytesAsync(http);
        if (body.Length == 0) throw ApiException.BadRequest("the request body is empty; a JSON object is expected");
        // System.Text.Json replaces some invalid sequences instead of failing, so check first: the bytes must be UTF-8.
        if (!Utf8.IsValid(body)) throw ApiException.BadRequest("the request body is not valid UTF-8");
        T? value;
        try { value = JsonSerializer.Deserialize(body, type); }
        catch (JsonException e) { throw ApiException.BadRequest(Describe(e), e.Path is { Length: > 2 } p ? p[2..] : null); }
        return value ?? throw ApiException.BadRequest("the request body is JSON null; a JSON object is expected");
    }

    /// <summary>
    /// Kestrel's own limit (<see cref="HardLimit"/>) is far above the configured one: a body over the configured limit is
    /// read to its end and discarded before the 413 goes out, so that a client still sending it gets the answer instead
    /// of a reset connection. A client that sent <c>Expect: 100-continue</c> with a Content-Length over the limit is
    /// refused at once, before it sends the body.
    /// </summary>
    static async Task<byte[]> ReadBytesAsync(HttpContext http)
    {
        long limit = http.RequestServices.GetRequiredService<ServerOptions>().MaxRequestBodyBytes;
        ApiException TooLarge() => new(413, $"the request body is larger than the server's limit of {limit} bytes", "invalid_request_error", code: "request_too_large");
        if (http.Request.ContentLength > limit && http.Request.Headers.Expect.ToString().Contains("100-continue", StringComparison.OrdinalIgnoreCase))
            throw TooLarge();
        var reader = http.Request.BodyReader;
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync(http.RequestAborted);
                if (read.Buffer.Length > limit)
                {
                    reader.AdvanceTo(read.Buffer.End);
                    while (!read.IsCompleted)
                    {
                        read = await reader.ReadAsync(http.RequestAborted);
                        reader.AdvanceTo(read.Buffer.End);
                    }
                    throw TooLarge();
                }
                if (read.IsCompleted)
                {
                    byte[] bytes = read.Buffer.ToArray();
                    reader.AdvanceTo(read.Buffer.End);
                    return bytes;
                }
                reader.AdvanceTo(read.Buffer.Start, read.Buffer.End);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge();
        }
        catch (BadHttpRequestException e)
        {
            throw new ApiException(e.StatusCode, $"the request body could not be read: {e.Message}", "invalid_request_error");
        }
    }

    /// <summary>Kestrel's limit for a configured one: bodies up to this size are drained to answer 413 cleanly; beyond
    /// it the connection is closed.</summary>
    public static long HardLimit(long limit) => Math.Max(limit * 16, 64L * 1024 * 1024);

    // System.Text.Json's messages name .NET types ("could not be converted to System.Nullable`1[System.Int32]") and
    // end with a path and position; say it in JSON's words instead.
    static string Describe(JsonException e)
    {
        string where = e.Path is { Length: > 2 } p ? $"'{p[2..]}'" : "the body";
        string position = e.LineNumber is { } line ? $" (line {line + 1}, byte {e.BytePositionInLine + 1})" : "";
        string message = e.Message;
        int cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut >= 0) message = message[..cut];
        if (message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal))
            return $"{where} has the wrong JSON type{position}";
        if (message.StartsWith("The JSON object contains a trailing comma", StringComparison.Ordinal)
            || e.InnerException is not null || message.Contains("invalid", StringComparison.OrdinalIgnoreCase)
            || message.Contains("Expected", StringComparison.Ordinal))
            return $"malformed JSON in {where}{position}: {message.TrimEnd('.')}";
        return $"invalid JSON in {where}{position}: {message.TrimEnd('.')}";
    }
}

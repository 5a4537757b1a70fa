using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace SeekSharp.Server.Hosting;

/// <summary>
/// With an API key set, every request but GET /health and the chat page's static files must carry
/// <c>Authorization: Bearer KEY</c> (OpenAI's, Ollama's and the app's routes alike): the page itself holds no data, and it
/// asks for the key and sends it with every call to <c>/app/api</c>. Both sides are hashed to a fixed length and compared with
/// <see cref="CryptographicOperations.FixedTimeEquals"/>, so the time taken tells nothing about the key or its length.
/// </summary>
internal sealed class ApiKeyCheck(string key)
{
    readonly byte[] _expected = SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public Task Middleware(HttpContext http, RequestDelegate next)
    {
        if (IsOpen(http.Request) || Accepts(http.Request.Headers.Authorization.ToString()))
            return next(http);
        throw new ApiException(401,
            http.Request.Headers.Authorization.Count == 0
                ? "You didn't provide an API key. Provide it in the Authorization header as 'Bearer YOUR_KEY'."
                : "Incorrect API key provided.",
            "invalid_request_error", code: "invalid_api_key");
    }

    static bool IsOpen(HttpRequest request)
    {
        var path = request.Path;
        if (path.Equals("/health", StringComparison.OrdinalIgnoreCase)) return true;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method)) return false;
        return path.Value is "/" or "/favicon.svg" || path.StartsWithSegments("/assets", StringComparison.Ordinal);
    }

    bool Accepts(string header)
    {
        const string Scheme = "Bearer ";
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)) return false;
        byte[] given = SHA256.HashData(Encoding.UTF8.GetBytes(header[Scheme.Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(given, _expected);
    }
}

using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace SeekSharp.Server.Hosting;

/// <summary>
/// With an API key set, every request but GET /health must carry <c>Authorization: Bearer KEY</c> (OpenAI's and
/// Ollama's routes alike). Both sides are hashed to a fixed length and compared with
/// <see cref="CryptographicOperations.FixedTimeEquals"/>, so the time taken tells nothing about the key or its length.
/// </summary>
internal sealed class ApiKeyCheck(string key)
{
    readonly byte[] _expected = SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public Task Middleware(HttpContext http, RequestDelegate next)
    {
        if (http.Request.Path.Equals("/health", StringComparison.OrdinalIgnoreCase) || Accepts(http.Request.Headers.Authorization.ToString()))
            return next(http);
        throw new ApiException(401,
            http.Request.Headers.Authorization.Count == 0
                ? "You didn't provide an API key. Provide it in the Authorization header as 'Bearer YOUR_KEY'."
                : "Incorrect API key provided.",
            "invalid_request_error", code: "invalid_api_key");
    }

    bool Accepts(string header)
    {
        const string Scheme = "Bearer ";
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)) return false;
        byte[] given = SHA256.HashData(Encoding.UTF8.GetBytes(header[Scheme.Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(given, _expected);
    }
}

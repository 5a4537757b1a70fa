using System.Net.Http.Headers;

namespace SeekSharp.Store;

/// <summary>The servers names resolve against, and the Hugging Face token; read from the environment, overridable for tests and mirrors.</summary>
public sealed record StoreEndpoints
{
    /// <summary>The Hugging Face Hub (<c>HF_ENDPOINT</c>, as huggingface_hub reads it; default https://huggingface.co).</summary>
    public Uri HuggingFace { get; init; } = new("https://huggingface.co");

    /// <summary>The Hub access token (<c>HF_TOKEN</c>), for gated and private repositories; sent only to <see cref="HuggingFace"/>'s host.</summary>
    public string? HuggingFaceToken { get; init; }

    /// <summary>The Ollama registry (<c>SEEK_OLLAMA_REGISTRY</c>; default https://registry.ollama.ai).</summary>
    public Uri OllamaRegistry { get; init; } = new("https://registry.ollama.ai");

    /// <summary>The endpoints the environment names, defaults elsewhere.</summary>
    public static StoreEndpoints FromEnvironment()
    {
        var endpoints = new StoreEndpoints();
        if (Environment.GetEnvironmentVariable("HF_ENDPOINT") is { Length: > 0 } hf)
            endpoints = endpoints with { HuggingFace = ParseUrl("HF_ENDPOINT", hf) };
        if (Environment.GetEnvironmentVariable("HF_TOKEN") is { Length: > 0 } token)
            endpoints = endpoints with { HuggingFaceToken = token.Trim() };
        if (Environment.GetEnvironmentVariable("SEEK_OLLAMA_REGISTRY") is { Length: > 0 } ollama)
            endpoints = endpoints with { OllamaRegistry = ParseUrl("SEEK_OLLAMA_REGISTRY", ollama) };
        return endpoints;
    }

    /// <summary>The Authorization header for a request to <paramref name="url"/>: the token for the Hub's own host and port, nothing for any other
    /// (the CDN the Hub redirects downloads to, the Ollama registry, a plain URL).</summary>
    public AuthenticationHeaderValue? Authorize(Uri url) =>
        HuggingFaceToken is { } token && string.Equals(url.Authority, HuggingFace.Authority, StringComparison.OrdinalIgnoreCase)
                                      && url.Scheme == HuggingFace.Scheme
            ? new AuthenticationHeaderValue("Bearer", token)
            : null;

    /// <summary><paramref name="relative"/> under <paramref name="endpoint"/>, keeping a path the endpoint has (a mirror at https://host/hf/).</summary>
    internal static Uri Combine(Uri endpoint, string relative) => new(endpoint.AbsoluteUri.TrimEnd('/') + "/" + relative);

    private static Uri ParseUrl(string variable, string value) =>
        Uri.TryCreate(value.TrimEnd('/'), UriKind.Absolute, out var url) && url.Scheme is "http" or "https"
            ? url
            : throw new ArgumentException($"{variable} must be an http(s) URL, got '{value}'");
}

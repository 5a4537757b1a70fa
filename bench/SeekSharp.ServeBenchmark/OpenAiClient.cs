using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SeekSharp.ServeBenchmark;

/// <summary>
/// A streaming client of an OpenAI-compatible server, timing as vLLM's <c>endpoint_request_func</c> does: TTFT at the
/// first SSE chunk whose <c>choices</c> is non-empty (whatever its text: a role-only chunk counts, as in vLLM), ITL
/// between successive choice-bearing chunks, E2EL at the last one; output tokens from the final usage chunk
/// (<c>stream_options.include_usage</c>). Requests are greedy (temperature 0) with <c>max_tokens</c> and vLLM's
/// <c>ignore_eos</c> extension, so every answer has the asked length when the server honours it.
/// </summary>
internal sealed class OpenAiClient : IDisposable
{
    private readonly HttpClient http;
    private readonly string endpoint;
    private readonly string model;

    public OpenAiClient(Uri baseUrl, string endpoint, string model, string? apiKey)
    {
        http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = baseUrl, Timeout = TimeSpan.FromMinutes(30),
        };
        if (apiKey is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        this.endpoint = endpoint;
        this.model = model;
    }

    public bool IsChat => endpoint.Contains("chat", StringComparison.Ordinal);

    /// <summary>The first model the server lists (GET /v1/models), for requests that must name one.</summary>
    public static async Task<string> FirstModelAsync(Uri baseUrl, string? apiKey)
    {
        using var http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };
        if (apiKey is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        var body = JsonNode.Parse(await http.GetStringAsync("/v1/models"));
        return body?["data"]?[0]?["id"]?.GetValue<string>() ?? throw new InvalidOperationException($"{baseUrl}v1/models lists no model");
    }

    /// <summary>The server's token count of <paramref name="text"/> (POST /tokenize, llama.cpp's and vLLM's shape), or null without that endpoint.</summary>
    public async Task<int?> TokenizeCountAsync(string text, CancellationToken cancellationToken = default)
    {
        try
        {
            var body = new JsonObject { ["model"] = model, ["prompt"] = text, ["content"] = text };
            using var response = await http.PostAsync("/tokenize", Json(body), cancellationToken);
            if (!response.IsSuccessStatusCode) return null;
            var parsed = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            return (parsed?["count"]?.GetValue<int>()) ?? (parsed?["tokens"] as JsonArray)?.Count;
        }
        catch (HttpRequestException) { return null; }
    }

    public async Task<RequestOutcome> SendAsync(BenchRequest request, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["max_tokens"] = request.OutputTokens,
            ["temperature"] = 0,
            ["stream"] = true,
            ["stream_options"] = new JsonObject { ["include_usage"] = true },
            ["ignore_eos"] = true,
        };
        if (IsChat) body["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = request.Text });
        else body["prompt"] = request.Text;

        var clock = Stopwatch.StartNew();
        using var message = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = Json(body) };
        using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
            return new RequestOutcome { Success = false, Error = $"HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}" };
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken), Encoding.UTF8);
        var times = new List<double>(request.OutputTokens);
        int? promptTokens = null, completionTokens = null, cachedTokens = null;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            // SSE: "data: {json}" lines separated by blank lines; ": ping" comments and other fields are skipped.
            if (!line.StartsWith("data:", StringComparison.Ordinal)) continue;
            string data = line[5..].Trim();
            if (data == "[DONE]") break;
            double now = clock.Elapsed.TotalSeconds;
            using var chunk = JsonDocument.Parse(data);
            var root = chunk.RootElement;
            if (root.TryGetProperty("error", out var error))
                return new RequestOutcome { Success = false, Error = "stream error: " + error.ToString() };
            if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0)
                times.Add(now);
            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                promptTokens = usage.TryGetProperty("prompt_tokens", out var p) ? p.GetInt32() : null;
                completionTokens = usage.TryGetProperty("completion_tokens", out var c) ? c.GetInt32() : null;
                if (usage.TryGetProperty("prompt_tokens_details", out var details) && details.ValueKind == JsonValueKind.Object &&
                    details.TryGetProperty("cached_tokens", out var cached) && cached.ValueKind == JsonValueKind.Number)
                    cachedTokens = cached.GetInt32();
            }
        }
        if (completionTokens is null)
            return new RequestOutcome { Success = false, Error = "no usage chunk (stream_options.include_usage not honoured)" };
        return LoadDriver.FromTokenTimes(times, promptTokens ?? request.Prompt.Length, completionTokens.Value, cachedTokens);
    }

    private static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    public void Dispose() => http.Dispose();
}

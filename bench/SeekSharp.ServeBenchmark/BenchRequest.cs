using System.Text.Json.Serialization;

namespace SeekSharp.ServeBenchmark;

/// <summary>
/// One request of a benchmark run, the same for every engine: the prompt as token ids (the in-process engines take
/// them as they are) and as text (what an HTTP server gets: the ids decoded), the exact number of tokens to generate,
/// and when it is sent, in seconds after the run starts (0 for all with an infinite request rate).
/// </summary>
internal sealed record BenchRequest(
    [property: JsonPropertyName("id")] int Id,
    [property: JsonPropertyName("prompt")] int[] Prompt,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("output_tokens")] int OutputTokens,
    [property: JsonPropertyName("arrival_s")] double ArrivalSeconds);

/// <summary>
/// What the client saw of one request. Times are seconds from the moment the request was sent, which is after the
/// client's concurrency limit let it go (as vLLM's <c>limited_request_func</c>): queueing inside the engine counts,
/// waiting for a free client slot does not.
/// </summary>
internal sealed record RequestOutcome
{
    [JsonPropertyName("id")] public int Id { get; init; }
    [JsonPropertyName("ok")] public bool Success { get; init; }
    [JsonPropertyName("error")] public string? Error { get; init; }
    /// <summary>Prompt tokens: the server's usage.prompt_tokens over HTTP, the ids given in process.</summary>
    [JsonPropertyName("prompt_tokens")] public int PromptTokens { get; init; }
    /// <summary>Prompt tokens the server says it took from its prefix cache (usage.prompt_tokens_details.cached_tokens), when it says.</summary>
    [JsonPropertyName("cached_tokens")] public int? CachedTokens { get; init; }
    /// <summary>Generated tokens: usage.completion_tokens over HTTP, tokens received in process.</summary>
    [JsonPropertyName("output_tokens")] public int OutputTokens { get; init; }
    /// <summary>When it was sent, seconds after the run started.</summary>
    [JsonPropertyName("start_s")] public double StartSeconds { get; init; }
    /// <summary>Time to first token: send → the first event carrying a generated token (over HTTP: the first SSE chunk whose choices are non-empty).</summary>
    [JsonPropertyName("ttft_s")] public double TimeToFirstToken { get; init; }
    /// <summary>End-to-end latency: send → the last event carrying a token.</summary>
    [JsonPropertyName("e2el_s")] public double EndToEndLatency { get; init; }
    /// <summary>Gaps between successive token-carrying events (inter-token latencies).</summary>
    [JsonPropertyName("itl_s")] public double[] InterTokenLatencies { get; init; } = [];
}

using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace SeekSharp.Server.Ollama;

// Ollama's wire format (ollama/ollama api/types.go, docs/api.md): snake_case, durations in nanoseconds, times in RFC 3339.
// Fields of several shapes (think: bool or "low"/"medium"/"high"; keep_alive: "5m" or seconds; stop: string or list)
// are JsonElement and read by the endpoint.

internal sealed record OllamaChatRequest
{
    public string? Model { get; init; }
    public List<OllamaMessage>? Messages { get; init; }
    public bool? Stream { get; init; }
    public JsonElement? Think { get; init; }
    public OllamaOptions? Options { get; init; }
    public JsonElement? KeepAlive { get; init; }
    public JsonElement? Format { get; init; }
    public List<JsonElement>? Tools { get; init; }
}

internal sealed record OllamaGenerateRequest
{
    public string? Model { get; init; }
    public string? Prompt { get; init; }
    public string? System { get; init; }
    public bool? Raw { get; init; }
    public bool? Stream { get; init; }
    public JsonElement? Think { get; init; }
    public OllamaOptions? Options { get; init; }
    public JsonElement? KeepAlive { get; init; }
    public JsonElement? Format { get; init; }
}

internal sealed record OllamaMessage
{
    public string? Role { get; init; }
    public string? Content { get; init; }
    public string? Thinking { get; init; }
    public List<string>? Images { get; init; }
    public List<OllamaToolCall>? ToolCalls { get; init; }
    public string? ToolName { get; init; }
    public string? ToolCallId { get; init; }
}

internal sealed record OllamaToolCall
{
    public OllamaFunctionCall? Function { get; init; }
}

internal sealed record OllamaFunctionCall
{
    public string? Name { get; init; }
    /// <summary>An object in Ollama's format (OpenAI's JSON string accepted too).</summary>
    public JsonElement? Arguments { get; init; }
}

/// <summary>Ollama's runner options; num_ctx and other runner options are accepted and ignored (the server's --ctx and
/// --parallel size one shared KV pool for every request, so a request cannot resize it).</summary>
internal sealed record OllamaOptions
{
    public float? Temperature { get; init; }
    public float? TopP { get; init; }
    public int? TopK { get; init; }
    public float? MinP { get; init; }
    public long? Seed { get; init; }
    public int? NumPredict { get; init; }
    public JsonElement? Stop { get; init; }
    public float? RepeatPenalty { get; init; }
    public int? RepeatLastN { get; init; }
    public float? PresencePenalty { get; init; }
    public float? FrequencyPenalty { get; init; }
    public int? NumCtx { get; init; }
}

internal sealed record OllamaOutMessage(string Role, string Content)
{
    public string? Thinking { get; init; }
}

/// <summary>A chunk of /api/chat (message) or /api/generate (response, thinking); the last one has done: true and the stats.</summary>
internal sealed record OllamaChunk(string Model, DateTime CreatedAt, bool Done)
{
    public OllamaOutMessage? Message { get; init; }
    public string? Response { get; init; }
    public string? Thinking { get; init; }
    public string? DoneReason { get; init; }
    public long? TotalDuration { get; init; }
    public long? LoadDuration { get; init; }
    public int? PromptEvalCount { get; init; }
    public long? PromptEvalDuration { get; init; }
    public int? EvalCount { get; init; }
    public long? EvalDuration { get; init; }
    public int[]? Context { get; init; }
}

internal sealed record OllamaModelDetails(string ParentModel, string Format, string Family, List<string> Families, string ParameterSize, string QuantizationLevel);

internal sealed record OllamaModelEntry(string Name, string Model, DateTime ModifiedAt, long Size, string Digest, OllamaModelDetails Details)
{
    public DateTime? ExpiresAt { get; init; }
    public long? SizeVram { get; init; }
    public int? ContextLength { get; init; }
}

internal sealed record OllamaModelList(List<OllamaModelEntry> Models);

internal sealed record OllamaShowRequest
{
    public string? Model { get; init; }
    /// <summary>Older clients send name.</summary>
    public string? Name { get; init; }
    public bool? Verbose { get; init; }
}

internal sealed record OllamaShowResponse(string Modelfile, string Parameters, string Template, OllamaModelDetails Details,
    JsonObject ModelInfo, List<string> Capabilities, DateTime ModifiedAt);

internal sealed record OllamaVersion(string Version);

internal sealed record OllamaError(string Error);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(OllamaChatRequest))]
[JsonSerializable(typeof(OllamaGenerateRequest))]
[JsonSerializable(typeof(OllamaChunk))]
[JsonSerializable(typeof(OllamaModelList))]
[JsonSerializable(typeof(OllamaShowRequest))]
[JsonSerializable(typeof(OllamaShowResponse))]
[JsonSerializable(typeof(OllamaVersion))]
[JsonSerializable(typeof(OllamaError))]
internal sealed partial class OllamaJson : JsonSerializerContext
{
    /// <summary>The contract with <see cref="Hosting.WireJson.Options"/> (JSON's own escaping only).</summary>
    // Built on first use: static initializers of the generated partial (Default) have no order relative to this file's.
    public static OllamaJson Wire => s_wire ??= new(Hosting.WireJson.Options());

    static OllamaJson? s_wire;
}

using System.Text.Json;
using System.Text.Json.Serialization;

namespace SeekSharp.Server.OpenAi;

// The OpenAI / DeepSeek wire format (openai-openapi's CreateChatCompletionRequest/Response, CreateCompletionRequest,
// ListModelsResponse, Error; DeepSeek's reasoning_content and prompt_cache_* fields). Names are snake_case through the
// serializer context; nulls are left out unless a field is marked as always written (the spec requires it present).
// Fields that take several JSON shapes (stop: string or array; content: string or parts) are JsonElement and checked
// by the endpoint, so a wrong shape is a 400 that names the field.

/// <summary>POST /v1/chat/completions.</summary>
internal sealed record ChatCompletionRequest
{
    public string? Model { get; init; }
    public List<ChatMessageDto>? Messages { get; init; }
    public bool? Stream { get; init; }
    public StreamOptionsDto? StreamOptions { get; init; }
    public int? MaxTokens { get; init; }
    public int? MaxCompletionTokens { get; init; }
    public float? Temperature { get; init; }
    public float? TopP { get; init; }
    /// <summary>Extension (llama.cpp, vLLM).</summary>
    public int? TopK { get; init; }
    /// <summary>Extension (llama.cpp, vLLM).</summary>
    public float? MinP { get; init; }
    /// <summary>Extension (llama.cpp's repeat_penalty, vLLM's repetition_penalty).</summary>
    public float? RepeatPenalty { get; init; }
    public float? RepetitionPenalty { get; init; }
    public float? PresencePenalty { get; init; }
    public float? FrequencyPenalty { get; init; }
    public int? N { get; init; }
    public long? Seed { get; init; }
    public JsonElement? Stop { get; init; }
    public bool? Logprobs { get; init; }
    public int? TopLogprobs { get; init; }
    public Dictionary<string, float>? LogitBias { get; init; }
    /// <summary>vLLM's benchmark extension: keep generating past end-of-generation tokens.</summary>
    public bool? IgnoreEos { get; init; }
    /// <summary>llama.cpp / vLLM extension: extra chat template variables.</summary>
    public Dictionary<string, JsonElement>? ChatTemplateKwargs { get; init; }
    public List<JsonElement>? Tools { get; init; }
    /// <summary>text, json_object or json_schema (structured output).</summary>
    public JsonElement? ResponseFormat { get; init; }
}

internal sealed record StreamOptionsDto
{
    public bool? IncludeUsage { get; init; }
}

/// <summary>An incoming message: content is a string, an array of text parts, or null.</summary>
internal sealed record ChatMessageDto
{
    public string? Role { get; init; }
    public JsonElement? Content { get; init; }
    public string? ReasoningContent { get; init; }
    public string? Name { get; init; }
    public string? ToolCallId { get; init; }
    public List<ToolCallDto>? ToolCalls { get; init; }
}

internal sealed record ToolCallDto
{
    public string? Id { get; init; }
    public string? Type { get; init; }
    public FunctionCallDto? Function { get; init; }
}

internal sealed record FunctionCallDto
{
    public string? Name { get; init; }
    /// <summary>The arguments as JSON text (OpenAI); an object is accepted too.</summary>
    public JsonElement? Arguments { get; init; }
}

/// <summary>The non-streaming answer.</summary>
internal sealed record ChatCompletionResponse(string Id, long Created, string Model, List<ChatChoice> Choices, UsageDto Usage)
{
    public string Object => "chat.completion";
    public string SystemFingerprint => OpenAiEndpoints.SystemFingerprint;
}

internal sealed record ChatChoice(int Index, AssistantMessage Message, string FinishReason)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public LogprobsDto? Logprobs { get; init; }
}

internal sealed record AssistantMessage(string? Content, string? ReasoningContent)
{
    public string Role => "assistant";
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Refusal => null;
}

/// <summary>One streamed chunk; <c>choices</c> is empty in the usage chunk.</summary>
internal sealed record ChatCompletionChunk(string Id, long Created, string Model, List<ChunkChoice> Choices)
{
    public string Object => "chat.completion.chunk";
    public string SystemFingerprint => OpenAiEndpoints.SystemFingerprint;
    public UsageDto? Usage { get; init; }
}

internal sealed record ChunkChoice(int Index, Delta Delta)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public LogprobsDto? Logprobs { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? FinishReason { get; init; }
}

internal sealed record Delta
{
    public string? Role { get; init; }
    public string? Content { get; init; }
    public string? ReasoningContent { get; init; }
}

internal sealed record LogprobsDto(List<TokenLogprobDto> Content)
{
    public List<TokenLogprobDto> Refusal => [];
}

internal sealed record TokenLogprobDto(string Token, float Logprob, int[] Bytes, List<TopLogprobDto> TopLogprobs);

internal sealed record TopLogprobDto(string Token, float Logprob, int[] Bytes);

/// <summary>OpenAI's usage with DeepSeek's cache split.</summary>
internal sealed record UsageDto(int PromptTokens, int CompletionTokens, int TotalTokens,
    PromptTokensDetails PromptTokensDetails, CompletionTokensDetails CompletionTokensDetails,
    int PromptCacheHitTokens, int PromptCacheMissTokens);

internal sealed record PromptTokensDetails(int CachedTokens);

internal sealed record CompletionTokensDetails(int ReasoningTokens);

/// <summary>POST /v1/completions.</summary>
internal sealed record CompletionRequest
{
    public string? Model { get; init; }
    /// <summary>A string, an array of token ids, or an array of one string.</summary>
    public JsonElement? Prompt { get; init; }
    public bool? Stream { get; init; }
    public StreamOptionsDto? StreamOptions { get; init; }
    public int? MaxTokens { get; init; }
    public float? Temperature { get; init; }
    public float? TopP { get; init; }
    public int? TopK { get; init; }
    public float? MinP { get; init; }
    public float? RepeatPenalty { get; init; }
    public float? RepetitionPenalty { get; init; }
    public float? PresencePenalty { get; init; }
    public float? FrequencyPenalty { get; init; }
    public int? N { get; init; }
    public long? Seed { get; init; }
    public JsonElement? Stop { get; init; }
    /// <summary>0..5: the chosen token's log-probability and this many alternatives.</summary>
    public int? Logprobs { get; init; }
    public Dictionary<string, float>? LogitBias { get; init; }
    public bool? Echo { get; init; }
    public bool? IgnoreEos { get; init; }
    /// <summary>vLLM's extension: structured output as on chat completions.</summary>
    public JsonElement? ResponseFormat { get; init; }
}

internal sealed record CompletionResponse(string Id, long Created, string Model, List<CompletionChoice> Choices)
{
    public string Object => "text_completion";
    public string SystemFingerprint => OpenAiEndpoints.SystemFingerprint;
    public UsageDto? Usage { get; init; }
}

internal sealed record CompletionChoice(int Index, string Text)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public CompletionLogprobs? Logprobs { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? FinishReason { get; init; }
}

/// <summary>The legacy completions log-probability shape.</summary>
internal sealed record CompletionLogprobs(List<string> Tokens, List<float> TokenLogprobs, List<Dictionary<string, float>> TopLogprobs, List<int> TextOffset);

internal sealed record ModelList(List<ModelDto> Data)
{
    public string Object => "list";
}

internal sealed record ModelDto(string Id, long Created, string OwnedBy, string Root)
{
    public string Object => "model";
    /// <summary>llama.cpp and vLLM report the context here.</summary>
    public int MaxModelLen { get; init; }
}

internal sealed record TokenizeRequest
{
    public string? Content { get; init; }
    public bool? AddSpecial { get; init; }
    /// <summary>llama.cpp: return each token's text too.</summary>
    public bool? WithPieces { get; init; }
}

internal sealed record TokenizeResponse(int[] Tokens);

internal sealed record TokenPiece(int Id, string Piece);

internal sealed record TokenizeWithPiecesResponse(List<TokenPiece> Tokens);

internal sealed record DetokenizeRequest
{
    public int[]? Tokens { get; init; }
}

internal sealed record DetokenizeResponse(string Content);

internal sealed record ErrorEnvelope(ErrorBody Error);

internal sealed record ErrorBody(string Message, string Type)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Param { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Code { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(ChatCompletionResponse))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(CompletionRequest))]
[JsonSerializable(typeof(CompletionResponse))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(TokenizeRequest))]
[JsonSerializable(typeof(TokenizeResponse))]
[JsonSerializable(typeof(TokenizeWithPiecesResponse))]
[JsonSerializable(typeof(DetokenizeRequest))]
[JsonSerializable(typeof(DetokenizeResponse))]
[JsonSerializable(typeof(ErrorEnvelope))]
internal sealed partial class OpenAiJson : JsonSerializerContext
{
    /// <summary>The contract with <see cref="Hosting.WireJson.Options"/> (JSON's own escaping only).</summary>
    // Built on first use: static initializers of the generated partial (Default) have no order relative to this file's.
    public static OpenAiJson Wire => s_wire ??= new(Hosting.WireJson.Options());

    static OpenAiJson? s_wire;
}

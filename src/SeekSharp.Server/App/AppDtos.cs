using System.Text.Json.Serialization;

namespace SeekSharp.Server.App;

// The chat app's own API (/app/api/…): camelCase, as the page's JavaScript reads it. Exports use OpenAI's message shape
// (snake_case reasoning_content) so that they load into other tools.

internal sealed record AppInfo(string Model, IReadOnlyList<string> Models, int ContextLength, bool Reasons, AppSettings Defaults);

/// <summary>A conversation's generation settings; null: the model's default.</summary>
internal sealed record AppSettings
{
    public string? Model { get; init; }
    public string? SystemPrompt { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? MaxTokens { get; init; }
}

internal sealed record ConversationDto(string Id, string Title, AppSettings Settings, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static ConversationDto Of(ConversationRow c) => new(c.Id, c.Title,
        new AppSettings { Model = c.Model, SystemPrompt = c.SystemPrompt, Temperature = c.Temperature, TopP = c.TopP, MaxTokens = c.MaxTokens },
        c.CreatedAt, c.UpdatedAt);
}

internal sealed record MessageDto(string Id, int Position, string Role, string Content, string? Reasoning, string Status,
    int? PromptTokens, int? CompletionTokens, double? ReasoningSeconds, double? TokensPerSecond, DateTimeOffset CreatedAt)
{
    public static MessageDto Of(MessageRow m) => new(m.Id, m.Position, m.Role, m.Content, m.Reasoning, m.Status,
        m.PromptTokens, m.CompletionTokens, m.ReasoningSeconds, m.TokensPerSecond, m.CreatedAt);
}

internal sealed record ConversationDetail(ConversationDto Conversation, IReadOnlyList<MessageDto> Messages);

internal sealed record CreateConversationRequest
{
    public string? Title { get; init; }
    public AppSettings? Settings { get; init; }
}

/// <summary>A rename and/or new settings; <see cref="ResetSettings"/> replaces every setting by the ones given (absent: default).</summary>
internal sealed record UpdateConversationRequest
{
    public string? Title { get; init; }
    public AppSettings? Settings { get; init; }
    public bool? ResetSettings { get; init; }
}

internal sealed record SendRequest
{
    public string? Content { get; init; }
}

/// <summary>One server-sent event of an answer: start (the answer's row), reasoning / content (text deltas), done (the final row), error.</summary>
internal sealed record AnswerEvent(string Type)
{
    public string? Text { get; init; }
    public MessageDto? Message { get; init; }
    public string? Error { get; init; }
}

/// <summary>A conversation as exported and imported: its title, settings and messages in OpenAI's shape.</summary>
internal sealed record ExportedConversation
{
    public string? Title { get; init; }
    public AppSettings? Settings { get; init; }
    public List<ExportedMessage>? Messages { get; init; }
}

internal sealed record ExportedMessage
{
    [JsonPropertyName("role")] public string? Role { get; init; }
    [JsonPropertyName("content")] public string? Content { get; init; }
    [JsonPropertyName("reasoning_content")] public string? ReasoningContent { get; init; }
}

internal sealed record ImportRequest
{
    /// <summary>Several conversations (an export of all); or leave out and send one conversation's fields at the top level.</summary>
    public List<ExportedConversation>? Conversations { get; init; }
    public string? Title { get; init; }
    public AppSettings? Settings { get; init; }
    public List<ExportedMessage>? Messages { get; init; }
}

internal sealed record ImportResult(IReadOnlyList<ConversationDto> Imported);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AppInfo))]
[JsonSerializable(typeof(List<ConversationDto>))]
[JsonSerializable(typeof(ConversationDto))]
[JsonSerializable(typeof(ConversationDetail))]
[JsonSerializable(typeof(CreateConversationRequest))]
[JsonSerializable(typeof(UpdateConversationRequest))]
[JsonSerializable(typeof(SendRequest))]
[JsonSerializable(typeof(AnswerEvent))]
[JsonSerializable(typeof(ExportedConversation))]
[JsonSerializable(typeof(ImportRequest))]
[JsonSerializable(typeof(ImportResult))]
internal sealed partial class AppJson : JsonSerializerContext
{
    /// <summary>The contract with JSON's own escaping only (answers hold "&lt;", "+" and code as written).</summary>
    public static AppJson Wire => s_wire ??= new(new System.Text.Json.JsonSerializerOptions
    {
        PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    static AppJson? s_wire;
}

using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using SeekSharp.Inference.Sampling;
using SeekSharp.Models;
using SeekSharp.Serving;
using AI = Microsoft.Extensions.AI;

namespace SeekSharp.Chat;

/// <summary>
/// <see cref="IChatClient"/> over a local model, for in-process use with Microsoft.Extensions.AI. Reasoning arrives as
/// <see cref="TextReasoningContent"/>, the answer as <see cref="TextContent"/>, and the last update carries usage and the finish reason.
/// Concurrent requests run together in one <see cref="Scheduler"/> (continuous batching), whose prefix cache makes
/// follow-up turns and shared system prompts cheap.
/// </summary>
public sealed class LocalChatClient : IChatClient
{
    private readonly ChatModel _chat;
    private readonly Scheduler _scheduler;
    private readonly bool _ownsModel;

    /// <summary>Wraps <paramref name="model"/>; the client disposes it only when <paramref name="ownsModel"/> is true.</summary>
    /// <param name="model">The model.</param>
    /// <param name="contextLength">Positions per conversation; 0 for the model's (at most 4096).</param>
    /// <param name="templateOverride">Jinja source to use instead of the model's chat template.</param>
    /// <param name="ownsModel">Dispose the model with the client.</param>
    /// <param name="parallel">Requests evaluated together; more wait for a free slot.</param>
    public LocalChatClient(Model model, int contextLength = 0, string? templateOverride = null, bool ownsModel = false, int parallel = 4)
    {
        _chat = new ChatModel(model, templateOverride);
        _scheduler = new Scheduler(model, new SchedulerOptions { ContextLength = contextLength, Parallel = parallel });
        _ownsModel = ownsModel;
        ModelId = _chat.Name;
    }

    /// <summary>The name reported as the model id.</summary>
    public string ModelId { get; }

    /// <inheritdoc/>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<AI.ChatMessage> messages, ChatOptions? options = null,
                                                     CancellationToken cancellationToken = default)
        => await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc/>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<AI.ChatMessage> messages, ChatOptions? options = null,
                                                                               [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var conversation = ToEngineMessages(messages, options);
        var generation = ToGenerationOptions(options);
        string responseId = Guid.NewGuid().ToString("N");
        var prepared = _chat.Prepare(conversation, generation, _scheduler.ContextLength);
        using var stream = _scheduler.Submit(prepared.Request, cancellationToken);
        await foreach (var e in stream.ConfigureAwait(false))
        {
            ChatResponseUpdate Update() => new() { Role = ChatRole.Assistant, ResponseId = responseId, MessageId = responseId, ModelId = ModelId, CreatedAt = DateTimeOffset.UtcNow };
            // A cancelled stream ends at once: not even the text the decoder still held comes after the cancel.
            if (e.FinishReason == FinishReason.Cancelled) cancellationToken.ThrowIfCancellationRequested();
            if (e.Reasoning.Length > 0) { var u = Update(); u.Contents.Add(new TextReasoningContent(e.Reasoning)); yield return u; }
            if (e.Content.Length > 0) { var u = Update(); u.Contents.Add(new TextContent(e.Content)); yield return u; }
            if (e.Kind != GenerationEventKind.Final) continue;
            var final = Update();
            final.FinishReason = e.FinishReason == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop;
            var usage = e.Usage!;
            final.Contents.Add(new UsageContent(new UsageDetails
            {
                InputTokenCount = usage.PromptTokens,
                OutputTokenCount = usage.CompletionTokens,
                TotalTokenCount = usage.TotalTokens,
                CachedInputTokenCount = usage.CachedTokens,
                ReasoningTokenCount = usage.ReasoningTokens,
            }));
            yield return final;
        }
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return new ChatClientMetadata("seeksharp", null, ModelId);
        return serviceType.IsInstanceOfType(this) ? this : serviceType.IsInstanceOfType(_chat.Model) ? _chat.Model
            : serviceType.IsInstanceOfType(_scheduler) ? _scheduler : null;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _scheduler.Dispose();
        if (_ownsModel) _chat.Model.Dispose();
    }

    private ChatGenerationOptions ToGenerationOptions(ChatOptions? o)
    {
        var s = _chat.DefaultSampling;
        if (o is null) return new ChatGenerationOptions { Sampling = s };
        s = s with
        {
            Temperature = o.Temperature ?? s.Temperature,
            TopP = o.TopP ?? s.TopP,
            TopK = o.TopK ?? s.TopK,
            Seed = o.Seed is long seed ? unchecked((int)seed) : s.Seed,
            FrequencyPenalty = o.FrequencyPenalty ?? s.FrequencyPenalty,
            PresencePenalty = o.PresencePenalty ?? s.PresencePenalty,
        };
        return new ChatGenerationOptions
        {
            Sampling = s,
            MaxTokens = o.MaxOutputTokens,
            StopSequences = o.StopSequences?.ToArray() ?? [],
            AnswerJson = ToGrammar(o.ResponseFormat),
        };
    }

    // ChatResponseFormat.Json (GetResponseAsync<T> sends its type's schema) as the server's response_format: the answer
    // after the thinking is JSON of the schema, or any JSON object without one.
    private static JsonGrammar? ToGrammar(ChatResponseFormat? format) => format switch
    {
        ChatResponseFormatJson { Schema: { } schema } => JsonGrammar.FromSchema(schema),
        ChatResponseFormatJson => JsonGrammar.AnyObject(),
        _ => null,
    };

    private static List<ChatMessage> ToEngineMessages(IEnumerable<AI.ChatMessage> messages, ChatOptions? options)
    {
        var result = new List<ChatMessage>();
        if (!string.IsNullOrEmpty(options?.Instructions)) result.Add(ChatMessage.System(options.Instructions));
        foreach (var m in messages)
        {
            var text = new StringBuilder();
            var reasoning = new StringBuilder();
            var calls = new List<ToolCall>();
            foreach (var c in m.Contents)
            {
                switch (c)
                {
                    case TextContent t: text.Append(t.Text); break;
                    case TextReasoningContent r: reasoning.Append(r.Text); break;
                    case FunctionCallContent f:
                        calls.Add(new ToolCall(f.CallId, f.Name, JsonSerializer.Serialize(f.Arguments ?? new Dictionary<string, object?>())));
                        break;
                    case FunctionResultContent r:
                        result.Add(new ChatMessage("tool", r.Result as string ?? JsonSerializer.Serialize(r.Result)) { ToolCallId = r.CallId });
                        break;
                }
            }
            if (text.Length == 0 && reasoning.Length == 0 && calls.Count == 0) continue;
            result.Add(new ChatMessage(m.Role.Value, text.ToString())
            {
                ReasoningContent = reasoning.Length > 0 ? reasoning.ToString() : null,
                ToolCalls = calls.Count > 0 ? calls : null,
                Name = m.AuthorName,
            });
        }
        return result;
    }
}

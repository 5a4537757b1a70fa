using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using SeekSharp.Inference.Sampling;
using SeekSharp.Models;
using AI = Microsoft.Extensions.AI;

namespace SeekSharp.Chat;

/// <summary>
/// <see cref="IChatClient"/> over a local model, for in-process use with Microsoft.Extensions.AI. Reasoning arrives as
/// <see cref="TextReasoningContent"/>, the answer as <see cref="TextContent"/>, and the last update carries usage and the finish reason.
/// Requests are served one at a time (they share one KV cache, which makes follow-up turns cheap).
/// </summary>
public sealed class LocalChatClient : IChatClient
{
    private readonly ChatSession _session;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly bool _ownsModel;

    /// <summary>Wraps <paramref name="model"/>; the client disposes it only when <paramref name="ownsModel"/> is true.</summary>
    public LocalChatClient(Model model, int contextLength = 0, string? templateOverride = null, bool ownsModel = false)
    {
        _session = new ChatSession(model, contextLength, templateOverride);
        _ownsModel = ownsModel;
        ModelId = model.File.GetStringOrNull("general.name") ?? Path.GetFileNameWithoutExtension(model.File.Path);
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
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await foreach (var u in _session.StreamAsync(conversation, generation, cancellationToken).ConfigureAwait(false))
            {
                var update = new ChatResponseUpdate { Role = ChatRole.Assistant, ResponseId = responseId, MessageId = responseId, ModelId = ModelId, CreatedAt = DateTimeOffset.UtcNow };
                switch (u.Kind)
                {
                    case ChatUpdateKind.Reasoning: update.Contents.Add(new TextReasoningContent(u.Text)); break;
                    case ChatUpdateKind.Content: update.Contents.Add(new TextContent(u.Text)); break;
                    default:
                        if (u.FinishReason == FinishReason.Cancelled) cancellationToken.ThrowIfCancellationRequested();
                        update.FinishReason = u.FinishReason == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop;
                        var usage = u.Usage!;
                        update.Contents.Add(new UsageContent(new UsageDetails
                        {
                            InputTokenCount = usage.PromptTokens,
                            OutputTokenCount = usage.CompletionTokens,
                            TotalTokenCount = usage.TotalTokens,
                            CachedInputTokenCount = usage.CachedPromptTokens,
                            ReasoningTokenCount = usage.ReasoningTokens,
                        }));
                        break;
                }
                yield return update;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return new ChatClientMetadata("seeksharp", null, ModelId);
        return serviceType.IsInstanceOfType(this) ? this : serviceType.IsInstanceOfType(_session.Model) ? _session.Model : null;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _session.Dispose();
        _gate.Dispose();
        if (_ownsModel) _session.Model.Dispose();
    }

    private ChatGenerationOptions ToGenerationOptions(ChatOptions? o)
    {
        var s = _session.DefaultSampling;
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
        };
    }

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

using System.Runtime.CompilerServices;
using SeekSharp.Inference.Sampling;
using SeekSharp.Models;
using SeekSharp.Serving;

namespace SeekSharp.Chat;

/// <summary>
/// Chats with a local model: each request renders the whole conversation with the model's template and runs it through
/// the session's own <see cref="Scheduler"/>, whose prefix cache keeps the keys and values of earlier turns (so a
/// follow-up turn evaluates only the new text), and streams reasoning and answer apart.
/// </summary>
public sealed class ChatSession : IDisposable
{
    private readonly Scheduler _scheduler;
    private readonly ChatModel _chat;

    /// <summary>Creates a session over <paramref name="model"/> with its own context.</summary>
    /// <param name="model">The model.</param>
    /// <param name="contextLength">Context length; 0 for the model's (at most 4096).</param>
    /// <param name="templateOverride">Jinja source to use instead of the model's <c>tokenizer.chat_template</c>.</param>
    public ChatSession(Model model, int contextLength = 0, string? templateOverride = null)
    {
        Model = model;
        _chat = new ChatModel(model, templateOverride);
        // One conversation at a time; the prefix cache keeps each turn's pages for the next turn to start from.
        _scheduler = new Scheduler(model, new SchedulerOptions { ContextLength = contextLength, Parallel = 1 });
    }

    /// <summary>The model.</summary>
    public Model Model { get; }
    /// <summary>Renders and tokenizes prompts.</summary>
    public ChatPromptFormatter Formatter => _chat.Formatter;
    /// <summary>Context length in tokens.</summary>
    public int ContextLength => _scheduler.ContextLength;

    /// <summary>
    /// True when the model is a DeepSeek-R1 (or R1 distill), by its name or template; DeepSeek advises temperature 0.6,
    /// top-p 0.95 and no system prompt for these.
    /// </summary>
    public bool IsR1 => _chat.IsR1;

    /// <summary>Sampling defaults for this model: DeepSeek's advice for R1, llama.cpp's otherwise.</summary>
    public SamplingOptions DefaultSampling => _chat.DefaultSampling;

    /// <summary>Forgets the cached conversation (the next turn evaluates its whole prompt).</summary>
    public void Reset() => _scheduler.ClearPrefixCache();

    /// <summary>Streams the assistant's reply to <paramref name="messages"/>: reasoning and content deltas, then a final update.</summary>
    public async IAsyncEnumerable<ChatUpdate> StreamAsync(IReadOnlyList<ChatMessage> messages, ChatGenerationOptions? options = null,
                                                         [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        options ??= new ChatGenerationOptions();
        var prepared = _chat.Prepare(messages, options, ContextLength);
        using var stream = _scheduler.Submit(prepared.Request, cancellationToken);
        await foreach (var e in stream.ConfigureAwait(false))
        {
            if (e.Reasoning.Length > 0) yield return new ChatUpdate(ChatUpdateKind.Reasoning, e.Reasoning);
            if (e.Content.Length > 0) yield return new ChatUpdate(ChatUpdateKind.Content, e.Content);
            if (e.Kind != GenerationEventKind.Final) continue;
            var u = e.Usage!;
            var t = e.Timings!;
            yield return new ChatUpdate(ChatUpdateKind.Final, "")
            {
                FinishReason = e.FinishReason,
                Usage = new ChatUsage(u.PromptTokens, u.CachedTokens, u.CompletionTokens, u.ReasoningTokens),
                Timings = new ChatTimings(t.PromptEvaluation, t.Generation, t.Reasoning),
            };
        }
    }

    /// <summary>Runs <see cref="StreamAsync"/> to the end and returns the whole reply.</summary>
    public async Task<ChatReply> CompleteAsync(IReadOnlyList<ChatMessage> messages, ChatGenerationOptions? options = null,
                                               CancellationToken cancellationToken = default)
    {
        var reasoning = new System.Text.StringBuilder();
        var content = new System.Text.StringBuilder();
        ChatUpdate? final = null;
        await foreach (var u in StreamAsync(messages, options, cancellationToken))
        {
            switch (u.Kind)
            {
                case ChatUpdateKind.Reasoning: reasoning.Append(u.Text); break;
                case ChatUpdateKind.Content: content.Append(u.Text); break;
                default: final = u; break;
            }
        }
        return new ChatReply(reasoning.Length > 0 ? reasoning.ToString() : null, content.ToString(),
                             final!.FinishReason!.Value, final.Usage!, final.Timings!);
    }

    /// <inheritdoc/>
    public void Dispose() => _scheduler.Dispose();
}

/// <summary>A whole chat reply.</summary>
/// <param name="Reasoning">The thinking, without tags; null when the model did not reason.</param>
/// <param name="Content">The answer.</param>
/// <param name="FinishReason">Why generation stopped.</param>
/// <param name="Usage">Token counts.</param>
/// <param name="Timings">Times.</param>
public sealed record ChatReply(string? Reasoning, string Content, FinishReason FinishReason, ChatUsage Usage, ChatTimings Timings);

using System.Diagnostics;
using System.Runtime.CompilerServices;
using SeekSharp.Chat.Reasoning;
using SeekSharp.Inference;
using SeekSharp.Inference.Sampling;
using SeekSharp.Models;

namespace SeekSharp.Chat;

/// <summary>
/// Chats with a local model: each request renders the whole conversation with the model's template, reuses the keys and
/// values of the prefix it shares with what the cache already holds (so a follow-up turn evaluates only the new text),
/// generates, and streams reasoning and answer apart.
/// One request at a time; the KV cache is this session's own.
/// </summary>
public sealed class ChatSession : IDisposable
{
    private readonly InferenceContext _context;
    private readonly List<int> _cached = []; // tokens whose keys and values sequence 0 of the cache holds, in order

    /// <summary>Creates a session over <paramref name="model"/> with its own context.</summary>
    /// <param name="model">The model.</param>
    /// <param name="contextLength">Context length; 0 for the model's (at most 4096).</param>
    /// <param name="templateOverride">Jinja source to use instead of the model's <c>tokenizer.chat_template</c>.</param>
    public ChatSession(Model model, int contextLength = 0, string? templateOverride = null)
    {
        Model = model;
        string template = templateOverride ?? model.File.GetStringOrNull("tokenizer.chat_template")
            ?? throw new ModelLoadException(model.File.Path, "the model has no chat template (tokenizer.chat_template); give one with --template FILE");
        Formatter = new ChatPromptFormatter(template, model.Tokenizer);
        _context = model.CreateContext(new ContextOptions { ContextLength = contextLength });
    }

    /// <summary>The model.</summary>
    public Model Model { get; }
    /// <summary>Renders and tokenizes prompts.</summary>
    public ChatPromptFormatter Formatter { get; }
    /// <summary>Context length in tokens.</summary>
    public int ContextLength => _context.ContextLength;

    /// <summary>
    /// True when the model is a DeepSeek-R1 (or R1 distill), by its name or template; DeepSeek advises temperature 0.6,
    /// top-p 0.95 and no system prompt for these.
    /// </summary>
    public bool IsR1 =>
        (Model.File.GetStringOrNull("general.name") ?? Path.GetFileName(Model.File.Path)).Contains("R1", StringComparison.OrdinalIgnoreCase)
        || Formatter.TemplateSource.Contains("<｜Assistant｜><think>", StringComparison.Ordinal);

    /// <summary>Sampling defaults for this model: DeepSeek's advice for R1, llama.cpp's otherwise.</summary>
    public SamplingOptions DefaultSampling => IsR1 ? new SamplingOptions { Temperature = 0.6f, TopP = 0.95f } : new SamplingOptions();

    /// <summary>Forgets the cached conversation.</summary>
    public void Reset()
    {
        _context.Cache.Clear(0);
        _cached.Clear();
    }

    /// <summary>Streams the assistant's reply to <paramref name="messages"/>: reasoning and content deltas, then a final update.</summary>
    public async IAsyncEnumerable<ChatUpdate> StreamAsync(IReadOnlyList<ChatMessage> messages, ChatGenerationOptions? options = null,
                                                         [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        options ??= new ChatGenerationOptions();
        var (prompt, tokens) = RenderFitting(messages, options);

        var clock = Stopwatch.StartNew();
        int reused = Reuse(tokens);
        _context.Prefill(tokens.AsSpan(reused), start: reused);
        _cached.Clear();
        _cached.AddRange(tokens);
        var promptTime = clock.Elapsed;
        await Task.Yield();

        var format = Formatter.Reasons ? ReasoningFormat.ThinkTags : ReasoningFormat.None;
        var parser = new ReasoningParser(format, ReasoningParser.PromptOpensReasoning(prompt, format));
        var deltas = new List<ReasoningDelta>();
        var stops = new StopSequenceFilter(options.StopSequences);
        var sampler = new Sampler(options.Sampling, Model.Config.VocabSize);
        foreach (int t in tokens) sampler.Accept(t);
        var decoder = Model.Tokenizer.CreateStreamingDecoder();
        var batch = new Batch(1);

        int generated = 0, reasoningTokens = 0;
        TimeSpan reasoningTime = TimeSpan.Zero;
        var finish = FinishReason.Length;
        int limit = options.MaxTokens ?? int.MaxValue;
        var genClock = Stopwatch.StartNew();
        while (generated < limit)
        {
            if (cancellationToken.IsCancellationRequested) { finish = FinishReason.Cancelled; break; }
            int token = sampler.Sample(_context.Logits(0));
            if (Model.Tokenizer.IsEndOfGeneration(token)) { finish = FinishReason.Stop; break; }
            sampler.Accept(token);
            generated++;
            bool wasReasoning = parser.InReasoning;
            if (wasReasoning) reasoningTokens++;

            deltas.Clear();
            parser.Append(decoder.Append(token), deltas);
            foreach (var update in Route(deltas, stops))
                yield return update;
            if (wasReasoning && !parser.InReasoning) reasoningTime = genClock.Elapsed;
            if (stops.Stopped) { finish = FinishReason.Stop; break; }

            if (_cached.Count >= _context.ContextLength) { finish = FinishReason.Length; break; }
            batch.Clear();
            batch.Add(token, _cached.Count, 0, wantLogits: true);
            _context.Decode(batch);
            _cached.Add(token);
            await Task.Yield();
        }
        if (parser.InReasoning) reasoningTime = genClock.Elapsed;

        deltas.Clear();
        parser.Append(decoder.Flush(), deltas);
        parser.Finish(deltas);
        var tail = new List<ChatUpdate>(Route(deltas, stops));
        string held = stops.Flush();
        if (held.Length > 0) tail.Add(new ChatUpdate(ChatUpdateKind.Content, held));
        foreach (var update in tail) yield return update;

        yield return new ChatUpdate(ChatUpdateKind.Final, "")
        {
            FinishReason = finish,
            Usage = new ChatUsage(tokens.Length, reused, generated, reasoningTokens),
            Timings = new ChatTimings(promptTime, genClock.Elapsed, reasoningTime),
        };
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

    // Keeps the longest cached prefix of the new prompt (at least one token is evaluated, for its logits).
    private int Reuse(int[] tokens)
    {
        int common = 0;
        int max = Math.Min(_cached.Count, tokens.Length - 1);
        while (common < max && _cached[common] == tokens[common]) common++;
        _context.Cache.Truncate(0, Math.Min(common, _context.Cache.Length(0)));
        return _context.Cache.Length(0);
    }

    private (string Prompt, int[] Tokens) RenderFitting(IReadOnlyList<ChatMessage> messages, ChatGenerationOptions options)
    {
        var kept = messages.ToList();
        while (true)
        {
            string prompt = Formatter.Render(kept, addGenerationPrompt: true, options.ToolsJson, options.TemplateVariables);
            int[] tokens = Formatter.Tokenize(prompt);
            if (tokens.Length < _context.ContextLength) return (prompt, tokens); // room for one generated token at least
            int oldest = kept.FindIndex(m => m.Role != "system");
            bool canDrop = options.Overflow == ContextOverflowPolicy.DropOldestTurns && oldest >= 0 && kept.Count(m => m.Role != "system") > 1;
            if (!canDrop) throw new ContextOverflowException(tokens.Length + 1, _context.ContextLength);
            kept.RemoveAt(oldest);
            // A tool result or assistant turn cannot open a conversation: drop up to the next user message.
            while (oldest < kept.Count - 1 && kept[oldest].Role is "assistant" or "tool") kept.RemoveAt(oldest);
        }
    }

    private static IEnumerable<ChatUpdate> Route(IEnumerable<ReasoningDelta> deltas, StopSequenceFilter stops)
    {
        foreach (var d in deltas)
        {
            if (d.Kind == ReasoningKind.Reasoning)
            {
                if (d.Text.Length > 0) yield return new ChatUpdate(ChatUpdateKind.Reasoning, d.Text);
                continue;
            }
            string text = stops.Append(d.Text);
            if (text.Length > 0) yield return new ChatUpdate(ChatUpdateKind.Content, text);
            if (stops.Stopped) yield break;
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _context.Dispose();
}

/// <summary>A whole chat reply.</summary>
/// <param name="Reasoning">The thinking, without tags; null when the model did not reason.</param>
/// <param name="Content">The answer.</param>
/// <param name="FinishReason">Why generation stopped.</param>
/// <param name="Usage">Token counts.</param>
/// <param name="Timings">Times.</param>
public sealed record ChatReply(string? Reasoning, string Content, FinishReason FinishReason, ChatUsage Usage, ChatTimings Timings);

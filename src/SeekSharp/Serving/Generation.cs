using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;
using SeekSharp.Chat;
using SeekSharp.Chat.Reasoning;
using SeekSharp.Inference.Sampling;
using SeekSharp.Tokenization;

namespace SeekSharp.Serving;

/// <summary>
/// One request in the scheduler: its tokens so far (prompt, then generated), where they are in the KV cache, and what
/// turns logits into events — sampler, streaming decoder, reasoning parser, stop filter and limits. The scheduler's
/// worker alone touches it, except for <see cref="Cancel"/>.
/// </summary>
internal sealed class Generation
{
    private readonly Sampler _sampler;
    private readonly StreamingDecoder _decoder;
    private readonly ReasoningParser _parser;
    private readonly StopSequenceFilter _stops;
    private readonly Tokenizer _tokenizer;
    private readonly List<ReasoningDelta> _deltas = [];
    private readonly int _limit, _contextLength;
    private readonly Channel<GenerationEvent> _events = Channel.CreateUnbounded<GenerationEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private long _firstToken, _reasoningEnded;
    private volatile bool _cancelRequested;
    // Structured output (Request.AnswerJson): the answer's JSON so far, the vocabulary as a trie, and, while the output
    // may still open thinking, the opening tag and the bytes written towards it.
    private readonly JsonMatcher? _json;
    private readonly TokenTrie? _trie;
    private readonly byte[]? _openTag;
    private readonly List<byte> _opening = [];
    private bool[]? _allowed;

    public Generation(long id, GenerationRequest request, Tokenizer tokenizer, int contextLength)
    {
        Id = id;
        Request = request;
        _tokenizer = tokenizer;
        _contextLength = contextLength;
        _sampler = new Sampler(request.Sampling, tokenizer.VocabSize, request.LogitBias);
        foreach (int t in request.Prompt) _sampler.Accept(t);
        _decoder = tokenizer.CreateStreamingDecoder();
        _parser = new ReasoningParser(request.Reasoning, request.PromptOpensReasoning);
        _stops = new StopSequenceFilter(request.StopSequences);
        _limit = request.MaxTokens ?? int.MaxValue;
        if (request.AnswerJson is { } grammar)
        {
            _json = grammar.CreateMatcher();
            _trie = TokenTrie.For(tokenizer);
            _openTag = request.Reasoning.OpenTag is { } tag ? Encoding.UTF8.GetBytes(tag) : null;
        }
        Tokens = new List<int>(request.Prompt.Length + Math.Min(_limit, 1024));
        Tokens.AddRange(request.Prompt);
        Submitted = Stopwatch.GetTimestamp();
    }

    public long Id { get; }
    public GenerationRequest Request { get; }
    /// <summary>Prompt then generated tokens; all but possibly the last are in the cache once running.</summary>
    public List<int> Tokens { get; }
    /// <summary>The cache sequence it runs in, or -1 while waiting.</summary>
    public int Slot { get; set; } = -1;
    /// <summary>Positions of <see cref="Tokens"/> in the cache.</summary>
    public int Evaluated { get; set; }
    /// <summary>Prompt positions reused from the prefix cache at first admission.</summary>
    public int CachedPromptTokens { get; set; } = -1;
    public int Generated { get; private set; }
    public int ReasoningTokens { get; private set; }
    public long Submitted { get; }
    public long Admitted { get; set; }
    public long PromptDone { get; private set; }
    public bool CancelRequested => _cancelRequested;
    public ChannelReader<GenerationEvent> Events => _events.Reader;

    public void Cancel() => _cancelRequested = true;

    /// <summary>Samples the next token from the logits of the last one and emits it; true when the generation is over
    /// (then <see cref="Finish"/> must follow).</summary>
    public bool Step(ReadOnlySpan<float> logits, out FinishReason finish)
    {
        long now = Stopwatch.GetTimestamp();
        if (_cancelRequested) { finish = FinishReason.Cancelled; return true; } // dropped in the step it is seen
        if (Generated == 0 && _firstToken == 0) { PromptDone = now; _firstToken = now; }
        finish = FinishReason.Length;
        if (Generated >= _limit) return true; // max_tokens 0: the prompt only
        int token = _sampler.Sample(logits);
        if (_json is not null && !_parser.InReasoning && !JsonAllows(token))
        {
            // As llama.cpp applies a grammar: the token sampled freely is kept when the JSON allows it; else the
            // sampler chooses again among the allowed tokens only (the same distribution as masking first).
            var allowed = _allowed ??= new bool[logits.Length];
            Array.Clear(allowed);
            MarkJsonAllowed(allowed);
            if (System.Array.IndexOf(allowed, true) < 0) { finish = FinishReason.Stop; return true; }
            token = _sampler.Sample(logits, allowed);
        }
        bool end = _tokenizer.IsEndOfGeneration(token);
        if (end && !Request.IgnoreEos) { finish = FinishReason.Stop; return true; }

        _sampler.Accept(token);
        Generated++;
        bool reasoning = _parser.InReasoning, mayOpen = _parser.MayOpenReasoning;
        if (reasoning) ReasoningTokens++;
        _deltas.Clear();
        _parser.Append(_decoder.Append(token), _deltas);
        if (_json is not null) AdvanceJson(token, reasoning, mayOpen);
        var (reasoningText, contentText) = Route();
        if (reasoning && !_parser.InReasoning) _reasoningEnded = now;

        var e = new GenerationEvent(GenerationEventKind.Token)
        {
            Token = token, Reasoning = reasoningText, Content = contentText, IsReasoningToken = reasoning,
        };
        if (Request.TopLogprobs >= 0) e = WithLogprobs(e, logits, token, Request.TopLogprobs);
        _events.Writer.TryWrite(e);

        if (_stops.Stopped) { finish = FinishReason.Stop; return true; }
        if (Generated >= _limit) return true;
        if (Tokens.Count >= _contextLength) return true; // no position left to evaluate this token at
        Tokens.Add(token);
        return false;
    }

    /// <summary>Emits the text still held and the final event, and closes the stream.</summary>
    public void Finish(FinishReason finish)
    {
        long now = Stopwatch.GetTimestamp();
        if (_parser.InReasoning && _reasoningEnded == 0) _reasoningEnded = now;
        _deltas.Clear();
        _parser.Append(_decoder.Flush(), _deltas);
        _parser.Finish(_deltas);
        var (reasoningText, contentText) = Route();
        contentText += _stops.Flush();
        double tick = 1.0 / Stopwatch.Frequency;
        TimeSpan Span(long from, long to) => from == 0 || to < from ? TimeSpan.Zero : TimeSpan.FromSeconds((to - from) * tick);
        long admitted = Admitted == 0 ? now : Admitted;
        _events.Writer.TryWrite(new GenerationEvent(GenerationEventKind.Final)
        {
            Reasoning = reasoningText,
            Content = contentText,
            FinishReason = finish,
            Usage = new GenerationUsage(Request.Prompt.Length, Math.Max(0, CachedPromptTokens), Generated, ReasoningTokens),
            Timings = new GenerationTimings(
                Queued: Span(Submitted, admitted),
                PromptEvaluation: Span(admitted, PromptDone == 0 ? now : PromptDone),
                Generation: Span(_firstToken, now),
                Reasoning: Span(_firstToken, _reasoningEnded),
                TimeToFirstToken: Span(Submitted, _firstToken == 0 ? now : _firstToken)),
        });
        _events.Writer.TryComplete();
    }

    // ---- Structured output ----

    private enum TagPath { None, Tag, InsideTag }

    private static ReadOnlySpan<byte> Whitespace => " \t\n\r\v\f"u8;   // the reasoning parser's (C's isspace)

    // The output has begun the opening tag (more than whitespace was written towards it).
    private bool OpeningStarted => !CollectionsMarshal.AsSpan(_opening).TrimStart(Whitespace).IsEmpty;

    // Whether the token's text, after what was written at the start, goes towards (or past) the opening thinking tag.
    private TagPath ToTag(ReadOnlySpan<byte> piece, bool mayOpen)
    {
        if (_openTag is null || !mayOpen) return TagPath.None;
        var text = new byte[_opening.Count + piece.Length];
        _opening.CopyTo(text);
        piece.CopyTo(text.AsSpan(_opening.Count));
        var g = text.AsSpan().TrimStart(Whitespace);
        if (g.IsEmpty) return TagPath.None;
        if (_openTag.AsSpan().StartsWith(g) || g.StartsWith(_openTag)) return TagPath.Tag;
        return OpeningStarted ? TagPath.InsideTag : TagPath.None;
    }

    private bool JsonAllows(int token)
    {
        if (_tokenizer.IsEndOfGeneration(token)) return _json!.IsComplete;
        var piece = _tokenizer.Piece(token, renderSpecial: false);
        if (piece.IsEmpty) return false;
        return ToTag(piece, _parser.MayOpenReasoning) switch
        {
            TagPath.Tag => true,
            TagPath.InsideTag => false,
            _ => _json!.Accepts(piece),
        };
    }

    private void MarkJsonAllowed(bool[] allowed)
    {
        bool mayOpen = _openTag is not null && _parser.MayOpenReasoning, insideTag = mayOpen && OpeningStarted;
        if (!insideTag) _trie!.MarkAccepted(_json!.Current, allowed);
        if (mayOpen)
        {
            // Only at the start of an output that may still open thinking: the tokens towards the opening tag.
            for (int id = 0; id < allowed.Length; id++)
            {
                var piece = _tokenizer.Piece(id, renderSpecial: false);
                // A token without text (a control token) writes nothing towards the tag, as JsonAllows refuses it.
                if (!allowed[id] && !piece.IsEmpty) allowed[id] = ToTag(piece, mayOpen: true) == TagPath.Tag;
            }
        }
        foreach (int id in _tokenizer.EndOfGenerationIds) allowed[id] = _json!.IsComplete && !insideTag;
    }

    // Moves the JSON past what this token added to the answer.
    private void AdvanceJson(int token, bool wasReasoning, bool mayOpen)
    {
        if (wasReasoning)
        {
            // Thinking ended in this token: whatever answer text came after the closing tag starts the JSON.
            if (!_parser.InReasoning)
            {
                foreach (var d in _deltas)
                    if (d.Kind == ReasoningKind.Content) _json!.TryAccept(Encoding.UTF8.GetBytes(d.Text));
            }
            return;
        }
        var piece = _tokenizer.Piece(token, renderSpecial: false);
        if (ToTag(piece, mayOpen) == TagPath.Tag) _opening.AddRange(piece);   // towards the opening tag, not the JSON
        else _json!.TryAccept(piece);
    }

    /// <summary>Ends the stream with an error (the reader's enumeration throws it).</summary>
    public void Fail(Exception error) => _events.Writer.TryComplete(error);

    private (string Reasoning, string Content) Route()
    {
        StringBuilder? reasoning = null, content = null;
        foreach (var d in _deltas)
        {
            if (d.Kind == ReasoningKind.Reasoning) (reasoning ??= new()).Append(d.Text);
            else if (!_stops.Stopped) (content ??= new()).Append(_stops.Append(d.Text));
        }
        return (reasoning?.ToString() ?? "", content?.ToString() ?? "");
    }

    // Log-probabilities under the model itself: log-softmax of the raw logits (vLLM's default, before penalties and temperature).
    private static GenerationEvent WithLogprobs(GenerationEvent e, ReadOnlySpan<float> logits, int token, int top)
    {
        float max = float.NegativeInfinity;
        foreach (float l in logits) max = MathF.Max(max, l);
        double sum = 0;
        foreach (float l in logits) sum += Math.Exp(l - max);
        float logZ = max + (float)Math.Log(sum);
        TokenLogprob[]? best = null;
        if (top > 0)
        {
            // The top N by insertion into a small sorted array: N ≤ 20, one pass over the vocabulary.
            best = new TokenLogprob[Math.Min(top, logits.Length)];
            int filled = 0;
            for (int i = 0; i < logits.Length; i++)
            {
                float l = logits[i];
                if (filled == best.Length && l <= best[filled - 1].Logprob) continue;
                int at = filled < best.Length ? filled++ : filled - 1;
                while (at > 0 && best[at - 1].Logprob < l) { best[at] = best[at - 1]; at--; }
                best[at] = new TokenLogprob(i, l);
            }
            for (int i = 0; i < best.Length; i++) best[i] = best[i] with { Logprob = best[i].Logprob - logZ };
        }
        return e with { Logprob = logits[token] - logZ, TopLogprobs = best };
    }
}

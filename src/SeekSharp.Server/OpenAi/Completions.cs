using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using SeekSharp.Chat;
using SeekSharp.Chat.Reasoning;
using SeekSharp.Inference.Sampling;
using SeekSharp.Server.Hosting;
using SeekSharp.Serving;

namespace SeekSharp.Server.OpenAi;

/// <summary>POST /v1/completions: raw text in, raw text out (no chat template, no reasoning split).</summary>
internal static partial class OpenAiEndpoints
{
    /// <summary>OpenAI's documented default of max_tokens for /v1/completions (vLLM uses it too).</summary>
    const int CompletionsDefaultMaxTokens = 16;

    static async Task CompletionsAsync(HttpContext http, ServerState state)
    {
        var request = await JsonBody.ReadAsync(http, OpenAiJson.Wire.CompletionRequest);
        var model = state.Host.Require(request.Model);
        var prompts = Prompts(request.Prompt, model);
        int maxTokens = Generation.MaxTokens(request.MaxTokens, "max_tokens") ?? CompletionsDefaultMaxTokens;
        int n = Generation.Count(request.N);
        if (request.Logprobs is < 0 or > 5) throw ApiException.BadRequest($"'logprobs' must be between 0 and 5, got {request.Logprobs}", "logprobs");
        var fields = new SamplingFields(request.Temperature, request.TopP, request.TopK, request.MinP, request.RepeatPenalty ?? request.RepetitionPenalty,
            request.PresencePenalty, request.FrequencyPenalty, request.Seed);
        var defaults = model.Chat?.DefaultSampling ?? new SamplingOptions();
        var stop = Generation.Strings(request.Stop, "stop");
        var bias = Generation.LogitBias(request.LogitBias, model.Model.Tokenizer.VocabSize);
        var json = Generation.ResponseFormat(request.ResponseFormat);
        // Choice index = prompt index × n + sample index, as OpenAI numbers a batch of prompts.
        var requests = prompts.SelectMany(p => Enumerable.Range(0, n).Select(i => new GenerationRequest
        {
            Prompt = p.Tokens,
            Sampling = fields.Apply(defaults, i, FieldName),
            MaxTokens = maxTokens,
            StopSequences = stop,
            Reasoning = ReasoningFormat.None,
            TopLogprobs = request.Logprobs ?? -1,
            LogitBias = bias,
            IgnoreEos = request.IgnoreEos ?? false,
            AnswerJson = json,
        })).ToList();
        var echo = prompts.SelectMany(p => Enumerable.Repeat(request.Echo == true ? p.Text : "", n)).ToList();

        var streams = Generation.SubmitAll(model, requests, http.RequestAborted);
        try
        {
            string id = NewId("cmpl-");
            long created = Now();
            var events = streams.Select(s => Generation.Read(s, state.Metrics, http, logUsage: ReferenceEquals(s, streams[0]))).ToList();
            if (request.Stream == true)
                await StreamCompletionAsync(http, model, id, created, events, echo, request.Logprobs is not null, request.StreamOptions?.IncludeUsage == true,
                    state.Options.KeepAliveInterval);
            else
                await CompleteAsync(http, model, id, created, events, echo, request.Logprobs is not null);
        }
        finally
        {
            foreach (var s in streams) s.Dispose();
        }
    }

    static async Task CompleteAsync(HttpContext http, ServedModel model, string id, long created, List<IAsyncEnumerable<GenerationEvent>> events,
        List<string> echo, bool logprobs)
    {
        var choices = await Task.WhenAll(events.Select(async (source, index) =>
        {
            var text = new StringBuilder(echo[index]);
            var lp = logprobs ? new LegacyLogprobs(model, echo[index].Length) : null;
            GenerationEvent? final = null;
            await foreach (var e in source.WithCancellation(http.RequestAborted))
            {
                text.Append(e.Content);
                if (e.Kind == GenerationEventKind.Token) lp?.Add(e);
                else final = e;
            }
            return (index, text: text.ToString(), lp, final);
        }));
        http.RequestAborted.ThrowIfCancellationRequested();
        if (choices.Any(c => c.final?.FinishReason is null or FinishReason.Cancelled)) throw ShuttingDown();
        var response = new CompletionResponse(id, created, model.Id,
            choices.Select(c => new CompletionChoice(c.index, c.text) { FinishReason = FinishReasonText(c.final!.FinishReason), Logprobs = c.lp?.Result }).ToList())
        {
            Usage = UsageOf(choices.Select(c => c.final!.Usage).ToList()),
        };
        await WriteJsonAsync(http, response, OpenAiJson.Wire.CompletionResponse);
    }

    static async Task StreamCompletionAsync(HttpContext http, ServedModel model, string id, long created, List<IAsyncEnumerable<GenerationEvent>> events,
        List<string> echo, bool logprobs, bool includeUsage, TimeSpan keepAlive)
    {
        await using var writer = await EventWriter.StartSseAsync(http.Response, keepAlive);
        var usages = new GenerationUsage?[events.Count];
        var echoed = new bool[events.Count];
        Task Write(int index, string text, string? finish = null, CompletionLogprobs? lp = null) => writer.WriteAsync(
            new CompletionResponse(id, created, model.Id, [new CompletionChoice(index, text) { FinishReason = finish, Logprobs = lp }]),
            OpenAiJson.Wire.CompletionResponse);
        try
        {
            await foreach (var (index, e) in Generation.Merge(events, http.RequestAborted))
            {
                string prefix = "";
                if (!echoed[index]) { echoed[index] = true; prefix = echo[index]; }
                if (e.Kind == GenerationEventKind.Token)
                {
                    CompletionLogprobs? lp = null;
                    if (logprobs) { var one = new LegacyLogprobs(model, 0); one.Add(e); lp = one.Result; }
                    if (prefix.Length > 0 || e.Content.Length > 0 || lp is not null) await Write(index, prefix + e.Content, lp: lp);
                    continue;
                }
                if (e.FinishReason is null or FinishReason.Cancelled)
                {
                    http.RequestAborted.ThrowIfCancellationRequested();
                    throw ShuttingDown();
                }
                usages[index] = e.Usage;
                await Write(index, prefix + e.Content, FinishReasonText(e.FinishReason));
            }
            if (includeUsage)
                await writer.WriteAsync(new CompletionResponse(id, created, model.Id, []) { Usage = UsageOf(usages) }, OpenAiJson.Wire.CompletionResponse);
            await writer.WriteDoneAsync();
        }
        catch (Exception e) when (!http.RequestAborted.IsCancellationRequested)
        {
            var error = e as ApiException ?? new ApiException(500, $"generation failed: {e.Message}", "server_error");
            RequestLog.Of(http).Status = error.Status;
            await writer.WriteAsync(ApiErrors.Envelope(error), OpenAiJson.Wire.ErrorEnvelope);
        }
    }

    /// <summary>The prompts of a completions request: a string, token ids, or an array of either.</summary>
    static List<(string Text, int[] Tokens)> Prompts(JsonElement? prompt, ServedModel model)
    {
        var tokenizer = model.Model.Tokenizer;
        (string, int[]) FromText(string text) => (text, tokenizer.Encode(text, addSpecial: true, parseSpecial: true));
        (string, int[]) FromIds(JsonElement array)
        {
            var ids = new List<int>();
            foreach (var item in array.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out int id) || id < 0 || id >= tokenizer.VocabSize)
                    throw ApiException.BadRequest($"'prompt' token ids must be integers from 0 to {tokenizer.VocabSize - 1}", "prompt");
                ids.Add(id);
            }
            return (tokenizer.Decode(ids.ToArray()), ids.ToArray());
        }
        if (prompt is not { } p || p.ValueKind == JsonValueKind.Null) throw ApiException.BadRequest("'prompt' is required", "prompt");
        if (p.ValueKind == JsonValueKind.String) return [FromText(p.GetString()!)];
        if (p.ValueKind != JsonValueKind.Array || p.GetArrayLength() == 0)
            throw ApiException.BadRequest("'prompt' must be a string, an array of strings, an array of token ids or an array of such arrays", "prompt");
        var first = p[0];
        if (first.ValueKind == JsonValueKind.Number) return [FromIds(p)];
        var result = new List<(string, int[])>();
        foreach (var item in p.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.String) result.Add(FromText(item.GetString()!));
            else if (item.ValueKind == JsonValueKind.Array) result.Add(FromIds(item));
            else throw ApiException.BadRequest("'prompt' must be a string, an array of strings, an array of token ids or an array of such arrays", "prompt");
        }
        return result;
    }

    /// <summary>Collects the legacy completions logprobs: tokens, token_logprobs, top_logprobs (token text → logprob), text_offset.</summary>
    sealed class LegacyLogprobs(ServedModel model, int offset)
    {
        public CompletionLogprobs Result { get; } = new([], [], [], []);

        public void Add(GenerationEvent e)
        {
            var tokenizer = model.Model.Tokenizer;
            string text = PieceText(tokenizer, e.Token);
            Result.Tokens.Add(text);
            Result.TokenLogprobs.Add(e.Logprob);
            var top = new Dictionary<string, float>();
            foreach (var t in e.TopLogprobs ?? []) top.TryAdd(PieceText(tokenizer, t.Token), t.Logprob);
            Result.TopLogprobs.Add(top);
            Result.TextOffset.Add(offset);
            offset += text.Length;
        }
    }
}

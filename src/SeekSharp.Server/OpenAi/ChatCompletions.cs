using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using SeekSharp.Chat;
using SeekSharp.Chat.Templates;
using SeekSharp.Inference;
using SeekSharp.Server.Hosting;
using SeekSharp.Serving;

namespace SeekSharp.Server.OpenAi;

/// <summary>POST /v1/chat/completions.</summary>
internal static partial class OpenAiEndpoints
{
    static async Task ChatCompletionsAsync(HttpContext http, ServerState state)
    {
        var request = await JsonBody.ReadAsync(http, OpenAiJson.Wire.ChatCompletionRequest);
        var model = state.Host.Require(request.Model);
        if (request.Messages is not { Count: > 0 } messageDtos) throw ApiException.BadRequest("'messages' must be a non-empty array", "messages");
        var messages = messageDtos.Select(MessageOf).ToList();
        // max_completion_tokens is OpenAI's current name, max_tokens the deprecated one that most clients still send.
        int? maxTokens = Generation.MaxTokens(request.MaxTokens, "max_tokens");
        maxTokens = Generation.MaxTokens(request.MaxCompletionTokens, "max_completion_tokens") ?? maxTokens;
        int n = Generation.Count(request.N);
        int topLogprobs = TopLogprobs(request.Logprobs, request.TopLogprobs);
        var chat = model.RequireChat();
        var fields = new SamplingFields(request.Temperature, request.TopP, request.TopK, request.MinP, request.RepeatPenalty ?? request.RepetitionPenalty,
            request.PresencePenalty, request.FrequencyPenalty, request.Seed);
        var options = new ChatGenerationOptions
        {
            Sampling = fields.Apply(chat.DefaultSampling, 0, FieldName),
            MaxTokens = maxTokens,
            StopSequences = Generation.Strings(request.Stop, "stop"),
            ToolsJson = request.Tools?.Select(t => t.GetRawText()).ToList(),
            TemplateVariables = request.ChatTemplateKwargs?.ToDictionary(kv => kv.Key, kv => ChatTemplate.FromJson(kv.Value)),
            AnswerJson = Generation.ResponseFormat(request.ResponseFormat),
        };
        var prepared = Prepare(chat, messages, options, model.ContextLength);
        var bias = Generation.LogitBias(request.LogitBias, model.Model.Tokenizer.VocabSize);
        var requests = Enumerable.Range(0, n).Select(i => prepared.Request with
        {
            Sampling = fields.Apply(chat.DefaultSampling, i, FieldName),
            TopLogprobs = topLogprobs,
            LogitBias = bias,
            IgnoreEos = request.IgnoreEos ?? false,
        }).ToList();

        var streams = Generation.SubmitAll(model, requests, http.RequestAborted);
        try
        {
            string id = NewId("chatcmpl-");
            long created = Now();
            var events = streams.Select(s => Generation.Read(s, state.Metrics, http, logUsage: ReferenceEquals(s, streams[0]))).ToList();
            if (request.Stream == true)
                await StreamChatAsync(http, model, id, created, events, topLogprobs >= 0, request.StreamOptions?.IncludeUsage == true, state.Options.KeepAliveInterval);
            else
                await CompleteChatAsync(http, model, id, created, events, topLogprobs >= 0);
        }
        finally
        {
            foreach (var s in streams) s.Dispose();
        }
    }

    static async Task CompleteChatAsync(HttpContext http, ServedModel model, string id, long created,
        List<IAsyncEnumerable<GenerationEvent>> events, bool logprobs)
    {
        var choices = await Task.WhenAll(events.Select(async (source, index) =>
        {
            var reasoning = new StringBuilder();
            var content = new StringBuilder();
            var tokens = logprobs ? new List<TokenLogprobDto>() : null;
            GenerationEvent? final = null;
            await foreach (var e in source.WithCancellation(http.RequestAborted))
            {
                reasoning.Append(e.Reasoning);
                content.Append(e.Content);
                if (e.Kind == GenerationEventKind.Token) tokens?.Add(LogprobOf(model.Model.Tokenizer, e));
                else final = e;
            }
            return (index, reasoning: reasoning.ToString(), content: content.ToString(), tokens, final);
        }));
        http.RequestAborted.ThrowIfCancellationRequested();
        if (choices.Any(c => c.final?.FinishReason is null or FinishReason.Cancelled)) throw ShuttingDown();
        var response = new ChatCompletionResponse(id, created, model.Id,
            choices.Select(c => new ChatChoice(c.index, new AssistantMessage(c.content, c.reasoning.Length > 0 ? c.reasoning : null), FinishReasonText(c.final!.FinishReason))
            {
                Logprobs = c.tokens is null ? null : new LogprobsDto(c.tokens),
            }).ToList(),
            UsageOf(choices.Select(c => c.final!.Usage).ToList()));
        await WriteJsonAsync(http, response, OpenAiJson.Wire.ChatCompletionResponse);
    }

    /// <summary>
    /// Server-sent events: per choice a role chunk (sent with the first event from the engine, so that a client's time
    /// to first token is not flattered by an instant empty chunk), then reasoning_content and content deltas, then a
    /// chunk with finish_reason; the include_usage chunk (choices: []); then [DONE]. Log-probabilities of tokens whose
    /// text is held back (a possible stop sequence or tag) ride on the next chunk that carries text.
    /// </summary>
    static async Task StreamChatAsync(HttpContext http, ServedModel model, string id, long created,
        List<IAsyncEnumerable<GenerationEvent>> events, bool logprobs, bool includeUsage, TimeSpan keepAlive)
    {
        await using var writer = await EventWriter.StartSseAsync(http.Response, keepAlive);
        var roleSent = new bool[events.Count];
        var pending = Enumerable.Range(0, events.Count).Select(_ => new List<TokenLogprobDto>()).ToArray();
        var usages = new GenerationUsage?[events.Count];
        Task Write(int index, Delta delta, string? finish = null)
        {
            var choice = new ChunkChoice(index, delta)
            {
                FinishReason = finish,
                Logprobs = logprobs && pending[index].Count > 0 ? new LogprobsDto([.. pending[index]]) : null,
            };
            pending[index].Clear();
            return writer.WriteAsync(new ChatCompletionChunk(id, created, model.Id, [choice]), OpenAiJson.Wire.ChatCompletionChunk);
        }
        try
        {
            await foreach (var (index, e) in Generation.Merge(events, http.RequestAborted))
            {
                if (!roleSent[index])
                {
                    roleSent[index] = true;
                    await Write(index, new Delta { Role = "assistant", Content = "" });
                }
                if (e.Kind == GenerationEventKind.Token)
                {
                    if (logprobs) pending[index].Add(LogprobOf(model.Model.Tokenizer, e));
                    if (e.Reasoning.Length > 0 || e.Content.Length > 0)
                        await Write(index, new Delta { Content = NullIfEmpty(e.Content), ReasoningContent = NullIfEmpty(e.Reasoning) });
                    continue;
                }
                if (e.FinishReason is null or FinishReason.Cancelled)
                {
                    http.RequestAborted.ThrowIfCancellationRequested();
                    throw ShuttingDown();
                }
                usages[index] = e.Usage;
                await Write(index, new Delta { Content = NullIfEmpty(e.Content), ReasoningContent = NullIfEmpty(e.Reasoning) }, FinishReasonText(e.FinishReason));
            }
            if (includeUsage)
                await writer.WriteAsync(new ChatCompletionChunk(id, created, model.Id, []) { Usage = UsageOf(usages) }, OpenAiJson.Wire.ChatCompletionChunk);
            await writer.WriteDoneAsync();
        }
        catch (Exception e) when (!http.RequestAborted.IsCancellationRequested)
        {
            // The status line is gone; OpenAI's SDKs raise an APIError for a data event carrying "error".
            var error = e as ApiException ?? new ApiException(500, $"generation failed: {e.Message}", "server_error");
            RequestLog.Of(http).Status = error.Status;
            await writer.WriteAsync(ApiErrors.Envelope(error), OpenAiJson.Wire.ErrorEnvelope);
        }
    }

    static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;

    static string FieldName(string property) => property switch
    {
        "Temperature" => "temperature", "TopP" => "top_p", "TopK" => "top_k", "MinP" => "min_p",
        "RepeatPenalty" => "repeat_penalty", "PresencePenalty" => "presence_penalty", "FrequencyPenalty" => "frequency_penalty",
        _ => property,
    };

    /// <summary>-1 without logprobs; else top_logprobs (0 to 20), which needs logprobs: true.</summary>
    static int TopLogprobs(bool? logprobs, int? top)
    {
        if (top is not null && logprobs != true) throw ApiException.BadRequest("'top_logprobs' requires 'logprobs' to be true", "top_logprobs");
        if (top is < 0 or > 20) throw ApiException.BadRequest($"'top_logprobs' must be between 0 and 20, got {top}", "top_logprobs");
        return logprobs == true ? top ?? 0 : -1;
    }

    static PreparedChat Prepare(ChatModel chat, List<ChatMessage> messages, ChatGenerationOptions options, int contextLength)
    {
        try { return chat.Prepare(messages, options, contextLength); }
        catch (ContextOverflowException e)
        {
            throw ApiException.BadRequest(
                $"This model's maximum context length is {contextLength} tokens; the messages need {e.Needed} (with room for one generated token). Shorten the messages.",
                "messages", "context_length_exceeded");
        }
        catch (TemplateException e)
        {
            throw ApiException.BadRequest($"the chat template refused the messages: {e.Message}", "messages");
        }
    }

    static ChatMessage MessageOf(ChatMessageDto dto, int index)
    {
        string where = $"messages[{index}]";
        string role = dto.Role switch
        {
            null => throw ApiException.BadRequest($"'{where}.role' is required", $"{where}.role"),
            "developer" => "system", // OpenAI's newer name for the system message
            "system" or "user" or "assistant" or "tool" => dto.Role,
            _ => throw ApiException.BadRequest($"'{where}.role' must be system, developer, user, assistant or tool, got '{dto.Role}'", $"{where}.role"),
        };
        return new ChatMessage(role, ContentText(dto.Content, $"{where}.content"))
        {
            ReasoningContent = dto.ReasoningContent,
            Name = dto.Name,
            ToolCallId = dto.ToolCallId,
            ToolCalls = dto.ToolCalls?.Select((c, j) => new ToolCall(c.Id ?? "",
                c.Function?.Name ?? throw ApiException.BadRequest($"'{where}.tool_calls[{j}].function.name' is required", $"{where}.tool_calls[{j}].function.name"),
                c.Function.Arguments is { ValueKind: JsonValueKind.String } s ? s.GetString()! : c.Function.Arguments?.GetRawText() ?? "{}")).ToList(),
        };
    }

    /// <summary>A string, an array of text parts (other part types are refused: the models are text-only), or null.</summary>
    static string? ContentText(JsonElement? content, string where)
    {
        if (content is not { } c || c.ValueKind == JsonValueKind.Null) return null;
        if (c.ValueKind == JsonValueKind.String) return c.GetString();
        if (c.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest($"'{where}' must be a string or an array of content parts", where);
        var text = new StringBuilder();
        int k = 0;
        foreach (var part in c.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
                throw ApiException.BadRequest($"'{where}[{k}]' must be a content part object with a type", $"{where}[{k}]");
            if (type.GetString() != "text")
                throw ApiException.BadRequest($"'{where}[{k}]' is a '{type.GetString()}' part; this model reads text only", $"{where}[{k}]");
            if (!part.TryGetProperty("text", out var t) || t.ValueKind != JsonValueKind.String)
                throw ApiException.BadRequest($"'{where}[{k}].text' must be a string", $"{where}[{k}].text");
            text.Append(t.GetString());
            k++;
        }
        return text.ToString();
    }
}

using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using SeekSharp.Chat;
using SeekSharp.Chat.Reasoning;
using SeekSharp.Chat.Templates;
using SeekSharp.Inference;
using SeekSharp.Inference.Sampling;
using SeekSharp.Server.Hosting;
using SeekSharp.Serving;

namespace SeekSharp.Server.Ollama;

/// <summary>
/// Ollama's API (docs/api.md): /api/chat, /api/generate, /api/tags, /api/show, /api/ps, /api/version and GET /.
/// Responses stream as NDJSON, one JSON object per line, and a stream:false answer is one line too (OllamaSharp reads
/// lines either way). keep_alive is accepted but the model stays loaded for the server's lifetime: one process serves
/// one model, so unloading would only make the next request slow.
/// </summary>
internal static class OllamaEndpoints
{
    /// <summary>The Ollama version reported: numeric x.y.z, as Open WebUI parses it; one whose API (think, thinking) we follow.</summary>
    public const string Version = "0.12.0";

    public static void Map(WebApplication app, ServerState state)
    {
        // GET / is shared with the chat page (AppAssets), which answers browsers; other clients get Ollama's probe answer.
        app.MapGet("/api/version", (HttpContext http) => JsonBody.WriteAsync(http, new OllamaVersion(Version), OllamaJson.Wire.OllamaVersion));
        app.MapGet("/api/tags", (HttpContext http) => JsonBody.WriteAsync(http, new OllamaModelList([Entry(state.Host.Require(null))]), OllamaJson.Wire.OllamaModelList));
        app.MapGet("/api/ps", (HttpContext http) =>
        {
            var model = state.Host.Require(null);
            var running = Entry(model) with { ExpiresAt = DateTime.UtcNow.AddYears(100), SizeVram = 0, ContextLength = model.ContextLength };
            return JsonBody.WriteAsync(http, new OllamaModelList([running]), OllamaJson.Wire.OllamaModelList);
        });
        app.MapPost("/api/show", (HttpContext http) => ShowAsync(http, state));
        app.MapPost("/api/chat", (HttpContext http) => ChatAsync(http, state));
        app.MapPost("/api/generate", (HttpContext http) => GenerateAsync(http, state));
    }

    static string TaggedName(ServedModel model) => model.Id.Contains(':') ? model.Id : model.Id + ":latest";

    static OllamaModelDetails Details(ServedModel model) =>
        new("", "gguf", model.Model.Config.Architecture, [model.Model.Config.Architecture], model.ParameterSize, model.QuantizationLevel);

    static OllamaModelEntry Entry(ServedModel model)
    {
        string path = Path.GetFullPath(model.Model.File.Path);
        // The model may be a Hugging Face folder: its size is that of its files.
        long size = SeekSharp.HuggingFace.HuggingFaceFolder.SizeOnDisk(path);
        // An identifier of this file version (path, size, time), not the SHA-256 of its bytes: hashing gigabytes at
        // every /api/tags would cost seconds.
        string digest = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
            Encoding.UTF8.GetBytes($"{path}|{size}|{model.ModifiedAt.Ticks}")));
        return new OllamaModelEntry(TaggedName(model), TaggedName(model), model.ModifiedAt, size, digest, Details(model));
    }

    static async Task ShowAsync(HttpContext http, ServerState state)
    {
        var request = await JsonBody.ReadAsync(http, OllamaJson.Wire.OllamaShowRequest);
        var model = state.Host.Require(request.Model ?? request.Name ?? throw ApiException.BadRequest("'model' is required", "model"));
        var c = model.Model.Config;
        var info = new JsonObject
        {
            ["general.architecture"] = c.Architecture,
            ["general.name"] = model.ModelName,
            ["general.parameter_count"] = model.Model.ParameterCount,
            [$"{c.Architecture}.context_length"] = c.ContextLength,
            [$"{c.Architecture}.embedding_length"] = c.EmbeddingLength,
            [$"{c.Architecture}.block_count"] = c.BlockCount,
            [$"{c.Architecture}.attention.head_count"] = c.HeadCount,
            [$"{c.Architecture}.attention.head_count_kv"] = c.HeadCountKv,
            ["tokenizer.ggml.vocab_size"] = c.VocabSize,
        };
        var defaults = model.Chat?.DefaultSampling ?? new SamplingOptions();
        string parameters = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"temperature {defaults.Temperature}\ntop_k {defaults.TopK}\ntop_p {defaults.TopP}\nmin_p {defaults.MinP}\nnum_ctx {model.ContextLength}");
        var capabilities = new List<string> { "completion" };
        if (model.Chat?.ReasoningFormat.HasTags == true) capabilities.Add("thinking");
        await JsonBody.WriteAsync(http, new OllamaShowResponse($"FROM {model.Model.File.Path}\n", parameters, model.Chat?.Formatter.TemplateSource ?? "",
            Details(model), info, capabilities, model.ModifiedAt), OllamaJson.Wire.OllamaShowResponse);
    }

    // ---- /api/chat and /api/generate ----

    static async Task ChatAsync(HttpContext http, ServerState state)
    {
        long start = Stopwatch.GetTimestamp();
        var request = await JsonBody.ReadAsync(http, OllamaJson.Wire.OllamaChatRequest);
        var model = state.Host.Require(request.Model ?? throw ApiException.BadRequest("'model' is required", "model"));
        if (request.Messages is not { Count: > 0 })
        {
            await LoadResponseAsync(http, model, request.KeepAlive, chat: true);
            return;
        }
        var chat = model.RequireChat();
        var messages = request.Messages.Select(MessageOf).ToList();
        var prepared = Prepare(chat, messages, Options(request.Options, chat.DefaultSampling, request.Tools, request.Think, request.Format), model.ContextLength);
        await RunAsync(http, state, model, prepared.Request, request.Stream ?? true, ShowThinking(request.Think), chat: true, start);
    }

    static async Task GenerateAsync(HttpContext http, ServerState state)
    {
        long start = Stopwatch.GetTimestamp();
        var request = await JsonBody.ReadAsync(http, OllamaJson.Wire.OllamaGenerateRequest);
        var model = state.Host.Require(request.Model ?? throw ApiException.BadRequest("'model' is required", "model"));
        if (string.IsNullOrEmpty(request.Prompt))
        {
            await LoadResponseAsync(http, model, request.KeepAlive, chat: false);
            return;
        }
        GenerationRequest generation;
        if (request.Raw == true)
        {
            var options = Options(request.Options, model.Chat?.DefaultSampling ?? new SamplingOptions(), null, format: request.Format);
            generation = new GenerationRequest
            {
                Prompt = model.Model.Tokenizer.Encode(request.Prompt, addSpecial: true, parseSpecial: true),
                Sampling = options.Sampling,
                MaxTokens = options.MaxTokens,
                StopSequences = options.StopSequences,
                Reasoning = ReasoningFormat.None,
                AnswerJson = options.AnswerJson,
            };
        }
        else
        {
            var chat = model.RequireChat();
            var messages = new List<ChatMessage>();
            if (!string.IsNullOrEmpty(request.System)) messages.Add(ChatMessage.System(request.System));
            messages.Add(ChatMessage.User(request.Prompt));
            generation = Prepare(chat, messages, Options(request.Options, chat.DefaultSampling, null, request.Think, request.Format), model.ContextLength).Request;
        }
        await RunAsync(http, state, model, generation, request.Stream ?? true, ShowThinking(request.Think), chat: false, start);
    }

    /// <summary>An empty prompt or no messages: Ollama's way to load (or, with keep_alive 0, unload) a model.</summary>
    static Task LoadResponseAsync(HttpContext http, ServedModel model, JsonElement? keepAlive, bool chat)
    {
        bool unload = keepAlive is { ValueKind: JsonValueKind.Number } n && n.TryGetDouble(out double seconds) && seconds == 0
                      || keepAlive is { ValueKind: JsonValueKind.String } s && s.GetString() is "0" or "0s" or "0m";
        var done = new OllamaChunk(TaggedName(model), DateTime.UtcNow, true)
        {
            Message = chat ? new OllamaOutMessage("assistant", "") : null,
            Response = chat ? null : "",
            DoneReason = unload ? "unload" : "load",
        };
        return JsonBody.WriteAsync(http, done, OllamaJson.Wire.OllamaChunk);
    }

    static async Task RunAsync(HttpContext http, ServerState state, ServedModel model, GenerationRequest request, bool stream, bool showThinking,
        bool chat, long start)
    {
        using var generation = Generation.Submit(model, request, http.RequestAborted);
        string name = TaggedName(model);
        OllamaChunk Chunk(string reasoning, string content, bool done) => chat
            ? new OllamaChunk(name, DateTime.UtcNow, done) { Message = new OllamaOutMessage("assistant", content) { Thinking = showThinking && reasoning.Length > 0 ? reasoning : null } }
            : new OllamaChunk(name, DateTime.UtcNow, done) { Response = content, Thinking = showThinking && reasoning.Length > 0 ? reasoning : null };
        await using var writer = stream ? await EventWriter.StartNdjsonAsync(http.Response) : null;
        var reasoningText = new StringBuilder();
        var contentText = new StringBuilder();
        var tokens = new List<int>(request.Prompt);
        try
        {
            await foreach (var e in Generation.Read(generation, state.Metrics, http, logUsage: true, http.RequestAborted))
            {
                if (e.Kind == GenerationEventKind.Token)
                {
                    tokens.Add(e.Token);
                    if (writer is not null && (e.Content.Length > 0 || (showThinking && e.Reasoning.Length > 0)))
                        await writer.WriteAsync(Chunk(e.Reasoning, e.Content, done: false), OllamaJson.Wire.OllamaChunk);
                    else { reasoningText.Append(e.Reasoning); contentText.Append(e.Content); }
                    continue;
                }
                if (e.FinishReason is null or FinishReason.Cancelled)
                {
                    http.RequestAborted.ThrowIfCancellationRequested();
                    throw new ApiException(503, "the request was cancelled because the server is shutting down", "server_error");
                }
                reasoningText.Append(e.Reasoning);
                contentText.Append(e.Content);
                var usage = e.Usage!;
                var timings = e.Timings;
                var final = Chunk(reasoningText.ToString(), contentText.ToString(), done: true) with
                {
                    DoneReason = e.FinishReason == FinishReason.Length ? "length" : "stop",
                    TotalDuration = Nanoseconds(Stopwatch.GetElapsedTime(start)),
                    LoadDuration = 0, // loaded at startup, before any request
                    PromptEvalCount = usage.PromptTokens,
                    PromptEvalDuration = Nanoseconds(timings?.PromptEvaluation ?? TimeSpan.Zero),
                    EvalCount = usage.CompletionTokens,
                    EvalDuration = Nanoseconds(timings?.Generation ?? TimeSpan.Zero),
                    Context = chat ? null : [.. tokens],
                };
                if (writer is not null) await writer.WriteAsync(final, OllamaJson.Wire.OllamaChunk);
                else await JsonBody.WriteAsync(http, final, OllamaJson.Wire.OllamaChunk);
            }
        }
        catch (Exception e) when (writer is not null && !http.RequestAborted.IsCancellationRequested)
        {
            // Mid-stream: the status is sent; Ollama ends the stream with an error line.
            RequestLog.Of(http).Status = e is ApiException a ? a.Status : 500;
            await writer.WriteAsync(new OllamaError(e.Message), OllamaJson.Wire.OllamaError);
        }
    }

    static long Nanoseconds(TimeSpan t) => t.Ticks * 100;

    /// <summary>think: false hides the thinking; true, "low"/"medium"/"high" or absent show it in message.thinking.
    /// The R1 template always opens thinking, so the model thinks either way; what changes is whether it is shown.</summary>
    static bool ShowThinking(JsonElement? think) => think is not { ValueKind: JsonValueKind.False };

    /// <summary>
    /// A think given by the client also reaches the chat template, as Ollama switches thinking in the templates that can:
    /// Qwen3's reads <c>enable_thinking</c> (thinking unless false), DeepSeek-V3.1's reads <c>thinking</c> (no thinking
    /// unless true), gpt-oss's reads <c>reasoning_effort</c>. Templates that read none of them, such as R1's, render as
    /// before. Absent, the template's own default stands.
    /// </summary>
    static Dictionary<string, object?>? ThinkVariables(JsonElement? think) => think switch
    {
        null or { ValueKind: JsonValueKind.Null } => null,
        { ValueKind: JsonValueKind.True or JsonValueKind.False } t => new() { ["enable_thinking"] = t.GetBoolean(), ["thinking"] = t.GetBoolean() },
        { ValueKind: JsonValueKind.String } t when t.GetString() is "low" or "medium" or "high" =>
            new() { ["enable_thinking"] = true, ["thinking"] = true, ["reasoning_effort"] = t.GetString() },
        var t => throw ApiException.BadRequest($"think must be true, false, \"low\", \"medium\" or \"high\", got {t.Value.GetRawText()}", "think"),
    };

    static ChatGenerationOptions Options(OllamaOptions? o, SamplingOptions defaults, List<JsonElement>? tools, JsonElement? think = null, JsonElement? format = null)
    {
        o ??= new OllamaOptions();
        var fields = new SamplingFields(o.Temperature, o.TopP, o.TopK, o.MinP, o.RepeatPenalty, o.PresencePenalty, o.FrequencyPenalty,
            o.Seed is null or -1 ? null : o.Seed);
        var sampling = fields.Apply(defaults, 0, p => "options." + p switch
        {
            "Temperature" => "temperature", "TopP" => "top_p", "TopK" => "top_k", "MinP" => "min_p", "RepeatPenalty" => "repeat_penalty",
            "PresencePenalty" => "presence_penalty", "FrequencyPenalty" => "frequency_penalty", _ => p,
        });
        if (o.RepeatLastN is { } lastN)
            sampling = sampling with { PenaltyLastN = lastN >= 0 ? lastN : throw ApiException.BadRequest($"options.repeat_last_n must be 0 or more, got {lastN}") };
        // num_predict: -1 is unlimited and -2 fills the context (both: until the context is full); num_ctx is ignored
        // because every request shares the KV pool sized by --ctx and --kv-size.
        int? maxTokens = o.NumPredict switch
        {
            null or -1 or -2 => null,
            < 0 => throw ApiException.BadRequest($"options.num_predict must be -1, -2 or 0 or more, got {o.NumPredict}"),
            var n => n,
        };
        return new ChatGenerationOptions
        {
            Sampling = sampling,
            MaxTokens = maxTokens,
            StopSequences = Generation.Strings(o.Stop, "options.stop"),
            ToolsJson = tools?.Select(t => t.GetRawText()).ToList(),
            TemplateVariables = ThinkVariables(think),
            AnswerJson = Generation.OllamaFormat(format),
        };
    }

    static PreparedChat Prepare(ChatModel chat, List<ChatMessage> messages, ChatGenerationOptions options, int contextLength)
    {
        try { return chat.Prepare(messages, options, contextLength); }
        catch (ContextOverflowException e)
        {
            throw ApiException.BadRequest($"the prompt needs {e.Needed} tokens but the context holds {contextLength}; shorten the messages");
        }
        catch (TemplateException e)
        {
            throw ApiException.BadRequest($"the chat template refused the messages: {e.Message}");
        }
    }

    static ChatMessage MessageOf(OllamaMessage m, int index)
    {
        string role = m.Role is "system" or "user" or "assistant" or "tool"
            ? m.Role
            : throw ApiException.BadRequest($"messages[{index}].role must be system, user, assistant or tool, got '{m.Role}'");
        if (m.Images is { Count: > 0 }) throw ApiException.BadRequest($"messages[{index}] has images; this model reads text only");
        return new ChatMessage(role, m.Content)
        {
            ReasoningContent = m.Thinking,
            Name = m.ToolName,
            ToolCallId = m.ToolCallId,
            ToolCalls = m.ToolCalls?.Select((c, j) => new ToolCall("",
                c.Function?.Name ?? throw ApiException.BadRequest($"messages[{index}].tool_calls[{j}].function.name is required"),
                c.Function.Arguments is { ValueKind: JsonValueKind.String } s ? s.GetString()! : c.Function.Arguments?.GetRawText() ?? "{}")).ToList(),
        };
    }
}

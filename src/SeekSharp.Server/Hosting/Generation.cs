using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using SeekSharp.Inference;
using SeekSharp.Inference.Sampling;
using SeekSharp.Server.Metrics;
using SeekSharp.Serving;

namespace SeekSharp.Server.Hosting;

/// <summary>The sampling fields the APIs share, each null when the request leaves it out.</summary>
internal sealed record SamplingFields(float? Temperature, float? TopP, int? TopK, float? MinP, float? RepeatPenalty,
    float? PresencePenalty, float? FrequencyPenalty, long? Seed)
{
    /// <summary>
    /// The request's settings over <paramref name="defaults"/>. A field left out takes the model's advised default
    /// (DeepSeek's temperature 0.6 / top-p 0.95 for R1), not OpenAI's temperature 1: llama.cpp's server does the same,
    /// filling absent fields from its own defaults and the model's, so a client that sends only messages gets the
    /// sampling the model was meant for. <paramref name="index"/> (the choice of n) offsets the seed, so that the n
    /// samples of one request differ and the same seed reproduces all of them.
    /// </summary>
    public SamplingOptions Apply(SamplingOptions defaults, int index, Func<string, string> fieldName)
    {
        int seed = Seed is { } s ? unchecked((int)s + index) : Random.Shared.Next();
        var options = defaults with
        {
            Temperature = Temperature ?? defaults.Temperature,
            TopP = TopP ?? defaults.TopP,
            TopK = TopK ?? defaults.TopK,
            MinP = MinP ?? defaults.MinP,
            RepeatPenalty = RepeatPenalty ?? defaults.RepeatPenalty,
            PresencePenalty = PresencePenalty ?? defaults.PresencePenalty,
            FrequencyPenalty = FrequencyPenalty ?? defaults.FrequencyPenalty,
            Seed = seed,
        };
        try { options.Validate(fieldName); }
        catch (ArgumentException e) { throw ApiException.BadRequest(e.Message); }
        return options;
    }
}

/// <summary>Submitting to the scheduler and reading a generation, the same for every endpoint: errors become API
/// errors, and every finished generation feeds the metrics and the request log.</summary>
internal static class Generation
{
    /// <summary>Texts from a field that is a string or an array of strings (OpenAI's <c>stop</c>).</summary>
    public static List<string> Strings(JsonElement? value, string field)
    {
        if (value is not { } v || v.ValueKind == JsonValueKind.Null) return [];
        if (v.ValueKind == JsonValueKind.String) return v.GetString() is { Length: > 0 } one ? [one] : [];
        if (v.ValueKind != JsonValueKind.Array) throw ApiException.BadRequest($"'{field}' must be a string or an array of strings", field);
        var list = new List<string>();
        foreach (var item in v.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String) throw ApiException.BadRequest($"'{field}' must be a string or an array of strings", field);
            if (item.GetString() is { Length: > 0 } s) list.Add(s);
        }
        return list;
    }

    /// <summary>max_tokens checked: negative is a 400.</summary>
    public static int? MaxTokens(int? value, string field) =>
        value is < 0 ? throw ApiException.BadRequest($"'{field}' must be 0 or more, got {value}", field, "invalid_value") : value;

    /// <summary>n checked: 1 to 128 as OpenAI allows.</summary>
    public static int Count(int? n) =>
        n is null ? 1 : n is >= 1 and <= 128 ? n.Value : throw ApiException.BadRequest($"'n' must be between 1 and 128, got {n}", "n", "invalid_value");

    /// <summary>OpenAI's logit_bias (token id as a string → -100..100) checked against the vocabulary.</summary>
    public static Dictionary<int, float>? LogitBias(Dictionary<string, float>? bias, int vocabSize)
    {
        if (bias is null || bias.Count == 0) return null;
        var result = new Dictionary<int, float>();
        foreach (var (key, value) in bias)
        {
            if (!int.TryParse(key, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id) || id >= vocabSize)
                throw ApiException.BadRequest($"'logit_bias' key '{key}' is not a token id of this model (0 to {vocabSize - 1})", "logit_bias");
            if (!(value is >= -100 and <= 100))
                throw ApiException.BadRequest($"'logit_bias' value for token {id} must be between -100 and 100, got {value}", "logit_bias");
            result[id] = value;
        }
        return result;
    }

    /// <summary>
    /// OpenAI's <c>response_format</c>: absent or <c>{"type":"text"}</c> leaves the answer free; <c>{"type":"json_object"}</c>
    /// makes it a JSON object; <c>{"type":"json_schema","json_schema":{"schema":…}}</c> JSON of that schema (llama.cpp's
    /// <c>{"type":"json_object","schema":…}</c> too). A schema beyond what <see cref="JsonGrammar"/> follows is a 400 naming why.
    /// </summary>
    public static JsonGrammar? ResponseFormat(JsonElement? format)
    {
        const string field = "response_format";
        if (format is not { } f || f.ValueKind == JsonValueKind.Null) return null;
        if (f.ValueKind != JsonValueKind.Object || !f.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            throw ApiException.BadRequest($"'{field}' must be an object with a 'type' (text, json_object or json_schema)", field);
        switch (type.GetString())
        {
            case "text":
                return null;
            case "json_object":
                return f.TryGetProperty("schema", out var inline) ? Schema(inline, $"{field}.schema") : JsonGrammar.AnyObject();
            case "json_schema":
                if (!f.TryGetProperty("json_schema", out var spec) || spec.ValueKind != JsonValueKind.Object)
                    throw ApiException.BadRequest($"'{field}.json_schema' must be an object with the schema under 'schema'", $"{field}.json_schema");
                return spec.TryGetProperty("schema", out var schema) ? Schema(schema, $"{field}.json_schema.schema") : JsonGrammar.AnyObject();
            default:
                throw ApiException.BadRequest($"'{field}.type' must be text, json_object or json_schema, got '{type.GetString()}'", $"{field}.type");
        }
    }

    /// <summary>Ollama's <c>format</c>: <c>"json"</c> for a JSON object, or a JSON Schema object; absent or empty for free text.</summary>
    public static JsonGrammar? OllamaFormat(JsonElement? format)
    {
        if (format is not { } f || f.ValueKind == JsonValueKind.Null) return null;
        if (f.ValueKind == JsonValueKind.String)
        {
            return f.GetString() switch
            {
                "" => null,
                "json" => JsonGrammar.AnyObject(),
                var other => throw ApiException.BadRequest($"format must be \"json\" or a JSON Schema object, got \"{other}\"", "format"),
            };
        }
        if (f.ValueKind == JsonValueKind.Object) return Schema(f, "format");
        throw ApiException.BadRequest($"format must be \"json\" or a JSON Schema object, got {f.GetRawText()}", "format");
    }

    private static JsonGrammar Schema(JsonElement schema, string field)
    {
        try { return JsonGrammar.FromSchema(schema); }
        catch (ArgumentException e) { throw ApiException.BadRequest($"'{field}': {e.Message}", field); }
    }

    /// <summary>Queues <paramref name="request"/>; the scheduler's refusals become API errors (429 with Retry-After,
    /// 400 for a prompt over the context or a bad setting, 503 while stopping).</summary>
    public static GenerationStream Submit(ServedModel model, GenerationRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return model.Scheduler.Submit(request, cancellationToken);
        }
        catch (QueueFullException e)
        {
            throw new ApiException(429, e.Message, "rate_limit_error", code: "queue_full") { RetryAfterSeconds = 1 };
        }
        catch (ContextOverflowException e)
        {
            throw ApiException.BadRequest(
                $"This model's maximum context length is {model.ContextLength} tokens; the prompt needs {e.Needed} (with room for one generated token). Shorten the messages.",
                "messages", "context_length_exceeded");
        }
        catch (ObjectDisposedException)
        {
            throw new ApiException(503, "the server is shutting down", "server_error", code: "shutting_down") { RetryAfterSeconds = 5 };
        }
        catch (ArgumentException e)
        {
            throw ApiException.BadRequest(e.Message);
        }
    }

    /// <summary>Submits every request, and gives up the ones already queued if a later one is refused.</summary>
    public static List<GenerationStream> SubmitAll(ServedModel model, IReadOnlyList<GenerationRequest> requests, CancellationToken cancellationToken)
    {
        var streams = new List<GenerationStream>(requests.Count);
        try
        {
            foreach (var r in requests) streams.Add(Submit(model, r, cancellationToken));
            return streams;
        }
        catch
        {
            foreach (var s in streams) s.Dispose();
            throw;
        }
    }

    /// <summary>Reads <paramref name="stream"/> to its final event, recording latencies in <paramref name="metrics"/>
    /// and the counts of the first choice in the request log.</summary>
    public static async IAsyncEnumerable<GenerationEvent> Read(GenerationStream stream, ServerMetrics metrics, HttpContext http, bool logUsage,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        long start = Stopwatch.GetTimestamp();
        var tokenTimes = new List<double>();
        await foreach (var e in stream.WithCancellation(cancellationToken))
        {
            if (e.Kind == GenerationEventKind.Token)
            {
                tokenTimes.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
            }
            else
            {
                metrics.Record(tokenTimes, Stopwatch.GetElapsedTime(start).TotalSeconds, e.Timings);
                if (logUsage && e.Usage is { } u)
                {
                    var log = RequestLog.Of(http);
                    log.PromptTokens = u.PromptTokens;
                    log.CachedTokens = u.CachedTokens;
                    log.TimeToFirstTokenMs = e.Timings?.TimeToFirstToken.TotalMilliseconds;
                }
                if (e.Usage is { } usage) RequestLog.Of(http).CompletionTokens += usage.CompletionTokens;
            }
            yield return e;
        }
    }

    /// <summary>The events of several generations (the n choices of one request) as they come, each with its index.</summary>
    public static async IAsyncEnumerable<(int Index, GenerationEvent Event)> Merge(IReadOnlyList<IAsyncEnumerable<GenerationEvent>> sources,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (sources.Count == 1)
        {
            await foreach (var e in sources[0].WithCancellation(cancellationToken)) yield return (0, e);
            yield break;
        }
        var channel = Channel.CreateUnbounded<(int, GenerationEvent)>(new UnboundedChannelOptions { SingleReader = true });
        var pumps = sources.Select((source, i) => Task.Run(async () =>
        {
            await foreach (var e in source.WithCancellation(cancellationToken)) await channel.Writer.WriteAsync((i, e), cancellationToken);
        }, cancellationToken)).ToArray();
        _ = Task.WhenAll(pumps).ContinueWith(t => channel.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);
        await foreach (var item in channel.Reader.ReadAllAsync(cancellationToken)) yield return item;
    }
}

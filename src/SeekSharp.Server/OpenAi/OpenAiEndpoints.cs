using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using SeekSharp.Chat;
using SeekSharp.Server.Hosting;
using SeekSharp.Serving;
using SeekSharp.Tokenization;

namespace SeekSharp.Server.OpenAi;

/// <summary>
/// The OpenAI / DeepSeek API: /v1/chat/completions, /v1/completions, /v1/models, and llama.cpp's /tokenize and
/// /detokenize. Each route is also served without /v1, as llama.cpp does, for clients configured with the bare host.
/// </summary>
internal static partial class OpenAiEndpoints
{
    /// <summary>system_fingerprint: the engine that produced the answer.</summary>
    public const string SystemFingerprint = "seeksharp";

    public static void Map(WebApplication app, ServerState state)
    {
        foreach (string prefix in new[] { "/v1", "" })
        {
            app.MapPost(prefix + "/chat/completions", (HttpContext http) => ChatCompletionsAsync(http, state));
            app.MapPost(prefix + "/completions", (HttpContext http) => CompletionsAsync(http, state));
            app.MapGet(prefix + "/models", (HttpContext http) => ModelsAsync(http, state, null));
            app.MapGet(prefix + "/models/{id}", (HttpContext http, string id) => ModelsAsync(http, state, id));
        }
        app.MapPost("/tokenize", (HttpContext http) => TokenizeAsync(http, state));
        app.MapPost("/detokenize", (HttpContext http) => DetokenizeAsync(http, state));
    }

    static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    static string NewId(string prefix) => prefix + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));

    static Task WriteJsonAsync<T>(HttpContext http, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        http.Response.ContentType = "application/json";
        return http.Response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(value, type)).AsTask();
    }

    // ---- /v1/models ----

    static Task ModelsAsync(HttpContext http, ServerState state, string? id)
    {
        var model = state.Host.Require(null);
        if (id is not null && !model.Answers(id)) throw ApiException.ModelNotFound(id);
        var dto = new ModelDto(model.Id, model.LoadedAt.ToUnixTimeSeconds(), "seeksharp", model.FileName) { MaxModelLen = model.ContextLength };
        if (id is not null)
            return WriteJsonAsync(http, dto, OpenAiJson.Wire.ModelDto);
        return WriteJsonAsync(http, new ModelList([dto]), OpenAiJson.Wire.ModelList);
    }

    // ---- /tokenize, /detokenize ----

    static async Task TokenizeAsync(HttpContext http, ServerState state)
    {
        var request = await JsonBody.ReadAsync(http, OpenAiJson.Wire.TokenizeRequest);
        var model = state.Host.Require(null);
        if (request.Content is null) throw ApiException.BadRequest("'content' is required", "content");
        // llama.cpp's defaults: no BOS unless add_special, special-token text recognised.
        int[] tokens = model.Model.Tokenizer.Encode(request.Content, addSpecial: request.AddSpecial ?? false, parseSpecial: true);
        if (request.WithPieces == true)
        {
            var pieces = tokens.Select(t => new TokenPiece(t, PieceText(model.Model.Tokenizer, t))).ToList();
            await WriteJsonAsync(http, new TokenizeWithPiecesResponse(pieces), OpenAiJson.Wire.TokenizeWithPiecesResponse);
            return;
        }
        await WriteJsonAsync(http, new TokenizeResponse(tokens), OpenAiJson.Wire.TokenizeResponse);
    }

    static async Task DetokenizeAsync(HttpContext http, ServerState state)
    {
        var request = await JsonBody.ReadAsync(http, OpenAiJson.Wire.DetokenizeRequest);
        var model = state.Host.Require(null);
        int[] tokens = request.Tokens ?? throw ApiException.BadRequest("'tokens' is required", "tokens");
        int vocab = model.Model.Tokenizer.VocabSize;
        foreach (int t in tokens)
            if (t < 0 || t >= vocab) throw ApiException.BadRequest($"token {t} is not in the vocabulary (0 to {vocab - 1})", "tokens");
        await WriteJsonAsync(http, new DetokenizeResponse(model.Model.Tokenizer.Decode(tokens)), OpenAiJson.Wire.DetokenizeResponse);
    }

    // ---- log-probabilities ----

    /// <summary>A token's text for logprobs: its bytes as UTF-8 (a piece that splits a character shows U+FFFD; its
    /// exact bytes are in <c>bytes</c>).</summary>
    static string PieceText(Tokenizer tokenizer, int token) => Encoding.UTF8.GetString(tokenizer.TokenBytes(token));

    static int[] PieceBytes(Tokenizer tokenizer, int token) => Array.ConvertAll(tokenizer.TokenBytes(token), b => (int)b);

    static TokenLogprobDto LogprobOf(Tokenizer tokenizer, GenerationEvent e) => new(
        PieceText(tokenizer, e.Token), e.Logprob, PieceBytes(tokenizer, e.Token),
        (e.TopLogprobs ?? []).Select(t => new TopLogprobDto(PieceText(tokenizer, t.Token), t.Logprob, PieceBytes(tokenizer, t.Token))).ToList());

    /// <summary>OpenAI's finish_reason: only "stop" and "length" exist for us (openai-dotnet throws on unknown values).</summary>
    static string FinishReasonText(FinishReason? reason) => reason == FinishReason.Length ? "length" : "stop";

    static UsageDto UsageOf(IReadOnlyList<GenerationUsage?> usages)
    {
        // With n > 1 the prompt is counted once (as OpenAI bills it) and the completions are summed.
        var first = usages.FirstOrDefault(u => u is not null);
        int prompt = first?.PromptTokens ?? 0, cached = first?.CachedTokens ?? 0;
        int completion = usages.Sum(u => u?.CompletionTokens ?? 0), reasoning = usages.Sum(u => u?.ReasoningTokens ?? 0);
        return new UsageDto(prompt, completion, prompt + completion, new PromptTokensDetails(cached), new CompletionTokensDetails(reasoning),
            PromptCacheHitTokens: cached, PromptCacheMissTokens: prompt - cached);
    }

    /// <summary>A generation cancelled while the client is still connected: the server is stopping.</summary>
    static ApiException ShuttingDown() => new(503, "the request was cancelled because the server is shutting down", "server_error", code: "shutting_down");
}

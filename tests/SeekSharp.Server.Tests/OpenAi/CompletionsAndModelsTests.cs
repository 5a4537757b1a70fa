using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace SeekSharp.Server.Tests.OpenAi;

public sealed class CompletionsAndModelsTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Completion_RawText_CountsTokens()
    {
        using var client = server.CreateClient();
        var body = await Wire.JsonAsync(await client.PostAsync("v1/completions",
            ServerFixture.Json("""{"prompt":"The numbers are 1, 2, 3,","max_tokens":6,"temperature":0,"ignore_eos":true}""")));
        Assert.Equal("text_completion", (string?)body["object"]);
        Assert.StartsWith("cmpl-", (string?)body["id"]);
        var choice = body["choices"]![0]!;
        Assert.Equal("length", (string?)choice["finish_reason"]);
        Assert.False(string.IsNullOrEmpty((string?)choice["text"]));
        Assert.Equal(6, (int)body["usage"]!["completion_tokens"]!);
        using var tokenize = await client.PostAsync("tokenize", ServerFixture.Json("""{"content":"The numbers are 1, 2, 3,","add_special":true}"""));
        Assert.Equal((await Wire.JsonAsync(tokenize))["tokens"]!.AsArray().Count, (int)body["usage"]!["prompt_tokens"]!);
    }

    [Fact]
    public async Task Completion_Stream_MatchesTheWholeAnswer_AndTokenIdPromptsWork()
    {
        using var client = server.CreateClient();
        var ids = (await Wire.JsonAsync(await client.PostAsync("tokenize", ServerFixture.Json("""{"content":"Once upon a time","add_special":true}"""))))["tokens"]!;
        string request = $$"""{"prompt":{{ids.ToJsonString()}},"max_tokens":8,"temperature":0,"logprobs":2}""";
        var whole = await Wire.JsonAsync(await client.PostAsync("v1/completions", ServerFixture.Json(request)));
        var logprobs = whole["choices"]![0]!["logprobs"]!;
        Assert.Equal((int)whole["usage"]!["completion_tokens"]!, logprobs["token_logprobs"]!.AsArray().Count);
        Assert.All(logprobs["top_logprobs"]!.AsArray(), t => Assert.InRange(t!.AsObject().Count, 1, 2));

        var events = await Wire.SseAsync(await client.PostAsync("v1/completions",
            ServerFixture.Json(request.Replace("}", ""","stream":true,"stream_options":{"include_usage":true}}"""))));
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!).ToList();
        Assert.Empty(chunks[^1]["choices"]!.AsArray());
        var text = new StringBuilder();
        foreach (var c in chunks[..^1]) text.Append((string?)c["choices"]![0]!["text"]);
        Assert.Equal((string?)whole["choices"]![0]!["text"], text.ToString());
        Assert.NotNull((string?)chunks[^2]["choices"]![0]!["finish_reason"]);
    }

    [Fact]
    public async Task Models_ListsTheModelWithRoot()
    {
        using var client = server.CreateClient();
        var body = await Wire.JsonAsync(await client.GetAsync("v1/models"));
        Assert.Equal("list", (string?)body["object"]);
        var model = body["data"]!.AsArray().Single()!;
        Assert.Equal("model", (string?)model["object"]);
        Assert.Equal("seeksharp-r1-tiny", (string?)model["id"]);
        Assert.Equal("seeksharp-r1-tiny", (string?)model["root"]);
        Assert.False(string.IsNullOrEmpty((string?)model["owned_by"]));
        Assert.True((long)model["created"]! > 0);
        var one = await Wire.JsonAsync(await client.GetAsync("v1/models/seeksharp-r1-tiny"));
        Assert.Equal("seeksharp-r1-tiny", (string?)one["id"]);
    }

    [Fact]
    public async Task Tokenize_Detokenize_RoundTrip()
    {
        using var client = server.CreateClient();
        const string text = "What is 347 + 829? Ünïcödé ✓";
        var tokens = (await Wire.JsonAsync(await client.PostAsync("tokenize", ServerFixture.Json($$"""{"content":"{{text}}"}"""))))["tokens"]!.AsArray();
        Assert.NotEmpty(tokens);
        var back = await Wire.JsonAsync(await client.PostAsync("detokenize", ServerFixture.Json($$"""{"tokens":{{tokens.ToJsonString()}}}""")));
        Assert.Equal(text, (string?)back["content"]);
        var pieces = await Wire.JsonAsync(await client.PostAsync("tokenize", ServerFixture.Json($$"""{"content":"{{text}}","with_pieces":true}""")));
        Assert.Equal(tokens.Count, pieces["tokens"]!.AsArray().Count);
        await Wire.OpenAiErrorAsync(await client.PostAsync("detokenize", ServerFixture.Json("""{"tokens":[-1]}""")), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Alias_IsAcceptedAndReported()
    {
        await using var aliased = new AliasServerFixture();
        await aliased.InitializeAsync();
        using var client = aliased.CreateClient();
        var models = await Wire.JsonAsync(await client.GetAsync("v1/models"));
        Assert.Equal("deepseek-reasoner", (string?)models["data"]![0]!["id"]);
        Assert.Equal("seeksharp-r1-tiny", (string?)models["data"]![0]!["root"]);
        var body = await Wire.JsonAsync(await client.PostAsync("v1/chat/completions",
            ServerFixture.Json("""{"model":"deepseek-reasoner","messages":[{"role":"user","content":"hi"}],"max_tokens":2}""")));
        Assert.Equal("deepseek-reasoner", (string?)body["model"]);
    }

    sealed class AliasServerFixture() : ServerFixture(o => o with { Alias = "deepseek-reasoner" }), IAsyncDisposable
    {
        async ValueTask IAsyncDisposable.DisposeAsync() => await DisposeAsync();
    }
}

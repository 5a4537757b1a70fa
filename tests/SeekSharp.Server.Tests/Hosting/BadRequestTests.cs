using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SeekSharp.Server.Tests.Hosting;

/// <summary>Issue 19's list of bad requests: each answers the right 4xx in OpenAI's envelope, and the server goes on serving.</summary>
public sealed class BadRequestTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    const string Good = """{"messages":[{"role":"user","content":"What is 3 + 4?"}],"temperature":0,"max_tokens":4}""";

    async Task<Dictionary<string, System.Text.Json.Nodes.JsonNode?>> PostError(string body, HttpStatusCode status, string path = "v1/chat/completions")
    {
        using var client = server.CreateClient();
        var error = await Wire.OpenAiErrorAsync(await client.PostAsync(path, ServerFixture.Json(body)), status);
        return error.ToDictionary(kv => kv.Key, kv => kv.Value);
    }

    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}""")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],}""")]
    [InlineData("""not json at all""")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}]} trailing""")]
    [InlineData("")]
    [InlineData("null")]
    public async Task MalformedJson_Is400(string body)
    {
        var error = await PostError(body, HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request_error", (string?)error["type"]);
    }

    [Theory]
    [InlineData("""{"messages":"hello"}""", "messages")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"temperature":"hot"}""", "temperature")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"max_tokens":2.5}""", "max_tokens")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"stream":"yes"}""", "stream")]
    [InlineData("""{"messages":[{"role":"user","content":42}]}""", "messages[0].content")]
    [InlineData("""{"messages":[{"role":"wizard","content":"hi"}]}""", "messages[0].role")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"stop":7}""", "stop")]
    [InlineData("""{"messages":[]}""", "messages")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"temperature":-1}""", null)]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"n":0}""", "n")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"top_logprobs":3}""", "top_logprobs")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}],"logit_bias":{"abc":1}}""", "logit_bias")]
    public async Task WrongTypesAndValues_Are400_NamingTheField(string body, string? param)
    {
        var error = await PostError(body, HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request_error", (string?)error["type"]);
        if (param is not null) Assert.Equal(param, (string?)error["param"]);
    }

    [Theory]
    [InlineData("max_tokens")]
    [InlineData("max_completion_tokens")]
    public async Task NegativeMaxTokens_Is400(string field)
    {
        var error = await PostError($$"""{"messages":[{"role":"user","content":"hi"}],"{{field}}":-1}""", HttpStatusCode.BadRequest);
        Assert.Equal(field, (string?)error["param"]);
    }

    [Fact]
    public async Task NegativeMaxTokens_OnCompletions_Is400()
    {
        var error = await PostError("""{"prompt":"hi","max_tokens":-5}""", HttpStatusCode.BadRequest, "v1/completions");
        Assert.Equal("max_tokens", (string?)error["param"]);
    }

    [Fact]
    public async Task UnknownModel_Is404_ModelNotFound()
    {
        var error = await PostError("""{"model":"gpt-17","messages":[{"role":"user","content":"hi"}]}""", HttpStatusCode.NotFound);
        Assert.Equal("model_not_found", (string?)error["code"]);
        Assert.Equal("model", (string?)error["param"]);
        using var client = server.CreateClient();
        await Wire.OpenAiErrorAsync(await client.GetAsync("v1/models/gpt-17"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task PromptOverTheContext_Is400_ContextLengthExceeded()
    {
        string words = string.Join(' ', Enumerable.Repeat("seven hundred and eleven", ServerFixture.DefaultContext));
        var error = await PostError($$"""{"messages":[{"role":"user","content":"{{words}}"}]}""", HttpStatusCode.BadRequest);
        Assert.Equal("context_length_exceeded", (string?)error["code"]);
        // Raw completions go through the scheduler's own check.
        error = await PostError($$"""{"prompt":"{{words}}"}""", HttpStatusCode.BadRequest, "v1/completions");
        Assert.Equal("context_length_exceeded", (string?)error["code"]);
    }

    [Fact]
    public async Task TenMegabyteBody_Is413()
    {
        var body = new StringBuilder("""{"messages":[{"role":"user","content":" """);
        body.Append('x', 10 * 1024 * 1024).Append("\"}]}");
        using var client = server.CreateClient();
        using var response = await client.PostAsync("v1/chat/completions", ServerFixture.Json(body.ToString()));
        var error = await Wire.OpenAiErrorAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("limit", (string?)error["message"]);
        await Wire.JsonAsync(await client.PostAsync("v1/chat/completions", ServerFixture.Json(Good)));
    }

    [Fact]
    public async Task InvalidUtf8_Is400()
    {
        byte[] prefix = Encoding.UTF8.GetBytes("""{"messages":[{"role":"user","content":"caf""");
        byte[] suffix = Encoding.UTF8.GetBytes("\"}]}");
        byte[] body = [.. prefix, 0xC3, 0x28, 0xFF, .. suffix]; // a broken two-byte sequence and a byte UTF-8 never uses
        using var client = server.CreateClient();
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var error = await Wire.OpenAiErrorAsync(await client.PostAsync("v1/chat/completions", content), HttpStatusCode.BadRequest);
        Assert.Contains("UTF-8", (string?)error["message"]);
    }

    [Fact]
    public async Task UnknownUrl_Is404_InTheEnvelope()
    {
        using var client = server.CreateClient();
        await Wire.OpenAiErrorAsync(await client.GetAsync("v1/nothing-here"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task TwoHundredIdleConnections_DoNotBlockOtherClients()
    {
        var idle = new List<TcpClient>();
        try
        {
            using var connecting = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            for (int i = 0; i < 200; i++)
            {
                var socket = new TcpClient();
                idle.Add(socket);
                await socket.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port, connecting.Token);
            }
            // All 200 are open and silent; a real client is still answered, and promptly.
            using var client = server.CreateClient();
            client.Timeout = TimeSpan.FromSeconds(20);
            var body = await Wire.JsonAsync(await client.PostAsync("v1/chat/completions", ServerFixture.Json(Good)));
            Assert.Equal("chat.completion", (string?)body["object"]);
            Assert.True((await client.GetAsync("health")).IsSuccessStatusCode);
            Assert.All(idle, s => Assert.True(s.Connected));
        }
        finally
        {
            foreach (var s in idle) s.Dispose();
        }
    }
}

using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SeekSharp.Server.Tests.OpenAi;

/// <summary>
/// Structured output over both APIs: OpenAI's response_format (json_object, json_schema, llama.cpp's inline schema) on
/// chat and text completions, Ollama's format ("json" or a schema) on /api/chat and /api/generate. The bundled model
/// thinks freely, then its answer is JSON of the schema; a schema beyond the grammar is a 400 naming why.
/// </summary>
public sealed class StructuredOutputTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    const string AnswerSchema = """{"type":"object","properties":{"answer":{"type":"integer"},"sure":{"type":"boolean"}},"required":["answer","sure"]}""";

    static string Chat(string responseFormat, bool stream = false) =>
        $$"""{"model":"seeksharp-r1-tiny","messages":[{"role":"user","content":"What is 347 + 829?"}],"temperature":0,"max_tokens":300,"stream":{{(stream ? "true" : "false")}},"response_format":{{responseFormat}}}""";

    static void AssertAnswer(string content)
    {
        using var doc = JsonDocument.Parse(content);
        Assert.Equal(JsonValueKind.Number, doc.RootElement.GetProperty("answer").ValueKind);
        Assert.Contains(doc.RootElement.GetProperty("sure").ValueKind, new[] { JsonValueKind.True, JsonValueKind.False });
        Assert.Equal(["answer", "sure"], doc.RootElement.EnumerateObject().Select(p => p.Name));
    }

    [Theory]
    [InlineData($$$"""{"type":"json_schema","json_schema":{"name":"sum","strict":true,"schema":{{{AnswerSchema}}}}}""")]
    [InlineData($$"""{"type":"json_object","schema":{{AnswerSchema}}}""")]
    public async Task ChatCompletion_ThinksThenAnswersInTheSchema(string responseFormat)
    {
        using var client = server.CreateClient();
        var body = await Wire.JsonAsync(await client.PostAsync("v1/chat/completions", ServerFixture.Json(Chat(responseFormat))));
        var choice = body["choices"]![0]!;
        Assert.Equal("stop", (string?)choice["finish_reason"]);
        Assert.Contains("347 + 829", (string?)choice["message"]!["reasoning_content"]);
        AssertAnswer((string)choice["message"]!["content"]!);
    }

    // A JSON object: whole when the answer stopped, else (cut by max_tokens: the tiny arithmetic model, free to choose
    // its own keys, may write one without end) the beginning of one.
    static void AssertObjectSoFar(string content, string finish)
    {
        var matcher = SeekSharp.Inference.Sampling.JsonGrammar.AnyObject().CreateMatcher();
        Assert.True(matcher.TryAccept(Encoding.UTF8.GetBytes(content)), content);
        Assert.Equal(finish == "stop", matcher.IsComplete);
        if (finish == "stop") Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(content).RootElement.ValueKind);
    }

    [Theory]
    [InlineData("""{"type":"json_object"}""")]
    [InlineData($$$"""{"type":"json_schema","json_schema":{"name":"sum","schema":{{{AnswerSchema}}}}}""")]
    public async Task ChatCompletion_Streamed(string responseFormat)
    {
        using var client = server.CreateClient();
        var events = await Wire.SseAsync(await client.PostAsync("v1/chat/completions", ServerFixture.Json(Chat(responseFormat, stream: true))));
        var content = new StringBuilder();
        string? finish = null;
        foreach (string e in events.Where(e => e != "[DONE]"))
        {
            var choice = JsonNode.Parse(e)!["choices"]![0];
            content.Append((string?)choice?["delta"]?["content"]);
            finish ??= (string?)choice?["finish_reason"];
        }
        AssertObjectSoFar(content.ToString(), finish!);
        if (responseFormat.Contains("json_schema")) AssertAnswer(content.ToString());
    }

    [Fact]
    public async Task Completion_AnswersInTheSchemaFromTheFirstToken()
    {
        using var client = server.CreateClient();
        var body = await Wire.JsonAsync(await client.PostAsync("v1/completions", ServerFixture.Json(
            """{"model":"seeksharp-r1-tiny","prompt":"347 + 829 =","temperature":0,"max_tokens":100,"response_format":{"type":"json_schema","json_schema":{"name":"sum","schema":""" + AnswerSchema + "}}}")));
        Assert.Equal("stop", (string?)body["choices"]![0]!["finish_reason"]);
        AssertAnswer((string)body["choices"]![0]!["text"]!);
    }

    [Fact]
    public async Task TextFormat_LeavesTheAnswerFree()
    {
        using var client = server.CreateClient();
        var body = await Wire.JsonAsync(await client.PostAsync("v1/chat/completions", ServerFixture.Json(Chat("""{"type":"text"}"""))));
        Assert.Contains("1176", (string?)body["choices"]![0]!["message"]!["content"]);
    }

    [Theory]
    [InlineData("""{"type":"xml"}""", "response_format.type", "text, json_object or json_schema")]
    [InlineData("\"json\"", "response_format", "must be an object")]
    [InlineData("""{"type":"json_schema"}""", "response_format.json_schema", "'schema'")]
    [InlineData("""{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","not":{}}}}""", "response_format.json_schema.schema", "'not' is not supported")]
    [InlineData("""{"type":"json_schema","json_schema":{"name":"x","schema":{"$ref":"#/$defs/gone"}}}""", "response_format.json_schema.schema", "names nothing in the schema")]
    public async Task BadFormats_Are400sNamingWhy(string responseFormat, string param, string message)
    {
        using var client = server.CreateClient();
        var error = await Wire.OpenAiErrorAsync(await client.PostAsync("v1/chat/completions", ServerFixture.Json(Chat(responseFormat))), HttpStatusCode.BadRequest);
        Assert.Equal(param, (string?)error["param"]);
        Assert.Contains(message, (string?)error["message"]);
    }

    [Fact]
    public async Task Ollama_FormatJsonAndSchema()
    {
        using var client = server.CreateClient();
        var chat = await Wire.NdjsonAsync(await client.PostAsync("api/chat", ServerFixture.Json(
            $$$"""{"model":"seeksharp-r1-tiny","messages":[{"role":"user","content":"What is 347 + 829?"}],"stream":false,"format":{{{AnswerSchema}}},"options":{"temperature":0,"num_predict":300}}""")));
        var final = Assert.Single(chat);
        Assert.Equal("stop", (string?)final["done_reason"]);
        Assert.Contains("347 + 829", (string?)final["message"]!["thinking"]);
        AssertAnswer((string)final["message"]!["content"]!);

        var generate = Assert.Single(await Wire.NdjsonAsync(await client.PostAsync("api/generate", ServerFixture.Json(
            """{"model":"seeksharp-r1-tiny","prompt":"What is 12 + 30?","stream":false,"format":"json","options":{"temperature":0,"num_predict":300}}"""))));
        AssertObjectSoFar((string)generate["response"]!, (string)generate["done_reason"]!);

        var bad = await client.PostAsync("api/chat", ServerFixture.Json(
            """{"model":"seeksharp-r1-tiny","messages":[{"role":"user","content":"hi"}],"stream":false,"format":"yaml"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("format must be \\\"json\\\" or a JSON Schema object", await bad.Content.ReadAsStringAsync());
    }
}

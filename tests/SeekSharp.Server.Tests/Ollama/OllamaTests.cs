using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace SeekSharp.Server.Tests.Ollama;

public sealed class OllamaTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    const string Chat = """{"model":"seeksharp-r1-tiny:latest","messages":[{"role":"user","content":"What is 347 + 829?"}],"options":{"temperature":0,"num_predict":300}""";

    static void AssertDone(JsonNode final)
    {
        Assert.True((bool)final["done"]!);
        Assert.Equal("stop", (string?)final["done_reason"]);
        Assert.True((int)final["prompt_eval_count"]! > 0);
        Assert.True((int)final["eval_count"]! > 0);
        Assert.True((long)final["eval_duration"]! > 0);
        Assert.True((long)final["prompt_eval_duration"]! >= 0);
        Assert.True((long)final["load_duration"]! >= 0);
        // Nanoseconds: the whole request took at least its generation.
        Assert.True((long)final["total_duration"]! >= (long)final["eval_duration"]!);
        AssertTime(final["created_at"]!);
    }

    static void AssertTime(JsonNode value) =>
        Assert.True(DateTimeOffset.TryParse((string?)value, CultureInfo.InvariantCulture, DateTimeStyles.None, out _), $"not RFC 3339: {value}");

    [Fact]
    public async Task Chat_NotStreamed_IsOneLine_WithThinkingApart()
    {
        using var client = server.CreateClient();
        using var response = await client.PostAsync("api/chat", ServerFixture.Json(Chat + ""","stream":false,"think":true}"""));
        string body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain('\n', body.TrimEnd('\n'));
        var final = JsonNode.Parse(body)!;
        AssertDone(final);
        Assert.Equal("assistant", (string?)final["message"]!["role"]);
        Assert.Contains("1176", (string?)final["message"]!["content"]);
        Assert.False(string.IsNullOrWhiteSpace((string?)final["message"]!["thinking"]));
        Assert.DoesNotContain("think>", (string?)final["message"]!["content"]);
    }

    [Fact]
    public async Task Chat_Streamed_IsNdjson_MatchingTheWholeAnswer()
    {
        using var client = server.CreateClient();
        var whole = JsonNode.Parse(await (await client.PostAsync("api/chat", ServerFixture.Json(Chat + ""","stream":false}"""))).Content.ReadAsStringAsync())!;
        using var response = await client.PostAsync("api/chat", ServerFixture.Json(Chat + "}"));
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        var lines = await Wire.NdjsonAsync(response);
        Assert.All(lines[..^1], l => Assert.False((bool)l["done"]!));
        AssertDone(lines[^1]);
        var thinking = new StringBuilder();
        var content = new StringBuilder();
        foreach (var l in lines)
        {
            thinking.Append((string?)l["message"]!["thinking"]);
            content.Append((string?)l["message"]!["content"]);
        }
        Assert.Equal((string?)whole["message"]!["thinking"], thinking.ToString());
        Assert.Equal((string?)whole["message"]!["content"], content.ToString());
        Assert.Equal((int)whole["eval_count"]!, (int)lines[^1]["eval_count"]!);
    }

    [Fact]
    public async Task ThinkFalse_HidesTheThinking()
    {
        using var client = server.CreateClient();
        var final = JsonNode.Parse(await (await client.PostAsync("api/chat", ServerFixture.Json(Chat + ""","stream":false,"think":false}"""))).Content.ReadAsStringAsync())!;
        Assert.Null(final["message"]!["thinking"]);
        Assert.Contains("1176", (string?)final["message"]!["content"]);
    }

    [Fact]
    public async Task Generate_Templated_AndRaw()
    {
        using var client = server.CreateClient();
        var templated = (await Wire.NdjsonAsync(await client.PostAsync("api/generate",
            ServerFixture.Json("""{"model":"seeksharp-r1-tiny","prompt":"What is 347 + 829?","stream":false,"options":{"temperature":0,"num_predict":300}}""")))).Single();
        AssertDone(templated);
        Assert.Contains("1176", (string?)templated["response"]);
        Assert.False(string.IsNullOrWhiteSpace((string?)templated["thinking"]));
        Assert.True(templated["context"]!.AsArray().Count > (int)templated["eval_count"]!);

        var raw = await Wire.NdjsonAsync(await client.PostAsync("api/generate",
            ServerFixture.Json("""{"model":"seeksharp-r1-tiny","prompt":"1, 2, 3,","raw":true,"options":{"temperature":0,"num_predict":4,"stop":["zzz"]}}""")));
        Assert.Equal("length", (string?)raw[^1]["done_reason"]);
        Assert.Equal(4, (int)raw[^1]["eval_count"]!);
        Assert.Null(raw[^1]["thinking"]);
    }

    [Fact]
    public async Task EmptyPrompt_LoadsOrUnloads()
    {
        using var client = server.CreateClient();
        var load = (await Wire.NdjsonAsync(await client.PostAsync("api/generate", ServerFixture.Json("""{"model":"seeksharp-r1-tiny","prompt":""}""")))).Single();
        Assert.Equal("load", (string?)load["done_reason"]);
        var unload = (await Wire.NdjsonAsync(await client.PostAsync("api/generate", ServerFixture.Json("""{"model":"seeksharp-r1-tiny","prompt":"","keep_alive":0}""")))).Single();
        Assert.True((bool)unload["done"]!);
        Assert.Equal("unload", (string?)unload["done_reason"]);
    }

    [Fact]
    public async Task Metadata_Tags_Show_Ps_Version_Root()
    {
        using var client = server.CreateClient();
        var tag = (await Wire.JsonAsync(await client.GetAsync("api/tags")))["models"]!.AsArray().Single()!;
        Assert.Equal("seeksharp-r1-tiny:latest", (string?)tag["name"]);
        Assert.Equal("seeksharp-r1-tiny:latest", (string?)tag["model"]);
        Assert.True((long)tag["size"]! > 1_000_000);
        Assert.Equal(64, ((string?)tag["digest"])!.Length);
        Assert.Equal("gguf", (string?)tag["details"]!["format"]);
        AssertTime(tag["modified_at"]!);

        var show = await Wire.JsonAsync(await client.PostAsync("api/show", ServerFixture.Json("""{"model":"seeksharp-r1-tiny"}""")));
        var capabilities = show["capabilities"]!.AsArray().Select(c => (string?)c).ToList();
        Assert.Contains("completion", capabilities);
        Assert.Contains("thinking", capabilities);
        string arch = (string)show["model_info"]!["general.architecture"]!;
        Assert.True((int)show["model_info"]![arch + ".context_length"]! > 0);

        var ps = (await Wire.JsonAsync(await client.GetAsync("api/ps")))["models"]!.AsArray().Single()!;
        Assert.True(DateTime.Parse((string)ps["expires_at"]!, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind) > DateTime.UtcNow);
        Assert.Equal(ServerFixture.DefaultContext, (int)ps["context_length"]!);

        string version = (string)(await Wire.JsonAsync(await client.GetAsync("api/version")))["version"]!;
        Assert.Matches(@"^\d+\.\d+\.\d+$", version);
        Assert.False(string.IsNullOrWhiteSpace(await client.GetStringAsync("")));
    }

    [Fact]
    public async Task Errors_AreOllamaShaped()
    {
        using var client = server.CreateClient();
        await Wire.OllamaErrorAsync(await client.PostAsync("api/chat", ServerFixture.Json("""{"model":"llama9","messages":[{"role":"user","content":"hi"}]}""")), HttpStatusCode.NotFound);
        await Wire.OllamaErrorAsync(await client.PostAsync("api/chat", ServerFixture.Json("""{"model":"seeksharp-r1-tiny","messages":"hi"}""")), HttpStatusCode.BadRequest);
        await Wire.OllamaErrorAsync(await client.PostAsync("api/generate", ServerFixture.Json("""{"model":"seeksharp-r1-tiny","prompt":"hi","options":{"num_predict":-7}}""")), HttpStatusCode.BadRequest);
        await Wire.OllamaErrorAsync(await client.PostAsync("api/show", ServerFixture.Json("""{"model":"nope"}""")), HttpStatusCode.NotFound);
    }
}

using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace SeekSharp.Server.Tests.OpenAi;

public sealed class ChatCompletionsTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    const string Question = "What is 347 + 829?";

    static string Request(string question = Question, bool stream = false, string extra = "") =>
        $$"""{"model":"seeksharp-r1-tiny","messages":[{"role":"user","content":"{{question}}"}],"temperature":0,"max_tokens":300,"stream":{{(stream ? "true" : "false")}}{{extra}}}""";

    static void AssertUsage(JsonNode usage)
    {
        int prompt = (int)usage["prompt_tokens"]!, completion = (int)usage["completion_tokens"]!;
        Assert.True(prompt > 0 && completion > 0);
        Assert.Equal(prompt + completion, (int)usage["total_tokens"]!);
        int cached = (int)usage["prompt_tokens_details"]!["cached_tokens"]!;
        Assert.InRange(cached, 0, prompt);
        Assert.Equal(cached, (int)usage["prompt_cache_hit_tokens"]!);
        Assert.Equal(prompt - cached, (int)usage["prompt_cache_miss_tokens"]!);
        Assert.InRange((int)usage["completion_tokens_details"]!["reasoning_tokens"]!, 1, completion);
    }

    [Fact]
    public async Task Answer_SeparatesReasoningFromContent_WithConsistentUsage()
    {
        using var client = server.CreateClient();
        var body = await Wire.JsonAsync(await client.PostAsync("v1/chat/completions", ServerFixture.Json(Request())));
        Assert.Equal("chat.completion", (string?)body["object"]);
        Assert.StartsWith("chatcmpl-", (string?)body["id"]);
        Assert.True((long)body["created"]! > 1_700_000_000);
        Assert.Equal(server.ModelId, (string?)body["model"]);
        var choice = body["choices"]!.AsArray().Single()!;
        Assert.Equal(0, (int)choice["index"]!);
        Assert.Equal("stop", (string?)choice["finish_reason"]);
        var message = choice["message"]!;
        Assert.Equal("assistant", (string?)message["role"]);
        string reasoning = (string)message["reasoning_content"]!, content = (string)message["content"]!;
        Assert.False(string.IsNullOrWhiteSpace(reasoning));
        Assert.Contains("1176", content);
        foreach (string tag in new[] { "<think>", "</think>" })
        {
            Assert.DoesNotContain(tag, content);
            Assert.DoesNotContain(tag, reasoning);
        }
        AssertUsage(body["usage"]!);
    }

    // A stop string ends the answer, not the thinking (as hosted APIs scope it): the reasoning restates the operands'
    // digits, so a stop of "7" met there would otherwise end the request before any answer.
    [Fact]
    public async Task Stop_EndsTheAnswer_NotTheReasoning()
    {
        using var client = server.CreateClient();
        var whole = (await Wire.JsonAsync(await client.PostAsync("v1/chat/completions", ServerFixture.Json(Request()))))["choices"]![0]!["message"]!;
        string reasoning = (string)whole["reasoning_content"]!, content = (string)whole["content"]!;
        Assert.Contains("7", reasoning);
        int at = content.IndexOf('7');
        Assert.True(at > 0, $"the answer '{content}' should hold a 7 after its first character");

        var stopped = (await Wire.JsonAsync(await client.PostAsync("v1/chat/completions",
            ServerFixture.Json(Request(extra: ""","stop":["7"]""")))))["choices"]![0]!;
        Assert.Equal("stop", (string?)stopped["finish_reason"]);
        Assert.Equal(reasoning, (string)stopped["message"]!["reasoning_content"]!);
        Assert.Equal(content[..at], (string)stopped["message"]!["content"]!);
    }

    [Fact]
    public async Task Stream_RoleFirst_DeltasMatchTheAnswer_FinishLast_UsageChunk_Done()
    {
        using var client = server.CreateClient();
        var whole = await Wire.JsonAsync(await client.PostAsync("v1/chat/completions", ServerFixture.Json(Request())));
        var events = await Wire.SseAsync(await client.PostAsync("v1/chat/completions",
            ServerFixture.Json(Request(stream: true, extra: ""","stream_options":{"include_usage":true}"""))));

        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", (string?)c["object"]));
        Assert.Single(chunks.Select(c => (string?)c["id"]).Distinct());
        Assert.Equal("assistant", (string?)chunks[0]["choices"]![0]!["delta"]!["role"]);

        var usageChunk = chunks[^1];
        Assert.Empty(usageChunk["choices"]!.AsArray());
        AssertUsage(usageChunk["usage"]!);
        var choiceChunks = chunks[..^1];
        Assert.All(choiceChunks[..^1], c => Assert.Null(c["choices"]![0]!["finish_reason"]));
        Assert.Equal("stop", (string?)choiceChunks[^1]["choices"]![0]!["finish_reason"]);

        var reasoning = new StringBuilder();
        var content = new StringBuilder();
        foreach (var c in choiceChunks)
        {
            var delta = c["choices"]![0]!["delta"]!;
            reasoning.Append((string?)delta["reasoning_content"]);
            content.Append((string?)delta["content"]);
        }
        // Temperature 0: the stream carries exactly the non-streamed answer.
        var message = whole["choices"]![0]!["message"]!;
        Assert.Equal((string?)message["reasoning_content"], reasoning.ToString());
        Assert.Equal((string?)message["content"], content.ToString());
        Assert.Equal((int)whole["usage"]!["completion_tokens"]!, (int)usageChunk["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task RepeatedPrompt_ReportsCachedTokens()
    {
        using var client = server.CreateClient();
        string request = Request("Repeat after me: the prefix cache keeps this system prompt. What is 12 + 30?");
        await Wire.JsonAsync(await client.PostAsync("v1/chat/completions", ServerFixture.Json(request)));
        var second = await Wire.JsonAsync(await client.PostAsync("v1/chat/completions", ServerFixture.Json(request)));
        var usage = second["usage"]!;
        Assert.True((int)usage["prompt_tokens_details"]!["cached_tokens"]! > 0, usage.ToJsonString());
        AssertUsage(usage);
    }

    [Fact]
    public async Task MaxTokens_EndsWithLength_AndCountsExactly()
    {
        using var client = server.CreateClient();
        var body = await Wire.JsonAsync(await client.PostAsync("v1/chat/completions",
            ServerFixture.Json("""{"messages":[{"role":"user","content":"What is 5 + 7?"}],"temperature":0,"max_completion_tokens":5}""")));
        Assert.Equal("length", (string?)body["choices"]![0]!["finish_reason"]);
        Assert.Equal(5, (int)body["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task N_GivesDistinctChoices_ReproducibleBySeed()
    {
        using var client = server.CreateClient();
        string request = """{"messages":[{"role":"user","content":"What is 21 + 34?"}],"temperature":1.0,"seed":7,"n":3,"max_tokens":24}""";
        var first = await Wire.JsonAsync(await client.PostAsync("v1/chat/completions", ServerFixture.Json(request)));
        var again = await Wire.JsonAsync(await client.PostAsync("v1/chat/completions", ServerFixture.Json(request)));
        var choices = first["choices"]!.AsArray();
        Assert.Equal([0, 1, 2], choices.Select(c => (int)c!["index"]!));
        string Text(JsonNode c) => (string?)c["message"]!["reasoning_content"] + "|" + (string?)c["message"]!["content"];
        Assert.Equal(choices.Select(c => Text(c!)), again["choices"]!.AsArray().Select(c => Text(c!)));
        int completion = choices.Sum(c => c!["finish_reason"]!.ToString() == "length" ? 24 : 0);
        Assert.True((int)first["usage"]!["completion_tokens"]! >= completion);
    }

    [Fact]
    public async Task N_Streamed_EachChoiceHasItsRoleFirstAndItsFinishLast()
    {
        using var client = server.CreateClient();
        var events = await Wire.SseAsync(await client.PostAsync("v1/chat/completions", ServerFixture.Json(
            """{"messages":[{"role":"user","content":"What is 21 + 34?"}],"temperature":0.9,"seed":3,"n":2,"max_tokens":16,"stream":true,"stream_options":{"include_usage":true}}""")));
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!).ToList();
        var usage = chunks[^1]["usage"]!;
        var byIndex = chunks[..^1].Select(c => c["choices"]![0]!).GroupBy(c => (int)c["index"]!).OrderBy(g => g.Key).ToList();
        Assert.Equal([0, 1], byIndex.Select(g => g.Key));
        foreach (var choice in byIndex)
        {
            var list = choice.ToList();
            Assert.Equal("assistant", (string?)list[0]["delta"]!["role"]);
            Assert.All(list[..^1], c => Assert.Null((string?)c["finish_reason"]));
            Assert.NotNull((string?)list[^1]["finish_reason"]);
        }
        Assert.InRange((int)usage["completion_tokens"]!, 2, 32);
    }

    [Fact]
    public async Task Logprobs_OnePerToken_WithBytesAndAlternatives()
    {
        using var client = server.CreateClient();
        var body = await Wire.JsonAsync(await client.PostAsync("v1/chat/completions",
            ServerFixture.Json("""{"messages":[{"role":"user","content":"What is 2 + 2?"}],"temperature":0,"max_tokens":6,"logprobs":true,"top_logprobs":3}""")));
        var entries = body["choices"]![0]!["logprobs"]!["content"]!.AsArray();
        Assert.Equal((int)body["usage"]!["completion_tokens"]!, entries.Count);
        foreach (var entry in entries)
        {
            Assert.True((float)entry!["logprob"]! <= 0f);
            Assert.NotEmpty(entry["bytes"]!.AsArray());
            var top = entry["top_logprobs"]!.AsArray();
            Assert.Equal(3, top.Count);
            // Greedy: the chosen token is the most likely one.
            Assert.Equal((float)top[0]!["logprob"]!, (float)entry["logprob"]!, 3);
        }
    }

    [Fact]
    public async Task AcceptsReasoningContentInHistory_PartsContent_AndUnknownFields()
    {
        using var client = server.CreateClient();
        string request = """
            {"model":"seeksharp-r1-tiny:latest","messages":[
              {"role":"developer","content":"Answer briefly."},
              {"role":"user","content":[{"type":"text","text":"What is 1 + 1?"}]},
              {"role":"assistant","content":"2","reasoning_content":"1 plus 1 is 2."},
              {"role":"user","content":"And 2 + 2?"}],
             "temperature":0,"max_tokens":8,"stop":["\n\n\n"],"presence_penalty":0.5,"frequency_penalty":0.1,
             "logit_bias":{"5":-100},"user":"someone","service_tier":"auto","chat_template_kwargs":{},"cache_salt":"x"}
            """;
        var body = await Wire.JsonAsync(await client.PostAsync("v1/chat/completions", ServerFixture.Json(request)));
        Assert.Equal("chat.completion", (string?)body["object"]);
    }
}

/// <summary>A client that walks away mid-stream. The scheduler's worker does not wait for the reader, so the answer must be
/// long enough (a context of 16384) that it cannot finish before the disconnect lands, even on a cold server.</summary>
public sealed class DisconnectTests(DisconnectTests.LongAnswerFixture server) : IClassFixture<DisconnectTests.LongAnswerFixture>
{
    public sealed class LongAnswerFixture() : ServerFixture(o => o with { Parallel = 1, ContextLength = 16384 });

    [Fact]
    public async Task ClientDisconnect_CancelsTheGeneration()
    {
        using var client = server.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = ServerFixture.Json("""{"messages":[{"role":"user","content":"Count to a million."}],"max_tokens":16000,"ignore_eos":true,"stream":true}"""),
        };
        using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.StartsWith("data: ", await reader.ReadLineAsync());
        } // disposing the response closes the connection mid-stream
        var deadline = DateTime.UtcNow.AddSeconds(10);
        string metrics;
        do
        {
            await Task.Delay(100);
            metrics = await client.GetStringAsync("metrics");
        } while (!metrics.Contains("vllm:num_requests_running{model_name=\"" + server.ModelId + "\"} 0\n") && DateTime.UtcNow < deadline);
        Assert.Contains("vllm:num_requests_running{model_name=\"" + server.ModelId + "\"} 0\n", metrics);
        Assert.DoesNotMatch("finished_reason=\"abort\"} 0\n", metrics);
    }
}

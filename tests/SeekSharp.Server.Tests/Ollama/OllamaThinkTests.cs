using System.Text.Json.Nodes;

namespace SeekSharp.Server.Tests.Ollama;

/// <summary>The bundled model served with a template that reads the three variables Ollama's think switches.</summary>
public sealed class ThinkTemplateServerFixture() : ServerFixture(o => o with { ChatTemplate = Template })
{
    // Qwen3 closes thinking in the prompt when enable_thinking is false; DeepSeek-V3.1 reads thinking; gpt-oss reasoning_effort.
    public const string Template =
        "{{ bos_token }}{% for m in messages %}<｜User｜>{{ m.content }}{% endfor %}<｜Assistant｜>" +
        "{% if thinking is defined %}{{ 'thinking on' if thinking else 'thinking off' }}{% endif %}" +
        "{% if reasoning_effort is defined %} effort {{ reasoning_effort }}{% endif %}" +
        "{% if enable_thinking is defined and not enable_thinking %}<think>\n\n</think>\n\n{% else %}<think>\n{% endif %}";
}

public sealed class OllamaThinkTests(ThinkTemplateServerFixture server) : IClassFixture<ThinkTemplateServerFixture>
{
    const string Question = "What is 347 + 829?";

    async Task<JsonNode> Generate(string extra)
    {
        using var client = server.CreateClient();
        var lines = await Wire.NdjsonAsync(await client.PostAsync("api/generate", ServerFixture.Json(
            $$"""{"model":"seeksharp-r1-tiny","prompt":"{{Question}}","stream":false,"options":{"temperature":0,"num_predict":24}{{extra}}}""")));
        return Assert.Single(lines);
    }

    // The tokens of the prompt the template should have rendered, counted by the same server (raw: no template).
    async Task<int> PromptTokens(string afterAssistant)
    {
        using var client = server.CreateClient();
        var raw = JsonValue.Create($"<｜User｜>{Question}<｜Assistant｜>{afterAssistant}").ToJsonString();
        var lines = await Wire.NdjsonAsync(await client.PostAsync("api/generate", ServerFixture.Json(
            $$$"""{"model":"seeksharp-r1-tiny","prompt":{{{raw}}},"raw":true,"stream":false,"options":{"num_predict":0}}""")));
        return (int)Assert.Single(lines)["prompt_eval_count"]!;
    }

    [Fact]
    public async Task ThinkReachesTheTemplate_AbsentLeavesItsDefault()
    {
        var absent = await Generate("");
        Assert.Equal(await PromptTokens("<think>\n"), (int)absent["prompt_eval_count"]!);
        Assert.NotNull(absent["thinking"]);

        var on = await Generate(""","think":true""");
        Assert.Equal(await PromptTokens("thinking on<think>\n"), (int)on["prompt_eval_count"]!);
        Assert.NotNull(on["thinking"]);

        // false closes thinking in the prompt (enable_thinking), so whatever the model writes is the answer.
        var off = await Generate(""","think":false""");
        Assert.Equal(await PromptTokens("thinking off<think>\n\n</think>\n\n"), (int)off["prompt_eval_count"]!);
        Assert.Null(off["thinking"]);

        var high = await Generate(""","think":"high" """);
        Assert.Equal(await PromptTokens("thinking on effort high<think>\n"), (int)high["prompt_eval_count"]!);
    }

    [Theory]
    [InlineData("\"maybe\"")]
    [InlineData("1")]
    public async Task AnotherThinkIsRefusedNamingIt(string think)
    {
        using var client = server.CreateClient();
        var response = await client.PostAsync("api/chat", ServerFixture.Json(
            $$"""{"model":"seeksharp-r1-tiny","messages":[{"role":"user","content":"hi"}],"stream":false,"think":{{think}}}"""));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("think must be true, false", await response.Content.ReadAsStringAsync());
    }
}

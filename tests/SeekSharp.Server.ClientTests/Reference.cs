using System.Net;
using System.Text.Json.Nodes;
using SeekSharp.Server.Tests;

namespace SeekSharp.Server.ClientTests;

/// <summary>
/// What the server answers a question at temperature 0, read from the wire with a bare HttpClient: the reference each SDK's
/// view of the same request is compared with, so that a client that drops, merges or misplaces a field is caught.
/// </summary>
public static class Reference
{
    /// <summary>The question every client asks.</summary>
    public const string Question = "What is 347 + 829?";

    /// <summary>Output tokens allowed: room for the tiny model's whole reasoning and answer.</summary>
    public const int MaxTokens = 200;

    /// <summary>One answer: the reasoning and the visible answer kept apart, with the usage counts.</summary>
    public sealed record Answer(string Reasoning, string Content, string FinishReason, int PromptTokens, int CompletionTokens, int ReasoningTokens);

    /// <summary>A non-streaming /v1/chat/completions at temperature 0.</summary>
    public static async Task<Answer> ChatAsync(ServerFixture server, string question = Question, int maxTokens = MaxTokens)
    {
        using var http = server.CreateClient();
        var body = new JsonObject
        {
            ["model"] = server.ModelId,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = question }),
            ["temperature"] = 0,
            ["max_tokens"] = maxTokens,
        };
        using var response = await http.PostAsync("v1/chat/completions", ServerFixture.Json(body.ToJsonString()));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        var json = JsonNode.Parse(text)!;
        var choice = json["choices"]![0]!;
        var usage = json["usage"]!;
        var answer = new Answer((string?)choice["message"]!["reasoning_content"] ?? "", (string?)choice["message"]!["content"] ?? "",
            (string)choice["finish_reason"]!, (int)usage["prompt_tokens"]!, (int)usage["completion_tokens"]!,
            (int)usage["completion_tokens_details"]!["reasoning_tokens"]!);
        // The clients' tests compare against this, so it must be the interesting case: thinking, then an answer.
        Assert.False(string.IsNullOrWhiteSpace(answer.Reasoning), $"no reasoning_content: {text}");
        Assert.False(string.IsNullOrWhiteSpace(answer.Content), $"no content: {text}");
        return answer;
    }
}

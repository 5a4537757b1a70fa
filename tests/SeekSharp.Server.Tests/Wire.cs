using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SeekSharp.Server.Tests;

/// <summary>Reads responses as a client would: JSON, server-sent events, NDJSON, and the OpenAI error envelope.</summary>
public static class Wire
{
    public static async Task<JsonNode> JsonAsync(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!;
    }

    /// <summary>The data payloads of an SSE stream, in order ([DONE] included), checking the framing: every event is
    /// "data: ..." lines followed by a blank line.</summary>
    public static async Task<List<string>> SseAsync(HttpResponseMessage response)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.EndsWith("\n\n", body);
        var events = new List<string>();
        foreach (string block in body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            if (block.StartsWith(':')) continue; // comment (keep-alive)
            Assert.StartsWith("data: ", block);
            events.Add(block["data: ".Length..]);
        }
        return events;
    }

    /// <summary>The lines of an NDJSON body, each parsed (each must be one whole JSON object).</summary>
    public static async Task<List<JsonNode>> NdjsonAsync(HttpResponseMessage response)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        return body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonNode.Parse(line)!).ToList();
    }

    /// <summary>Asserts OpenAI's error envelope with all four keys and returns its error object.</summary>
    public static async Task<JsonObject> OpenAiErrorAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = JsonNode.Parse(body)!["error"] as JsonObject;
        Assert.NotNull(error);
        foreach (string key in new[] { "message", "type", "param", "code" }) Assert.True(error.ContainsKey(key), $"error has no '{key}': {body}");
        Assert.False(string.IsNullOrWhiteSpace((string?)error["message"]));
        Assert.False(string.IsNullOrWhiteSpace((string?)error["type"]));
        return error;
    }

    /// <summary>Asserts Ollama's <c>{"error":"…"}</c>.</summary>
    public static async Task<string> OllamaErrorAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"expected {(int)expected}, got {(int)response.StatusCode}: {body}");
        var error = JsonNode.Parse(body)!["error"];
        Assert.Equal(JsonValueKind.String, error!.GetValueKind());
        return (string)error!;
    }
}

using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using Microsoft.Extensions.AI;
using OpenAI;
using SeekSharp.Chat;
using SeekSharp.Models;
using SeekSharp.Server.Tests;
using ChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace SeekSharp.Server.ClientTests.ExtensionsAi;

/// <summary>
/// Issue 19 item 7: a .NET app switches between the in-process <see cref="LocalChatClient"/> and seek serve by
/// configuration only (README, "Remote mode"). The same questions go through <see cref="AskAsync"/> to both
/// <see cref="IChatClient"/>s, and at temperature 0 they must think and answer alike, reasoning arriving as
/// <see cref="TextReasoningContent"/> in both.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class RemoteModeTests(ServerFixture server)
{
    /// <summary>The switch of the README: an endpoint in the configuration means seek serve, none means in-process.</summary>
    static IChatClient CreateChatClient(string? endpoint, string model, string modelPath) => endpoint is { Length: > 0 }
        ? new OpenAIClient(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(endpoint), RetryPolicy = new ClientRetryPolicy(0) })
            .GetChatClient(model).AsIChatClient()
        : new LocalChatClient(Model.Load(modelPath), contextLength: ServerFixture.DefaultContext, ownsModel: true);

    sealed record Answer(string Reasoning, string Text, ChatFinishReason? FinishReason, UsageDetails? Usage);

    /// <summary>What an app sees of one greedy answer, streamed or not.</summary>
    static async Task<Answer> AskAsync(IChatClient client, bool streaming)
    {
        List<ChatMessage> messages = [new(ChatRole.User, Reference.Question)];
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = Reference.MaxTokens };
        IEnumerable<AIContent> contents;
        ChatResponse response;
        if (streaming)
        {
            var updates = new List<ChatResponseUpdate>();
            await foreach (var update in client.GetStreamingResponseAsync(messages, options)) updates.Add(update);
            Assert.True(updates.Count > 10, $"{updates.Count} updates: not streamed");
            contents = updates.SelectMany(u => u.Contents).ToList();
            // All thinking comes before the answer.
            var kinds = contents.Where(c => c is TextReasoningContent { Text.Length: > 0 } or TextContent { Text.Length: > 0 }).Select(c => c is TextReasoningContent).ToList();
            Assert.True(kinds.SkipWhile(isReasoning => isReasoning).All(isReasoning => !isReasoning), "reasoning updates after the answer began");
            response = updates.ToChatResponse();
        }
        else
        {
            response = await client.GetResponseAsync(messages, options);
            contents = response.Messages.SelectMany(m => m.Contents).ToList();
        }
        var reasoning = new StringBuilder();
        var text = new StringBuilder();
        foreach (var c in contents)
        {
            if (c is TextReasoningContent r) reasoning.Append(r.Text);
            else if (c is TextContent t) text.Append(t.Text);
        }
        return new Answer(reasoning.ToString(), text.ToString(), response.FinishReason, response.Usage);
    }

    [Fact]
    public async Task In_process_and_remote_clients_give_the_same_reasoning_and_answer()
    {
        using IChatClient remote = CreateChatClient(new Uri(server.BaseAddress, "v1").ToString(), server.ModelId, ServerFixture.BundledModelPath());
        using IChatClient local = CreateChatClient(null, server.ModelId, ServerFixture.BundledModelPath());
        Assert.IsType<LocalChatClient>(local);

        var answers = new Dictionary<string, Answer>();
        foreach (var (name, client) in new[] { ("local", local), ("remote", remote) })
            foreach (bool streaming in new[] { false, true })
                answers[$"{name}, {(streaming ? "streaming" : "not streaming")}"] = await AskAsync(client, streaming);

        var baseline = answers["local, not streaming"];
        Assert.False(string.IsNullOrWhiteSpace(baseline.Reasoning));
        Assert.False(string.IsNullOrWhiteSpace(baseline.Text));
        Assert.DoesNotContain("think>", baseline.Text + baseline.Reasoning); // separated, not left in the text as tags
        foreach (var (name, answer) in answers)
        {
            Assert.True(baseline.Reasoning == answer.Reasoning, $"{name}: reasoning differs:\n{answer.Reasoning}\n--- local:\n{baseline.Reasoning}");
            Assert.True(baseline.Text == answer.Text, $"{name}: answer '{answer.Text}', local '{baseline.Text}'");
            Assert.Equal(ChatFinishReason.Stop, answer.FinishReason);
            Assert.NotNull(answer.Usage);
            Assert.Equal(baseline.Usage!.InputTokenCount, answer.Usage.InputTokenCount);
            Assert.Equal(baseline.Usage.OutputTokenCount, answer.Usage.OutputTokenCount);
            Assert.Equal(baseline.Usage.ReasoningTokenCount, answer.Usage.ReasoningTokenCount);
        }
        // And the remote client saw what the wire carried.
        var wire = await Reference.ChatAsync(server);
        Assert.Equal(wire.Reasoning, answers["remote, not streaming"].Reasoning);
        Assert.Equal(wire.Content, answers["remote, not streaming"].Text);
    }

    public sealed record Sum(int Answer, bool Sure);

    /// <summary>Structured output the Microsoft.Extensions.AI way: GetResponseAsync&lt;T&gt; sends T's JSON Schema as
    /// the response format, in process and over the wire alike, and both answers are T's JSON, equal at temperature 0.</summary>
    [Fact]
    public async Task In_process_and_remote_clients_give_the_same_typed_answer()
    {
        using IChatClient remote = CreateChatClient(new Uri(server.BaseAddress, "v1").ToString(), server.ModelId, ServerFixture.BundledModelPath());
        using IChatClient local = CreateChatClient(null, server.ModelId, ServerFixture.BundledModelPath());
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 300 };
        var fromLocal = await local.GetResponseAsync<Sum>(Reference.Question, options);
        var fromRemote = await remote.GetResponseAsync<Sum>(Reference.Question, options);
        Assert.Equal(ChatFinishReason.Stop, fromLocal.FinishReason);
        Assert.Equal(fromLocal.Text, fromRemote.Text);
        // T's shape, in T's property names; the tiny model may write an integer too long for an int, which JSON allows.
        using var doc = System.Text.Json.JsonDocument.Parse(fromLocal.Text);
        Assert.Equal(["answer", "sure"], doc.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Matches("^-?[0-9]+$", doc.RootElement.GetProperty("answer").GetRawText());
        if (fromLocal.TryGetResult(out var sum)) Assert.Equal(sum, fromRemote.Result);
        Assert.Contains("347 + 829", string.Concat(fromLocal.Messages.SelectMany(m => m.Contents).OfType<TextReasoningContent>().Select(r => r.Text)));
    }
}

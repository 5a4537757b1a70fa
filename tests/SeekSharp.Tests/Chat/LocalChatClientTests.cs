using Microsoft.Extensions.AI;
using SeekSharp.Chat;
using SeekSharp.Inference.Sampling;
using SeekSharp.Models;
using ChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace SeekSharp.Tests.Chat;

public class LocalChatClientTests
{
    private static readonly ChatOptions Greedy = new() { Temperature = 0f, MaxOutputTokens = 10 };

    [Fact]
    public async Task StreamingDeliversReasoningAsItsOwnContentThenUsage()
    {
        using var model = Model.Load(ChatModels.R1);
        using IChatClient client = new LocalChatClient(model, 256);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync([new(ChatRole.User, "Why is the sky blue?")], Greedy))
            updates.Add(u);

        Assert.Contains(updates, u => u.Contents.OfType<TextReasoningContent>().Any(r => r.Text.Length > 0));
        Assert.All(updates, u => Assert.Equal(ChatRole.Assistant, u.Role));
        var last = updates[^1];
        Assert.NotNull(last.FinishReason);
        var usage = last.Contents.OfType<UsageContent>().Single().Details;
        Assert.True(usage.InputTokenCount > 0);
        Assert.Equal(usage.OutputTokenCount, usage.ReasoningTokenCount);
        Assert.Single(updates.Select(u => u.ResponseId).Distinct());
    }

    [Fact]
    public async Task NonStreamingResponseMatchesTheEngineAndCarriesUsage()
    {
        using var model = Model.Load(ChatModels.Llama3);
        using IChatClient client = new LocalChatClient(model, 256);
        var response = await client.GetResponseAsync([new(ChatRole.System, "Be brief."), new(ChatRole.User, "Hello")], Greedy);

        using var session = new ChatSession(model, 256);
        var expected = await session.CompleteAsync([SeekSharp.Chat.ChatMessage.System("Be brief."), SeekSharp.Chat.ChatMessage.User("Hello")],
            new ChatGenerationOptions { Sampling = SamplingOptions.Greedy, MaxTokens = 10 });
        Assert.Equal(expected.Content, response.Text);
        Assert.Equal(expected.Usage.CompletionTokens, (int)response.Usage!.OutputTokenCount!);
        Assert.Equal(expected.FinishReason == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop, response.FinishReason);
        Assert.NotNull(client.GetService<ChatClientMetadata>());
    }

    [Fact]
    public async Task CancellationStopsGenerationWithOperationCanceled()
    {
        using var model = Model.Load(ChatModels.R1);
        using IChatClient client = new LocalChatClient(model, 2048); // room for a long answer: the cancel must land before the end
        using var cts = new CancellationTokenSource();
        int seen = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync([new(ChatRole.User, "Go on and on.")], new ChatOptions { Temperature = 0f, MaxOutputTokens = 2000 }, cts.Token))
            {
                seen++;
                cts.Cancel();
            }
        });
        Assert.Equal(1, seen); // nothing generated after the cancel reaches the reader
    }

    [Fact]
    public async Task OptionsAreMapped()
    {
        using var model = Model.Load(ChatModels.Llama3);
        using IChatClient client = new LocalChatClient(model, 256);
        ChatMessage[] messages = [new(ChatRole.User, "Pick a word.")];
        var hot = new ChatOptions { Temperature = 1.5f, TopK = 0, TopP = 1f, Seed = 3, MaxOutputTokens = 8 };
        var a = await client.GetResponseAsync(messages, hot);
        var b = await client.GetResponseAsync(messages, hot);
        var otherSeed = hot.Clone();
        otherSeed.Seed = 4;
        var c = await client.GetResponseAsync(messages, otherSeed);
        Assert.Equal(a.Text, b.Text);
        Assert.NotEqual(a.Text, c.Text);
        var one = await client.GetResponseAsync(messages, new ChatOptions { Temperature = 0f, MaxOutputTokens = 1 });
        Assert.Equal(1, one.Usage!.OutputTokenCount);
    }
}

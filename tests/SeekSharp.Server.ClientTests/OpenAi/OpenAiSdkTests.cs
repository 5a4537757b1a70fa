using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;
using SeekSharp.Server.Tests;

namespace SeekSharp.Server.ClientTests.OpenAi;

/// <summary>The OpenAI .NET SDK against seek serve. The SDK has no property for DeepSeek's reasoning_content, so it is
/// read through the model's JsonPatch, which keeps the fields the SDK does not know.</summary>
[Collection(ServerCollection.Name)]
public sealed class OpenAiSdkTests(ServerFixture server)
{
    OpenAIClient Client() => new(new ApiKeyCredential("unused"), new OpenAIClientOptions
    {
        Endpoint = new Uri(server.BaseAddress, "v1"),
        NetworkTimeout = TimeSpan.FromSeconds(60),
        RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
    });

    ChatClient Chat() => Client().GetChatClient(server.ModelId);

    static ChatCompletionOptions Greedy(int maxTokens = Reference.MaxTokens) => new() { Temperature = 0, MaxOutputTokenCount = maxTokens };

    [Fact]
    public async Task CompleteChat_returns_the_reasoning_apart_from_the_answer_with_usage()
    {
        var expected = await Reference.ChatAsync(server);

        ChatCompletion completion = await Chat().CompleteChatAsync([new UserChatMessage(Reference.Question)], Greedy());

        Assert.True(completion.Patch.TryGetValue("$.choices[0].message.reasoning_content"u8, out string? reasoning), "no reasoning_content in the patch");
        Assert.Equal(expected.Reasoning, reasoning);
        Assert.Equal(expected.Content, Assert.Single(completion.Content).Text);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(server.ModelId, completion.Model);
        Assert.Equal(expected.PromptTokens, completion.Usage.InputTokenCount);
        Assert.Equal(expected.CompletionTokens, completion.Usage.OutputTokenCount);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
        Assert.Equal(expected.ReasoningTokens, completion.Usage.OutputTokenDetails.ReasoningTokenCount);
        Assert.InRange(completion.Usage.OutputTokenDetails.ReasoningTokenCount, 1, completion.Usage.OutputTokenCount - 1);
    }

    [Fact]
    public async Task CompleteChatStreaming_sends_reasoning_deltas_before_content_deltas_and_usage_last()
    {
        var expected = await Reference.ChatAsync(server);

        var reasoning = new StringBuilder();
        var content = new StringBuilder();
        int updates = 0, lastReasoning = -1, firstContent = -1;
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in Chat().CompleteChatStreamingAsync([new UserChatMessage(Reference.Question)], Greedy()))
        {
            updates++;
            if (update.Patch.TryGetValue("$.choices[0].delta.reasoning_content"u8, out string? r) && !string.IsNullOrEmpty(r))
            {
                reasoning.Append(r);
                lastReasoning = updates;
            }
            foreach (var part in update.ContentUpdate)
            {
                if (part.Text.Length > 0 && firstContent < 0) firstContent = updates;
                content.Append(part.Text);
            }
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal(expected.Reasoning, reasoning.ToString());
        Assert.Equal(expected.Content, content.ToString());
        Assert.True(lastReasoning < firstContent, $"reasoning delta {lastReasoning} came after the first content delta {firstContent}");
        Assert.True(updates > 10, $"the answer came in {updates} updates: not streamed");
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.NotNull(usage); // the SDK asks for include_usage itself
        Assert.Equal(expected.PromptTokens, usage.InputTokenCount);
        Assert.Equal(expected.CompletionTokens, usage.OutputTokenCount);
        Assert.Equal(expected.ReasoningTokens, usage.OutputTokenDetails.ReasoningTokenCount);
    }

    [Fact]
    public async Task A_repeated_prompt_reports_cached_tokens()
    {
        // A question no other test asks, so that its first sight can only hit the cache for the template's opening tokens.
        int a = Random.Shared.Next(100, 1000), b = Random.Shared.Next(100, 1000);
        ChatMessage[] messages = [new SystemChatMessage($"Answer question {Guid.NewGuid():N} briefly."), new UserChatMessage($"What is {a} + {b}?")];

        ChatCompletion first = await Chat().CompleteChatAsync(messages, Greedy(4));
        ChatCompletion second = await Chat().CompleteChatAsync(messages, Greedy(4));

        int prompt = second.Usage.InputTokenCount;
        Assert.Equal(first.Usage.InputTokenCount, prompt);
        int firstCached = first.Usage.InputTokenDetails.CachedTokenCount, secondCached = second.Usage.InputTokenDetails.CachedTokenCount;
        Assert.InRange(secondCached, 1, prompt);
        Assert.True(secondCached > firstCached, $"the repeat reused {secondCached} cached tokens, the first sight {firstCached}");
        // The SDK reads DeepSeek's own counters too, through the patch.
        Assert.True(second.Patch.TryGetValue("$.usage.prompt_cache_hit_tokens"u8, out int hit));
        Assert.True(second.Patch.TryGetValue("$.usage.prompt_cache_miss_tokens"u8, out int miss));
        Assert.Equal(secondCached, hit);
        Assert.Equal(prompt - secondCached, miss);
    }

    [Fact]
    public async Task A_max_token_limit_ends_with_finish_reason_length()
    {
        const int limit = 8;
        var whole = await Reference.ChatAsync(server);
        Assert.True(whole.ReasoningTokens > limit, $"the model thinks for {whole.ReasoningTokens} tokens only: the limit would not cut its reasoning");

        ChatCompletion completion = await Chat().CompleteChatAsync([new UserChatMessage(Reference.Question)], Greedy(limit));

        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(limit, completion.Usage.OutputTokenCount);
        // The cut falls inside the reasoning: no answer text is made up.
        Assert.True(completion.Patch.TryGetValue("$.choices[0].message.reasoning_content"u8, out string? reasoning));
        Assert.False(string.IsNullOrEmpty(reasoning));
        Assert.True(completion.Content.Count == 0 || completion.Content.All(p => p.Text.Length == 0));
    }

    [Fact]
    public async Task An_unknown_model_raises_the_SDKs_404_with_the_servers_message()
    {
        var chat = Client().GetChatClient("no-such-model");

        var error = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage(Reference.Question)], Greedy(4)));

        Assert.Equal(404, error.Status);
        Assert.Contains("no-such-model", error.Message);
        Assert.Contains("model_not_found", error.GetRawResponse()!.Content.ToString());
    }

    [Fact]
    public async Task OpenAIModelClient_lists_and_gets_the_served_model()
    {
        var models = Client().GetOpenAIModelClient();

        OpenAIModelCollection list = await models.GetModelsAsync();
        OpenAIModel model = await models.GetModelAsync(server.ModelId);

        Assert.Contains(list, m => m.Id == server.ModelId);
        Assert.Equal(server.ModelId, model.Id);
        Assert.Equal("seeksharp", model.OwnedBy);
        Assert.InRange(model.CreatedAt, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddMinutes(1));
    }
}

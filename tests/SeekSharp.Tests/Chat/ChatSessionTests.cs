using SeekSharp.Chat;
using SeekSharp.Inference;
using SeekSharp.Inference.Sampling;
using SeekSharp.Models;

namespace SeekSharp.Tests.Chat;

public class ChatSessionTests
{
    private static readonly ChatGenerationOptions Greedy = new() { Sampling = SamplingOptions.Greedy, MaxTokens = 12 };

    [Fact]
    public async Task R1PrefilledThinkingMakesTheOutputReasoningUntilTheModelClosesIt()
    {
        using var model = Model.Load(ChatModels.R1);
        using var session = new ChatSession(model, 256);
        Assert.True(session.IsR1);
        Assert.Equal(0.6f, session.DefaultSampling.Temperature);
        Assert.EndsWith("<｜Assistant｜><think>\n", session.Formatter.Render([ChatMessage.User("Hi")], addGenerationPrompt: true));

        var reply = await session.CompleteAsync([ChatMessage.User("What is 2 + 2?")], Greedy);
        // A random model never writes "</think>": all it says is thinking, and it counts as such.
        Assert.Equal(reply.Usage.CompletionTokens, reply.Usage.ReasoningTokens);
        Assert.Equal("", reply.Content);
        Assert.False(string.IsNullOrEmpty(reply.Reasoning));
        Assert.True(reply.FinishReason == FinishReason.Length ? reply.Usage.CompletionTokens == 12 : reply.FinishReason == FinishReason.Stop);
    }

    [Fact]
    public async Task ModelsWithoutReasoningGiveOnlyContent()
    {
        using var model = Model.Load(ChatModels.Llama3);
        using var session = new ChatSession(model, 256);
        Assert.False(session.IsR1);
        var reply = await session.CompleteAsync([ChatMessage.User("Hello")], Greedy);
        Assert.Null(reply.Reasoning);
        Assert.Equal(0, reply.Usage.ReasoningTokens);
        Assert.True(reply.Usage.CompletionTokens > 0);
    }

    [Fact]
    public async Task FollowUpTurnReusesTheSharedPrefixAndAnswersAsAFreshSessionWould()
    {
        using var model = Model.Load(ChatModels.Llama3);
        var first = new List<ChatMessage> { ChatMessage.System("Be brief."), ChatMessage.User("Name a colour.") };
        using var session = new ChatSession(model, 256);
        var r1 = await session.CompleteAsync(first, Greedy);
        Assert.Equal(0, r1.Usage.CachedPromptTokens);

        var second = new List<ChatMessage>(first) { ChatMessage.Assistant(r1.Content), ChatMessage.User("Another one?") };
        var r2 = await session.CompleteAsync(second, Greedy);
        int[] before = session.Formatter.Tokenize(session.Formatter.Render(first, true));
        Assert.True(r2.Usage.CachedPromptTokens >= before.Length, $"reused {r2.Usage.CachedPromptTokens} tokens, the first prompt alone had {before.Length}");
        Assert.True(r2.Usage.CachedPromptTokens < r2.Usage.PromptTokens);

        using var fresh = new ChatSession(model, 256);
        var expected = await fresh.CompleteAsync(second, Greedy);
        Assert.Equal(0, expected.Usage.CachedPromptTokens);
        Assert.Equal(expected.Content, r2.Content);
    }

    [Fact]
    public async Task OverflowIsAnErrorByDefaultAndDropsOldestTurnsOnRequest()
    {
        using var model = Model.Load(ChatModels.Llama3);
        using var session = new ChatSession(model, 96);
        var history = new List<ChatMessage> { ChatMessage.System("You are terse.") };
        for (int i = 0; i < 6; i++)
        {
            history.Add(ChatMessage.User($"Question number {i}: what comes after {i}?"));
            history.Add(ChatMessage.Assistant($"The number {i + 1} comes after {i}."));
        }
        history.Add(ChatMessage.User("And now?"));

        var error = await Assert.ThrowsAsync<ContextOverflowException>(() => session.CompleteAsync(history, Greedy));
        Assert.True(error.Needed > 96);

        var reply = await session.CompleteAsync(history, Greedy with { Overflow = ContextOverflowPolicy.DropOldestTurns, MaxTokens = 4 });
        Assert.True(reply.Usage.PromptTokens < 96);
    }

    [Fact]
    public async Task CancellationEndsTheReplyPromptly()
    {
        using var model = Model.Load(ChatModels.R1);
        // A long limit: the worker, which does not wait for the reader, must not be able to finish before the cancel lands
        // even when the reader's thread is slow to run (a busy machine).
        using var session = new ChatSession(model, 2048);
        using var cts = new CancellationTokenSource();
        var updates = new List<ChatUpdate>();
        await foreach (var u in session.StreamAsync([ChatMessage.User("Tell me a long story.")], Greedy with { MaxTokens = 2000 }, cts.Token))
        {
            updates.Add(u);
            cts.Cancel();
        }
        // The scheduler's worker runs ahead of the reader, so a few tokens may be generated before it sees the cancel;
        // the reader gets none of them: after the first update only the final one, preceded at most by the text the
        // first token's decoding held back (a possible tag or trailing whitespace), which the end releases.
        Assert.InRange(updates.Count, 2, 3);
        Assert.All(updates.Skip(1).SkipLast(1), u => Assert.True(string.IsNullOrWhiteSpace(u.Text) || u.Text.Length <= 16, $"released after the cancel: '{u.Text}'"));
        var final = updates[^1];
        Assert.Equal(ChatUpdateKind.Final, final.Kind);
        Assert.Equal(FinishReason.Cancelled, final.FinishReason);
        Assert.True(final.Usage!.CompletionTokens < 1000, $"generated {final.Usage.CompletionTokens} tokens after cancelling");
    }

    [Fact]
    public async Task StopSequenceCutsTheAnswerBeforeIt()
    {
        using var model = Model.Load(ChatModels.Llama3);
        using var session = new ChatSession(model, 256);
        var messages = new List<ChatMessage> { ChatMessage.User("Count for me.") };
        var free = await session.CompleteAsync(messages, Greedy with { MaxTokens = 16 });
        Assert.True(free.Content.Length >= 6, $"need some text to cut, got '{free.Content}'");
        string stop = free.Content.Substring(free.Content.Length / 2, 2);
        int at = free.Content.IndexOf(stop, StringComparison.Ordinal);

        var cut = await session.CompleteAsync(messages, Greedy with { MaxTokens = 16, StopSequences = [stop] });
        Assert.Equal(free.Content[..at], cut.Content);
        Assert.Equal(FinishReason.Stop, cut.FinishReason);
    }
}

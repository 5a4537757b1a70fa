using SeekSharp.Chat;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Inference;
using SeekSharp.Inference.Sampling;
using SeekSharp.Models;
using SeekSharp.Serving;

namespace SeekSharp.Tests.Serving;

/// <summary>
/// The scheduler against itself run one request at a time: at temperature 0 every request of a busy batch (chunked
/// prompts, shared prefixes, preemption when the KV pool runs short) gives exactly the tokens it gives alone; cancelled
/// requests free their pages; the queue and the context are bounded.
/// </summary>
public class SchedulerTests
{
    private static string Bundled => Path.Combine(RealTokenizers.RepoRoot(), "models", "seeksharp-r1-tiny.gguf");

    private static readonly string[] Questions =
    [
        "What is 347 + 829?", "What is 12 + 5?", "What is 901 - 456?", "What is 23 * 7?",
        "Compute 555 + 445.", "What is 80 - 79?", "What is 999 + 1?", "How much is 64 * 12?",
    ];

    private static GenerationRequest Request(ChatModel chat, string question, int contextLength, int maxTokens = 48, IReadOnlyList<ChatMessage>? history = null)
    {
        var messages = new List<ChatMessage>(history ?? []) { ChatMessage.User(question) };
        return chat.Prepare(messages, new ChatGenerationOptions { Sampling = SamplingOptions.Greedy, MaxTokens = maxTokens }, contextLength).Request;
    }

    private static async Task<(List<int> Tokens, GenerationEvent Final)> Collect(GenerationStream stream)
    {
        var tokens = new List<int>();
        GenerationEvent? final = null;
        await foreach (var e in stream)
        {
            if (e.Kind == GenerationEventKind.Token) tokens.Add(e.Token);
            else final = e;
        }
        return (tokens, final!);
    }

    private static async Task<List<int>[]> Alone(Model model, IReadOnlyList<GenerationRequest> requests)
    {
        using var scheduler = new Scheduler(model, new SchedulerOptions { ContextLength = 512, Parallel = 1, PrefixCaching = false });
        var results = new List<int>[requests.Count];
        for (int i = 0; i < requests.Count; i++) results[i] = (await Collect(scheduler.Submit(requests[i]))).Tokens;
        return results;
    }

    [Theory]
    [InlineData(4, 0, 256)]    // a pool that holds every sequence's whole context
    [InlineData(4, 192, 24)]   // a pool of 12 pages of 16 for 4 sequences of about 80 positions: preemption, and prompts read in chunks of a small batch
    public async Task GreedyRequestsInABusyBatchGiveTheirTokensAlone(int parallel, int kvSize, int batchSize)
    {
        using var model = Model.Load(Bundled);
        var chat = new ChatModel(model);
        var requests = Questions.Select(q => Request(chat, q, 512)).ToList();
        var alone = await Alone(model, requests);

        using var scheduler = new Scheduler(model, new SchedulerOptions { ContextLength = 160, Parallel = parallel, KvSize = kvSize, PageSize = 16, BatchSize = batchSize });
        var streams = requests.Select(r => scheduler.Submit(r)).ToList();
        var together = await Task.WhenAll(streams.Select(Collect));
        for (int i = 0; i < requests.Count; i++)
        {
            Assert.True(alone[i].Count > 0);
            Assert.Equal(alone[i], together[i].Tokens);
        }
        var stats = scheduler.GetStats();
        Assert.Equal(0, stats.Running);
        Assert.Equal(0, stats.Waiting);
        Assert.Equal(0, stats.KvPagesInUse);
        if (kvSize > 0) Assert.True(stats.Preemptions > 0, "the small pool should have preempted a sequence");
        Assert.True(stats.Steps < requests.Sum(r => r.Prompt.Length + 48), "requests should share forward passes");
    }

    // Random-weight models of the other cache layouts: MLA's latent rows (both up-projection layouts, so both attention
    // paths) and grouped-query K/V, over pages of 16 with prompts that share a prefix and are read in chunks.
    [Theory]
    [InlineData("deepseek2")]
    [InlineData("deepseek2-kvb")]
    [InlineData("qwen2")]
    public async Task EveryCacheLayoutGivesTheSameTokensInABusyBatch(string arch)
    {
        var options = arch == "qwen2"
            ? new TinyModelOptions { Architecture = TinyArchitecture.Qwen2, Dim = 64, Heads = 4, KvHeads = 2, FfnDim = 96, Layers = 2, Tokenizer = TinyTokenizer.SyntheticPadded(300), ContextLength = 256, Seed = 11 }
            : TinyDeepSeek2.Options(TinyDeepSeek2.V3Like, splitKvB: arch == "deepseek2") with { Tokenizer = TinyTokenizer.SyntheticPadded(300) };
        using var model = Model.Load(TinyModelBuilder.GetOrBuild(options));
        var random = new Random(5);
        int[] shared = Enumerable.Range(0, 37).Select(_ => random.Next(3, 290)).ToArray();
        var requests = Enumerable.Range(0, 6).Select(i => new GenerationRequest
        {
            Prompt = [.. (i % 2 == 0 ? shared : []), .. Enumerable.Range(0, 5 + 9 * i).Select(_ => random.Next(3, 290))],
            Sampling = SamplingOptions.Greedy, MaxTokens = 20, IgnoreEos = true,
        }).ToList();
        var alone = await Alone(model, requests);
        using var scheduler = new Scheduler(model, new SchedulerOptions { ContextLength = 256, Parallel = 3, PageSize = 16, BatchSize = 32 });
        var together = await Task.WhenAll(requests.Select(r => Collect(scheduler.Submit(r))));
        for (int i = 0; i < requests.Count; i++) Assert.Equal(alone[i], together[i].Tokens);
        Assert.True(together.Sum(t => t.Final.Usage!.CachedTokens) > 0, "the shared prefix should have been reused");
    }

    [Fact]
    public async Task APromptSharingAPrefixReusesItsCacheAndGivesTheSameTokens()
    {
        using var model = Model.Load(Bundled);
        var chat = new ChatModel(model);
        // The second conversation is the first one continued: its prompt starts with all of the first's prompt.
        var first = Request(chat, "What is 347 + 829?", 512);
        using var scheduler = new Scheduler(model, new SchedulerOptions { ContextLength = 512, Parallel = 2, PageSize = 16 });
        var (firstTokens, firstFinal) = await Collect(scheduler.Submit(first));
        Assert.Equal(0, firstFinal.Usage!.CachedTokens);
        string answer = model.Tokenizer.Decode(firstTokens.ToArray());
        var history = new List<ChatMessage> { ChatMessage.User("What is 347 + 829?"), ChatMessage.Assistant(ReasoningStripped(answer)) };
        var second = Request(chat, "What is 12 + 5?", 512, history: history);
        var (secondTokens, secondFinal) = await Collect(scheduler.Submit(second));

        int common = 0;
        while (common < first.Prompt.Length && first.Prompt[common] == second.Prompt[common]) common++;
        Assert.True(common > 8, $"the prompts share {common} tokens");
        // Token-exact reuse: whole pages shared, the page where the prompts part copied up to the last common token.
        Assert.Equal(common, secondFinal.Usage!.CachedTokens);
        Assert.Equal((await Alone(model, [second]))[0], secondTokens);
        Assert.Equal(0, scheduler.GetStats().KvPagesInUse);
        Assert.True(scheduler.GetStats().KvPagesCached > 0);
    }

    private static string ReasoningStripped(string text) => ChatModelText.AfterThink(text);

    [Fact]
    public async Task SamplesOfOnePromptShareItsPagesWhileTheyRun()
    {
        using var model = Model.Load(Bundled);
        var chat = new ChatModel(model);
        var request = Request(chat, "What is 347 + 829? Explain every column.", 512, maxTokens: 24);
        using var scheduler = new Scheduler(model, new SchedulerOptions { ContextLength = 512, Parallel = 4, PageSize = 16 });
        var (_, firstFinal) = await Collect(scheduler.Submit(request));
        var sampled = request with { Sampling = new SamplingOptions { Temperature = 1f, Seed = 7 } };
        var finals = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => Collect(scheduler.Submit(sampled with { Sampling = sampled.Sampling with { Seed = i } }))));
        foreach (var (_, final) in finals) Assert.Equal(request.Prompt.Length - 1, final.Usage!.CachedTokens);
        Assert.Equal(0, firstFinal.Usage!.CachedTokens);
    }

    [Fact]
    public async Task CancellingDropsTheSequenceAndFreesItsPages()
    {
        using var model = Model.Load(Bundled);
        var chat = new ChatModel(model);
        using var scheduler = new Scheduler(model, new SchedulerOptions { ContextLength = 2048, Parallel = 2, PageSize = 16 });
        using var cts = new CancellationTokenSource();
        var stream = scheduler.Submit(Request(chat, "What is 347 + 829?", 2048, maxTokens: 2000) with { IgnoreEos = true }, cts.Token);
        var other = scheduler.Submit(Request(chat, "What is 12 + 5?", 2048));
        GenerationEvent? final = null;
        int tokens = 0;
        await foreach (var e in stream)
        {
            if (e.Kind == GenerationEventKind.Token && ++tokens == 3) cts.Cancel();
            if (e.Kind == GenerationEventKind.Final) final = e;
        }
        Assert.Equal(FinishReason.Cancelled, final!.FinishReason);
        Assert.True(final.Usage!.CompletionTokens < 1000); // the worker does not wait for the reader, but stops once it sees the cancel
        var (_, otherFinal) = await Collect(other);
        Assert.NotEqual(FinishReason.Cancelled, otherFinal.FinishReason);
        var stats = scheduler.GetStats();
        Assert.Equal(0, stats.KvPagesInUse);
        Assert.Equal(0, stats.Running);
        Assert.Equal(1, stats.FinishedCancelled);
    }

    [Fact]
    public async Task TheWaitingQueueIsBoundedAndPromptsMustLeaveRoom()
    {
        using var model = Model.Load(Bundled);
        var chat = new ChatModel(model);
        using var scheduler = new Scheduler(model, new SchedulerOptions { ContextLength = 128, Parallel = 1, MaxWaiting = 1 });
        var endless = Request(chat, "What is 1 + 1?", 128, maxTokens: 100) with { IgnoreEos = true };
        using var a = scheduler.Submit(endless);
        using var b = scheduler.Submit(endless);
        var full = Assert.Throws<QueueFullException>(() => scheduler.Submit(endless));
        Assert.Contains("busy", full.Message);
        var overflow = Assert.Throws<ContextOverflowException>(() => scheduler.Submit(new GenerationRequest { Prompt = Enumerable.Repeat(5, 128).ToArray() }));
        Assert.Equal(128, overflow.ContextLength);
        Assert.Throws<ArgumentException>(() => scheduler.Submit(new GenerationRequest { Prompt = [model.Config.VocabSize] }));
        Assert.Throws<ArgumentException>(() => scheduler.Submit(new GenerationRequest { Prompt = [1], LogitBias = new Dictionary<int, float> { [-1] = 5 } }));
        a.Cancel();
        b.Cancel();
        await Collect(a);
        await Collect(b);
    }

    [Fact]
    public async Task LogitBiasAndLogprobsFollowTheLogits()
    {
        using var model = Model.Load(Bundled);
        var chat = new ChatModel(model);
        using var scheduler = new Scheduler(model, new SchedulerOptions { ContextLength = 256, Parallel = 1 });
        var request = Request(chat, "What is 2 + 2?", 256, maxTokens: 4) with { TopLogprobs = 5 };
        var (tokens, _) = await Collect(scheduler.Submit(request));
        var events = new List<GenerationEvent>();
        await foreach (var e in scheduler.Submit(request)) if (e.Kind == GenerationEventKind.Token) events.Add(e);
        // Greedy picks the most likely token, which heads the top list; log-probabilities are at most 0 and descend.
        foreach (var e in events)
        {
            Assert.Equal(e.Token, e.TopLogprobs![0].Token);
            Assert.Equal(e.Logprob, e.TopLogprobs[0].Logprob);
            Assert.True(e.Logprob <= 0);
            for (int i = 1; i < e.TopLogprobs.Count; i++) Assert.True(e.TopLogprobs[i].Logprob <= e.TopLogprobs[i - 1].Logprob);
        }
        // Banning the first greedy token changes the first token.
        var banned = request with { LogitBias = new Dictionary<int, float> { [tokens[0]] = -100 } };
        var (other, _) = await Collect(scheduler.Submit(banned));
        Assert.NotEqual(tokens[0], other[0]);
    }
}

internal static class ChatModelText
{
    public static string AfterThink(string text)
    {
        int end = text.IndexOf("</think>", StringComparison.Ordinal);
        return end < 0 ? text : text[(end + "</think>".Length)..].Trim();
    }
}

using BenchmarkDotNet.Attributes;
using SeekSharp.Chat;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Inference.Sampling;
using SeekSharp.Models;

namespace SeekSharp.Benchmarks;

/// <summary>
/// A follow-up chat turn: with the session's KV cache holding the conversation so far, only the new text is evaluated;
/// from an empty cache, the whole conversation is. Both answer the same 13-message conversation (Llama 3.1 template)
/// with 4 greedy tokens on a random-weight qwen2 model of width 512, 4 layers.
/// </summary>
[WarmupCount(1)]
[IterationCount(7)]
[InvocationCount(1)]
public class ChatBenchmarks : IDisposable
{
    private Model _model = null!;
    private ChatSession _session = null!;
    private List<ChatMessage> _history = null!;      // everything but the last user message
    private List<ChatMessage> _conversation = null!; // history + the follow-up question
    private readonly ChatGenerationOptions _options = new() { Sampling = SamplingOptions.Greedy, MaxTokens = 4 };

    [GlobalSetup]
    public void Setup()
    {
        string path = TinyModelBuilder.GetOrBuild(new TinyModelOptions
        {
            Architecture = TinyArchitecture.Qwen2, Dim = 512, Heads = 8, KvHeads = 2, FfnDim = 1024, Layers = 4,
            Tokenizer = RealTokenizers.Llama31, ContextLength = 1024, Seed = 1,
        });
        _model = Model.Load(path);
        _session = new ChatSession(_model, 1024);
        _history = [ChatMessage.System("You are a patient teacher who answers in full sentences.")];
        for (int i = 0; i < 6; i++)
        {
            _history.Add(ChatMessage.User($"Question {i}: why does the number {i} come before {i + 1}, and what follows {i + 1}?"));
            _history.Add(ChatMessage.Assistant($"Because counting adds one each step: {i} plus one is {i + 1}, and {i + 1} plus one is {i + 2}, which follows it."));
        }
        _conversation = [.. _history, ChatMessage.User("So what comes after 7?")];
    }

    /// <summary>The cache holds the history, as after the previous turn's answer.</summary>
    [IterationSetup(Target = nameof(FollowUpReusingCache))]
    public void PrimeCache()
    {
        _session.Reset();
        var previous = _history[..^1];
        _session.CompleteAsync(previous, _options with { MaxTokens = 1 }).GetAwaiter().GetResult();
    }

    [IterationSetup(Target = nameof(FollowUpFromEmptyCache))]
    public void EmptyCache() => _session.Reset();

    [Benchmark]
    public ChatReply FollowUpReusingCache() => _session.CompleteAsync(_conversation, _options).GetAwaiter().GetResult();

    [Benchmark(Baseline = true)]
    public ChatReply FollowUpFromEmptyCache() => _session.CompleteAsync(_conversation, _options).GetAwaiter().GetResult();

    public void Dispose()
    {
        _session?.Dispose();
        _model?.Dispose();
        GC.SuppressFinalize(this);
    }
}

using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Inference;
using SeekSharp.Inference.Sampling;
using SeekSharp.Kernels;
using SeekSharp.Training.Sampling;

namespace SeekSharp.Training.Tests.Sampling;

/// <summary>
/// Batched sampling must give each sequence what single-sequence generation (<see cref="Generator"/>) gives it: the
/// same greedy tokens, the same seeded draws, and its own stopping point.
/// </summary>
public sealed class CompletionSamplerTests : IDisposable
{
    private static readonly TinyModelOptions Options = new() { Dim = 32, Layers = 2, Heads = 4, KvHeads = 2, FfnDim = 64, ContextLength = 128, Seed = 7 };
    private static readonly string[] PromptTexts = ["Hi", "The quick brown fox", "a", "12 + 34 = ? Let us think step by step about it."];

    private readonly string _dir = Directory.CreateTempSubdirectory("seeksharp-sampler-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private SeekSharp.Models.Model LoadModel(int? eosOverride = null)
    {
        var writer = TinyModelBuilder.CreateWriter(Options);
        if (eosOverride is int eos) writer.Set("tokenizer.ggml.eos_token_id", (uint)eos);
        string path = Path.Combine(_dir, $"tiny-{eosOverride}.gguf");
        writer.Write(path);
        return SeekSharp.Models.Model.Load(path);
    }

    private static int[][] Prompts(SeekSharp.Models.Model model) => [.. PromptTexts.Select(t => model.Tokenizer.Encode(t))];

    // What Generator yields for one prompt alone, plus whether it stopped before the limit (at end of generation).
    private static (int[] Tokens, bool Stopped) Reference(SeekSharp.Models.Model model, int[] prompt, SamplingOptions sampling, int maxNew)
    {
        using var context = model.CreateContext(new ContextOptions { ContextLength = 128, Threads = 1, KvCacheType = GgmlType.F32 });
        int[] tokens = [.. Generator.Generate(context, prompt, sampling, maxNew)];
        return (tokens, tokens.Length < maxNew);
    }

    [Theory]
    [InlineData(512)] // all prompts in one prefill batch
    [InlineData(5)]   // prompts split across prefill batches, several sharing one
    public void GreedyCompletionsEqualSingleSequenceGeneration(int prefillBatch)
    {
        using var model = LoadModel();
        int[][] prompts = Prompts(model);
        Assert.True(prompts.Select(p => p.Length).Distinct().Count() == prompts.Length, "prompts should have different lengths");
        Assert.True(prompts.Sum(p => p.Length) > 2 * prefillBatch || prefillBatch > 100);
        const int group = 3, maxNew = 12;
        using var sampler = new CompletionSampler(model, model.Tokenizer, threads: 1) { PrefillBatchLimit = prefillBatch };
        var completions = sampler.Sample(prompts, group, maxNew, SamplingOptions.Greedy, seed: 5);

        Assert.Equal(prompts.Length * group, completions.Count);
        for (int i = 0; i < completions.Count; i++)
        {
            var c = completions[i];
            Assert.Equal(i / group, c.PromptIndex);
            var (expected, stopped) = Reference(model, prompts[c.PromptIndex], SamplingOptions.Greedy, maxNew);
            Assert.Equal(expected, c.Tokens);
            Assert.Equal(stopped ? Completion.Stop : Completion.Length, c.Finish);
            Assert.Equal(model.Tokenizer.Decode(expected), c.Text);
        }
        // Greedy sequences of one group are identical, and different prompts give different continuations.
        Assert.True(completions.Select(c => string.Join(",", c.Tokens)).Distinct().Count() > 1);
    }

    [Fact]
    public void SequencesStopIndependentlyAtEndOfGeneration()
    {
        const int maxNew = 10;
        int[][] prompts;
        int eos, stopAt;
        using (var plain = LoadModel())
        {
            prompts = Prompts(plain);
            // Declare a token that the greedy continuation of prompt 0 produces mid-way to be the end of generation.
            var (tokens, _) = Reference(plain, prompts[0], SamplingOptions.Greedy, maxNew);
            stopAt = Enumerable.Range(2, maxNew - 4).First(i => Array.IndexOf(tokens, tokens[i]) == i);
            eos = tokens[stopAt];
        }
        using var model = LoadModel(eos);
        Assert.True(model.Tokenizer.IsEndOfGeneration(eos));

        using var sampler = new CompletionSampler(model, model.Tokenizer, threads: 1);
        var completions = sampler.Sample(prompts, 2, maxNew, SamplingOptions.Greedy, seed: 1);
        foreach (var c in completions)
        {
            var (expected, stopped) = Reference(model, prompts[c.PromptIndex], SamplingOptions.Greedy, maxNew);
            Assert.Equal(expected, c.Tokens);
            Assert.Equal(stopped ? Completion.Stop : Completion.Length, c.Finish);
            Assert.DoesNotContain(eos, c.Tokens);
        }
        Assert.All(completions.Where(c => c.PromptIndex == 0), c =>
        {
            Assert.Equal(Completion.Stop, c.Finish);
            Assert.Equal(stopAt, c.Tokens.Length);
        });
        Assert.Contains(completions, c => c.Finish == Completion.Length && c.Tokens.Length == maxNew);
    }

    [Fact]
    public void SampledCompletionsAreSeededPerSequence()
    {
        using var model = LoadModel();
        int[][] prompts = Prompts(model);
        var sampling = new SamplingOptions { Temperature = 1.5f, TopK = 0, TopP = 1f, MinP = 0f };
        const int group = 4, maxNew = 8;
        using var sampler = new CompletionSampler(model, model.Tokenizer, threads: 1);
        var first = sampler.Sample(prompts, group, maxNew, sampling, seed: 11);
        var again = sampler.Sample(prompts, group, maxNew, sampling, seed: 11);
        var other = sampler.Sample(prompts, group, maxNew, sampling, seed: 12);

        Assert.Equal(first.Select(c => c.Tokens), again.Select(c => c.Tokens));
        Assert.NotEqual(first.Select(c => string.Join(",", c.Tokens)), other.Select(c => string.Join(",", c.Tokens)));
        // A group's members draw differently from one another.
        Assert.True(first.Take(group).Select(c => string.Join(",", c.Tokens)).Distinct().Count() > 1);
        // Each sequence is exactly the single-sequence generation with its own derived seed: batching changes nothing.
        for (int s = 0; s < first.Count; s++)
        {
            var (expected, _) = Reference(model, prompts[s / group], sampling with { Seed = CompletionSampler.SequenceSeed(11, s) }, maxNew);
            Assert.Equal(expected, first[s].Tokens);
        }
    }
}

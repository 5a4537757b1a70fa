using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Inference;
using SeekSharp.Models;

namespace SeekSharp.Tests.Models;

/// <summary>
/// One forward pass serves prompt processing, decoding and several sequences at once: however the tokens are grouped
/// into batches, each sequence must get the logits it would get alone.
/// </summary>
public class BatchTests
{
    private static readonly TinyModelOptions Tiny = new()
    {
        Architecture = TinyArchitecture.Qwen2, Dim = 64, Heads = 4, KvHeads = 2, FfnDim = 96, Layers = 2,
        Tokenizer = TinyTokenizer.SyntheticPadded(300), ContextLength = 64, Seed = 5,
    };

    private static int[] Tokens(int n, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => r.Next(0, 256)).ToArray();
    }

    private static float[] SoloLogits(Model model, int[] tokens)
    {
        using var context = model.CreateContext(new ContextOptions { ContextLength = 64, BatchSize = 64 });
        context.Prefill(tokens);
        return context.Logits(0).ToArray();
    }

    private static void AssertClose(float[] expected, ReadOnlySpan<float> actual, float tolerance = 1e-5f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(MathF.Abs(expected[i] - actual[i]) <= tolerance, $"logit {i}: expected {expected[i]}, got {actual[i]}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    public void PromptSplitIntoBatchesOfAnySizeGivesTheSameLogits(int batchSize)
    {
        using var model = Model.Load(TinyModelBuilder.GetOrBuild(Tiny));
        int[] tokens = Tokens(40, 1);
        float[] expected = SoloLogits(model, tokens);
        using var context = model.CreateContext(new ContextOptions { ContextLength = 64, BatchSize = batchSize });
        context.Prefill(tokens);
        AssertClose(expected, context.Logits(0));
    }

    // 32 tokens in all: the batch's matrix products take the per-row dots, bit for bit those of each sequence alone.
    // 50 tokens: they take the GEMM (MatMul.GemmThreshold of F32), whose sums round in another
    // order than the 13 to 20-token solo prompts' dots; over two layers of this random model that moved logits (up to
    // 3.4 in size) by at most 5.8e-5 when measured, and a batching bug moves them by far more.
    [Theory]
    [InlineData(12, 9, 11, 1e-5f)]
    [InlineData(20, 13, 17, 2e-4f)]
    public void InterleavedSequencesInOneBatchMatchEachAlone(int lengthA, int lengthB, int lengthC, float tolerance)
    {
        using var model = Model.Load(TinyModelBuilder.GetOrBuild(Tiny));
        int[] a = Tokens(lengthA, 2), b = Tokens(lengthB, 3), c = Tokens(lengthC, 4);
        Assert.True(lengthA > lengthC && lengthC > lengthB);
        using var context = model.CreateContext(new ContextOptions { ContextLength = 64, Sequences = 3, BatchSize = 64 });
        var batch = new Batch(64);
        // Round-robin one token of each sequence at a time, logits only at each sequence's last token.
        int[][] seqs = [a, b, c];
        for (int i = 0; i < lengthA; i++)
            for (int s = 0; s < 3; s++)
                if (i < seqs[s].Length)
                    batch.Add(seqs[s][i], i, s, wantLogits: i == seqs[s].Length - 1);
        context.Decode(batch);
        // Outputs come in batch order: b ends first, then c, then a.
        AssertClose(SoloLogits(model, b), context.Logits(0), tolerance);
        AssertClose(SoloLogits(model, c), context.Logits(1), tolerance);
        AssertClose(SoloLogits(model, a), context.Logits(2), tolerance);
    }

    [Fact]
    public void DecodingOneSequenceLeavesTheOthersUntouched()
    {
        using var model = Model.Load(TinyModelBuilder.GetOrBuild(Tiny));
        int[] a = Tokens(10, 5), b = Tokens(12, 6);
        using var context = model.CreateContext(new ContextOptions { ContextLength = 64, Sequences = 2, BatchSize = 64 });
        context.Prefill(a, sequence: 0);
        context.Prefill(b, sequence: 1);
        var batch = new Batch(2);
        batch.Add(7, a.Length, 0, wantLogits: true);
        batch.Add(9, b.Length, 1, wantLogits: true);
        context.Decode(batch);
        AssertClose(SoloLogits(model, [.. a, 7]), context.Logits(0));
        AssertClose(SoloLogits(model, [.. b, 9]), context.Logits(1));
    }

    [Fact]
    public void ForkedSequenceContinuesLikeTheOriginal()
    {
        using var model = Model.Load(TinyModelBuilder.GetOrBuild(Tiny));
        int[] prompt = Tokens(15, 7);
        using var context = model.CreateContext(new ContextOptions { ContextLength = 64, Sequences = 2, BatchSize = 64 });
        context.Prefill(prompt, sequence: 0);
        context.Cache.Copy(from: 0, to: 1, length: prompt.Length);
        var batch = new Batch(2);
        batch.Add(11, prompt.Length, 1, wantLogits: true);
        context.Decode(batch);
        AssertClose(SoloLogits(model, [.. prompt, 11]), context.Logits(0));
    }

    [Fact]
    public void TruncatingTheCacheReusesTheSharedPrefix()
    {
        using var model = Model.Load(TinyModelBuilder.GetOrBuild(Tiny));
        int[] first = Tokens(30, 8);
        using var context = model.CreateContext(new ContextOptions { ContextLength = 64, BatchSize = 64 });
        context.Prefill(first);
        context.Cache.Truncate(0, 20);
        int[] tail = Tokens(6, 9);
        context.Prefill(tail, start: 20);
        AssertClose(SoloLogits(model, [.. first[..20], .. tail]), context.Logits(0));
    }

    [Fact]
    public void BadBatchesAreRefusedWithTheReason()
    {
        using var model = Model.Load(TinyModelBuilder.GetOrBuild(Tiny));
        using var context = model.CreateContext(new ContextOptions { ContextLength = 16, BatchSize = 8 });
        var batch = new Batch(8);
        batch.Add(300, 0, 0, true);
        var e = Assert.Throws<ArgumentException>(() => context.Decode(batch));
        Assert.Contains("outside the vocabulary", e.Message);

        batch.Clear();
        batch.Add(1, 0, 1, true);
        Assert.Contains("sequence 1", Assert.Throws<ArgumentException>(() => context.Decode(batch)).Message);

        Assert.Throws<ContextOverflowException>(() => context.Prefill(Tokens(17, 1)));
        batch.Clear();
        batch.Add(1, 16, 0, true);
        var overflow = Assert.Throws<ContextOverflowException>(() => context.Decode(batch));
        Assert.Equal(17, overflow.Needed);

        // Positions must continue the cache: no gaps, no silent rewrites.
        batch.Clear();
        batch.Add(1, 3, 0, true);
        Assert.Contains("should be 0", Assert.Throws<ArgumentException>(() => context.Decode(batch)).Message);
        context.Prefill(Tokens(4, 2));
        batch.Clear();
        batch.Add(1, 2, 0, true);
        Assert.Contains("should be 4", Assert.Throws<ArgumentException>(() => context.Decode(batch)).Message);
        Assert.Equal(4, context.Cache.Length(0));
    }
}

using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Inference;
using SeekSharp.Models;

namespace SeekSharp.Tests.Models;

/// <summary>Runs alone: it measures allocations of the whole process, which tests running alongside would disturb.</summary>
[CollectionDefinition(nameof(AllocationMeasurement), DisableParallelization = true)]
public sealed class AllocationMeasurement;

/// <summary>
/// The decode step allocates nothing on the managed heap, on the calling thread or on the worker pool's threads:
/// scratch buffers, KV cache and threads are set up once per context.
/// </summary>
[Collection(nameof(AllocationMeasurement))]
public class DecodeAllocationTests
{
    private static readonly TinyModelOptions Tiny = new()
    {
        Architecture = TinyArchitecture.Qwen2, Dim = 64, Heads = 4, KvHeads = 2, FfnDim = 96, Layers = 2,
        Tokenizer = TinyTokenizer.SyntheticPadded(300), ContextLength = 256, Seed = 11,
    };

    private static int Greedy(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
            if (logits[i] > logits[best]) best = i;
        return best;
    }

    // deepseek2 (MLA, experts, YaRN) at the V3-like tiny shape, in the split layout and the older one.
    private static TinyModelOptions DeepSeek2(bool split) =>
        TinyDeepSeek2.Options(TinyDeepSeek2.V3Like, split) with { Tokenizer = TinyTokenizer.SyntheticPadded(300) };

    [Theory]
    [InlineData(0, "qwen2", MlaAttention.Auto)]     // the shared pool
    [InlineData(2, "qwen2", MlaAttention.Auto)]     // a pool of the context's own
    [InlineData(2, "deepseek2", MlaAttention.Auto)]     // absorbed MLA, experts
    [InlineData(2, "deepseek2-kvb", MlaAttention.Auto)] // the older layout: absorbed decoding over F32 W_UK built on first use
    public void DecodeAllocatesNothing(int threads, string arch, MlaAttention mla)
    {
        var options = arch == "qwen2" ? Tiny : DeepSeek2(split: arch == "deepseek2");
        using var model = Model.Load(TinyModelBuilder.GetOrBuild(options));
        using var context = model.CreateContext(new ContextOptions { ContextLength = 256, BatchSize = 8, Threads = threads, MlaAttention = mla });
        var batch = new Batch(1);
        int token = 5, pos = 0;
        void Step()
        {
            batch.Clear();
            batch.Add(token, pos++, 0, wantLogits: true);
            context.Decode(batch);
            token = Greedy(context.Logits(0)) % 256;
        }

        // Warm up: JIT tiers, per-thread scratch and the pool's threads.
        for (int i = 0; i < 60; i++) Step();

        const int steps = 100;
        long threadBefore = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < steps; i++) Step();
        long threadBytes = GC.GetAllocatedBytesForCurrentThread() - threadBefore;
        Assert.True(threadBytes == 0, $"{steps} decode steps allocated {threadBytes} bytes on the calling thread");

        // Process-wide: also counts the pool's workers. The test runner's own threads may allocate now and then,
        // so one clean window out of a few suffices; a per-step allocation on any worker would fail all of them.
        long processBytes = long.MaxValue;
        for (int attempt = 0; attempt < 3 && processBytes != 0; attempt++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < 20; i++) Step();
            processBytes = GC.GetTotalAllocatedBytes(precise: true) - before;
        }
        Assert.True(processBytes == 0, $"20 decode steps allocated {processBytes} bytes in the process (worker threads)");
        Assert.Equal(pos, context.Cache.Length(0));
    }
}

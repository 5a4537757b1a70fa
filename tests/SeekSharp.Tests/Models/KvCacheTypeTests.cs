using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Inference;
using SeekSharp.Kernels;
using SeekSharp.Models;

namespace SeekSharp.Tests.Models;

/// <summary>An F16 KV cache (the default) gives logits close to the exact F32 cache over a long prompt.</summary>
public class KvCacheTypeTests
{
    private static readonly TinyModelOptions Tiny = new()
    {
        Architecture = TinyArchitecture.Qwen2, Dim = 64, Heads = 4, KvHeads = 2, FfnDim = 96, Layers = 2,
        Tokenizer = TinyTokenizer.SyntheticPadded(300), ContextLength = 512, Seed = 12,
    };

    private static float[] LastLogits(Model model, GgmlType cacheType, int[] tokens)
    {
        using var context = model.CreateContext(new ContextOptions { ContextLength = 512, BatchSize = 64, KvCacheType = cacheType });
        Assert.Equal(cacheType, context.Cache.ElementType);
        context.Prefill(tokens);
        return context.Logits(0).ToArray();
    }

    [Fact]
    public void DefaultCacheIsF16()
    {
        using var model = Model.Load(TinyModelBuilder.GetOrBuild(Tiny));
        using var context = model.CreateContext(new ContextOptions { ContextLength = 16 });
        Assert.Equal(GgmlType.F16, context.Cache.ElementType);
    }

    [Fact]
    public void F16CacheLogitsStayCloseToF32()
    {
        using var model = Model.Load(TinyModelBuilder.GetOrBuild(Tiny));
        var r = new Random(3);
        int[] tokens = [.. Enumerable.Range(0, 400).Select(_ => r.Next(0, 256))];
        float[] f32 = LastLogits(model, GgmlType.F32, tokens);
        float[] f16 = LastLogits(model, GgmlType.F16, tokens);

        double maxDiff = 0, maxAbs = 0;
        for (int i = 0; i < f32.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(f32[i] - f16[i]));
            maxAbs = Math.Max(maxAbs, Math.Abs(f32[i]));
        }
        // Halves carry 11 significant bits (relative error ≤ 2^-12 per key/value); through two layers the logits
        // should move by a small multiple of that relative to their scale.
        Assert.True(maxDiff > 0, "the F16 cache gave bit-identical logits: is it really storing halves?");
        Assert.True(maxDiff <= 2e-3 * maxAbs, $"max logit difference {maxDiff:E3} exceeds 2e-3 × max |logit| {maxAbs:E3}");
    }

    [Fact]
    public void UnsupportedCacheTypeIsRefused()
    {
        using var model = Model.Load(TinyModelBuilder.GetOrBuild(Tiny));
        var e = Assert.Throws<ArgumentException>(() => model.CreateContext(new ContextOptions { ContextLength = 16, KvCacheType = GgmlType.Q8_0 }));
        Assert.Contains("F16 or F32", e.Message);
    }
}

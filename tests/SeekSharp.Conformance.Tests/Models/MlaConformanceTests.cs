using SeekSharp.Conformance.Tests.Oracle;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Inference;
using SeekSharp.Kernels;
using SeekSharp.Models;
using Xunit.Abstractions;

namespace SeekSharp.Conformance.Tests.Models;

/// <summary>
/// deepseek2's two ways of evaluating multi-head latent attention (<see cref="MlaAttention"/>) against each other and,
/// each on the file layout for which llama.cpp takes the same path, against llama.cpp to the last bits.
/// </summary>
public class MlaConformanceTests(ITestOutputHelper output)
{
    private const int ContextLength = 256;

    public static TheoryData<string, bool> Presets => new()
    {
        { "v3", true }, { "v3", false }, { "lite", true }, { "lite", false },
    };

    private static TinyModelOptions Options(string preset, bool split, GgmlType type) =>
        TinyDeepSeek2.Options(preset == "v3" ? TinyDeepSeek2.V3Like : TinyDeepSeek2.V2LiteLike, split, type, seed: 11)
            with { Tokenizer = RealTokenizers.ByName("deepseek_v3") };

    // 178 tokens: the test prompt twice.
    private static int[] Prompt(Model model) =>
        model.Tokenizer.Encode(ModelConformanceTests.Prompt + " " + ModelConformanceTests.Prompt, addSpecial: true);

    /// <summary>
    /// Logits of a prompt prefilled in chunks of 40 (so later chunks attend to earlier ones), then of 8 decoded tokens,
    /// through the naive, absorbed and automatic paths: equal to 1e-4 (F32 weights, F32 and F16 caches).
    /// </summary>
    [Theory]
    [MemberData(nameof(Presets))]
    public void NaiveAndAbsorbedAgree(string preset, bool split)
    {
        using var model = Model.Load(TinyModelBuilder.GetOrBuild(Options(preset, split, GgmlType.F32)));
        int[] prompt = Prompt(model);
        foreach (var cacheType in new[] { GgmlType.F32, GgmlType.F16 })
        {
            var runs = new[] { MlaAttention.Naive, MlaAttention.Absorbed, MlaAttention.Auto }
                .Select(mode => Run(model, prompt, mode, cacheType)).ToArray();
            for (int i = 1; i < runs.Length; i++)
            {
                float diff = runs[0].Zip(runs[i], (a, b) => MathF.Abs(a - b)).Max();
                output.WriteLine($"{preset} {(split ? "k_b/v_b" : "kv_b")} cache {cacheType}: naive vs {(i == 1 ? "absorbed" : "auto")} max |logit diff| {diff:E2}");
                Assert.True(diff <= 1e-4f, $"naive and {(i == 1 ? "absorbed" : "auto")} differ by {diff:E3}");
            }
        }
    }

    // Logits of the last prompt token and of each of 8 greedy tokens, concatenated.
    private static float[] Run(Model model, int[] prompt, MlaAttention mode, GgmlType cacheType)
    {
        using var context = model.CreateContext(new ContextOptions { ContextLength = ContextLength, BatchSize = 40, KvCacheType = cacheType, MlaAttention = mode });
        context.Prefill(prompt);
        // Weights rearranged on first use live in pinned arrays the model must keep referenced: a full collection
        // here frees any it forgot, and pinned arrays of NaN then likely take their place, so the logits that follow
        // would read NaN.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var filler = Enumerable.Range(0, 64).Select(_ => { var a = GC.AllocateArray<float>(1 << 16, pinned: true); a.AsSpan().Fill(float.NaN); return a; }).ToList();
        var logits = new List<float>(context.Logits(0).ToArray());
        var batch = new Batch(1);
        int position = prompt.Length;
        for (int i = 0; i < 8; i++)
        {
            int next = LlamaCpp.ArgMax(context.Logits(0).ToArray());
            batch.Clear();
            batch.Add(next, position++, 0, wantLogits: true);
            context.Decode(batch);
            logits.AddRange(context.Logits(0).ToArray());
        }
        GC.KeepAlive(filler);
        return [.. logits];
    }

    /// <summary>
    /// In Q8_0 the two paths round differently (the absorbed path quantizes each head's query to Q8_0 for k_b, the naive
    /// one each latent for kv_b), so each is compared with llama.cpp where llama.cpp takes the same path: absorbed on
    /// the split k_b/v_b layout, naive (multi-head attention on decompressed keys) on the older attn_kv_b one. Measured
    /// 0 on some of these and a few 1e-2 on others: a last-bit difference in an activation (here the attention's
    /// summation order over heads of 48) moves a Q8_0-quantized value by a whole quantum now and then, as
    /// <see cref="ModelConformanceTests"/> explains; so the bound is its Q8_0 bound.
    /// </summary>
    [Theory]
    [MemberData(nameof(Presets))]
    public void EachPathMatchesLlamaCppOnItsLayoutInQ8_0(string preset, bool split)
    {
        string path = TinyModelBuilder.GetOrBuild(Options(preset, split, GgmlType.Q8_0));
        using var reference = LlamaCpp.Load(path, ContextLength);
        using var model = Model.Load(path);
        int[] prompt = Prompt(model);
        var mode = split ? MlaAttention.Absorbed : MlaAttention.Naive;
        using var context = model.CreateContext(LlamaCppComparison.OracleLikeOptions(ContextLength, batchSize: 256) with { MlaAttention = mode });
        context.Prefill(prompt);
        float[] ours = context.Logits(0).ToArray(), theirs = reference.LastLogits(prompt);
        float diff = ours.Zip(theirs, (a, b) => MathF.Abs(a - b)).Max();
        output.WriteLine($"{preset} {(split ? "k_b/v_b" : "kv_b")} Q8_0, {mode}: {prompt.Length} tokens, max |logit diff| against llama.cpp {diff:E2}");
        Assert.True(diff <= 1e-1f, $"{mode} differs from llama.cpp by {diff:E3}");
    }

    /// <summary>
    /// Two sequences in one batch, one decoding and one processing a long prompt chunk, give the logits each gives
    /// alone: on the older kv_b layout, where Auto sends the decoding token the absorbed way and the chunk the naive
    /// way in one step, and on the naive path alone, which decompresses each sequence's latents separately.
    /// </summary>
    [Theory]
    [InlineData(MlaAttention.Auto)]
    [InlineData(MlaAttention.Naive)]
    public void MixedBatchEqualsSequencesAlone(MlaAttention mode)
    {
        using var model = Model.Load(TinyModelBuilder.GetOrBuild(Options("v3", split: false, GgmlType.F32)));
        int[] prompt = Prompt(model);
        int[] first = prompt[..60], second = prompt[60..160];
        var options = new ContextOptions { ContextLength = ContextLength, BatchSize = 128, Sequences = 2, KvCacheType = GgmlType.F32, MlaAttention = mode };

        using var alone = model.CreateContext(options);
        alone.Prefill(first, sequence: 0);
        var batch = new Batch(128);
        batch.Add(prompt[170], first.Length, 0, wantLogits: true);
        alone.Decode(batch);
        float[] decodeAlone = alone.Logits(0).ToArray();
        alone.Prefill(second, sequence: 1);
        float[] prefillAlone = alone.Logits(0).ToArray();

        using var mixed = model.CreateContext(options);
        mixed.Prefill(first, sequence: 0);
        batch.Clear();
        batch.Add(prompt[170], first.Length, 0, wantLogits: true);
        for (int i = 0; i < second.Length; i++)
            batch.Add(second[i], i, 1, wantLogits: i == second.Length - 1);
        mixed.Decode(batch);
        float decodeDiff = decodeAlone.Zip(mixed.Logits(0).ToArray(), (a, b) => MathF.Abs(a - b)).Max();
        float prefillDiff = prefillAlone.Zip(mixed.Logits(1).ToArray(), (a, b) => MathF.Abs(a - b)).Max();
        output.WriteLine($"{mode}, mixed batch: decode row differs by {decodeDiff:E2}, prompt row by {prefillDiff:E2}");
        Assert.True(decodeDiff <= 1e-5f && prefillDiff <= 1e-5f, $"decode {decodeDiff:E3}, prompt {prefillDiff:E3}");
    }
}

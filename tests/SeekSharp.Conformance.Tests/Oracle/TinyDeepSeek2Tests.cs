using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Conformance.Tests.Trace;
using SeekSharp.Kernels;
using Xunit.Abstractions;

namespace SeekSharp.Conformance.Tests.Oracle;

/// <summary>
/// The tiny deepseek2 fixtures are models llama.cpp accepts and runs: both presets, both kv_b layouts, F32 and Q8_0;
/// the two layouts of one seed are the same model; the router spreads tokens over experts and the correction bias
/// moves some of them.
/// </summary>
public sealed class TinyDeepSeek2Tests(ITestOutputHelper output)
{
    private const string Text =
        "the cat sat on the mat, and then there were more cats in the theatre. " +
        "Another sentence: numbers 12345, symbols <>&, and a newline\nat the end.";

    private static TinyDeepSeek2 Preset(string name) => name switch
    {
        nameof(TinyDeepSeek2.V3Like) => TinyDeepSeek2.V3Like,
        nameof(TinyDeepSeek2.V2LiteLike) => TinyDeepSeek2.V2LiteLike,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    public static TheoryData<string, bool, GgmlType> PresetsLayoutsAndTypes()
    {
        var data = new TheoryData<string, bool, GgmlType>();
        foreach (string preset in new[] { nameof(TinyDeepSeek2.V3Like), nameof(TinyDeepSeek2.V2LiteLike) })
            foreach (bool split in new[] { true, false })
                foreach (var type in new[] { GgmlType.F32, GgmlType.Q8_0 })
                    data.Add(preset, split, type);
        return data;
    }

    [Theory]
    [MemberData(nameof(PresetsLayoutsAndTypes))]
    public void LlamaCppLoadsRunsAndGeneratesVariedTokens(string preset, bool splitKvB, GgmlType type)
    {
        var options = TinyDeepSeek2.Options(Preset(preset), splitKvB, type);
        using var llama = LlamaCpp.Load(TinyModelBuilder.GetOrBuild(options));
        var prompt = llama.Tokenize(Text, addSpecial: true, parseSpecial: false);

        var logits = llama.LastLogits(prompt);
        var greedy = llama.Greedy(prompt, 24);

        Assert.Equal(options.Layers, llama.LayerCount);
        Assert.Equal(options.Dim, llama.EmbeddingSize);
        Assert.Equal(options.Heads, llama.HeadCount);
        Assert.Equal(splitKvB ? 1 : options.Heads, llama.KvHeadCount); // MLA runs as MQA over the latent
        Assert.Equal(options.ContextLength, llama.TrainContextLength);
        Assert.Equal(options.Tokenizer.VocabSize, logits.Length);
        Assert.All(logits, x => Assert.True(float.IsFinite(x)));
        float min = logits.Min(), max = logits.Max();
        Assert.True(max - min > 1f, $"logits span only [{min}, {max}]");
        Assert.True(greedy.Distinct().Count() > 3, $"greedy output barely varies: {string.Join(",", greedy)}");
    }

    [Theory]
    [InlineData(nameof(TinyDeepSeek2.V3Like))]
    [InlineData(nameof(TinyDeepSeek2.V2LiteLike))]
    public void SplitAndSingleKvBLayoutsAreTheSameModel(string preset)
    {
        // llama.cpp runs the split layout as weight-absorbed MLA (attention over the latent, one KV head) and the
        // single attn_kv_b as plain multi-head attention: equal logits check the split and both of its graphs.
        using var split = LlamaCpp.Load(TinyModelBuilder.GetOrBuild(TinyDeepSeek2.Options(Preset(preset), splitKvB: true)));
        using var single = LlamaCpp.Load(TinyModelBuilder.GetOrBuild(TinyDeepSeek2.Options(Preset(preset), splitKvB: false)));
        var prompt = split.Tokenize(Text, addSpecial: true, parseSpecial: false);

        var a = split.AllLogits(prompt);
        var b = single.AllLogits(prompt);

        float worst = 0;
        for (int t = 0; t < a.Length; t++)
            for (int i = 0; i < a[t].Length; i++)
                worst = MathF.Max(worst, MathF.Abs(a[t][i] - b[t][i]));
        output.WriteLine($"{preset}: {prompt.Length} positions, max |split - single| = {worst:E2}");
        Assert.True(worst < 1e-4f, $"layouts differ by {worst}");
    }

    [Fact]
    public void RotaryEmbeddingTurnsAdjacentPairs()
    {
        using var llama = LlamaCpp.Load(TinyModelBuilder.GetOrBuild(TinyDeepSeek2.Options(TinyDeepSeek2.V3Like)));
        Assert.Equal(0, llama.RopeTypeId); // LLAMA_ROPE_TYPE_NORM
    }

    [Theory]
    [InlineData(nameof(TinyDeepSeek2.V3Like))]
    [InlineData(nameof(TinyDeepSeek2.V2LiteLike))]
    public void RouterSpreadsTokensOverExpertsAndTheBiasMovesSome(string preset)
    {
        var ds = Preset(preset);
        var options = TinyDeepSeek2.Options(ds);
        string path = TinyModelBuilder.GetOrBuild(options);
        int[] prompt;
        using (var vocab = LlamaCpp.LoadVocabOnly(path))
            prompt = vocab.Tokenize(Text, addSpecial: true, parseSpecial: false);

        // llama.cpp's router intermediates (llama-graph.cpp build_moe_ffn): probs = gating(logits); probs_biased =
        // probs + exp_probs_b; probs_masked = the biased scores with unused groups at -inf. Top-k of the last one present
        // is the choice.
        var recording = LlamaCppTrace.Capture(path, prompt, name => name.StartsWith("ffn_moe_probs", StringComparison.Ordinal));
        for (int layer = ds.LeadingDenseBlocks; layer < options.Layers; layer++)
        {
            float[] probs = Single(recording, "ffn_moe_probs", layer)!;
            float[] biased = Single(recording, "ffn_moe_probs_biased", layer) ?? probs;
            float[] chosen = Single(recording, "ffn_moe_probs_masked", layer) ?? biased;
            Assert.Equal(ds.CorrectionBias, !ReferenceEquals(biased, probs));
            Assert.Equal(ds.ExpertGroups > 1, !ReferenceEquals(chosen, biased));

            var choices = new HashSet<string>();
            int movedByBias = 0;
            for (int t = 0; t < prompt.Length; t++)
            {
                var selected = TopK(chosen.AsSpan(t * ds.Experts, ds.Experts), ds.ExpertsUsed);
                choices.Add(string.Join(",", selected.Order()));
                if (!TopK(probs.AsSpan(t * ds.Experts, ds.Experts), ds.ExpertsUsed).Order()
                        .SequenceEqual(TopK(biased.AsSpan(t * ds.Experts, ds.Experts), ds.ExpertsUsed).Order()))
                    movedByBias++;
            }
            output.WriteLine($"{preset} layer {layer}: {choices.Count} distinct expert sets over {prompt.Length} tokens; bias changed {movedByBias}");
            Assert.True(choices.Count >= 5, $"layer {layer}: only {choices.Count} distinct expert sets");
            if (ds.CorrectionBias)
                Assert.InRange(movedByBias, 1, prompt.Length - 1);
        }
    }

    [Fact]
    public void SplitKvBTransposesTheKeyPartAndKeepsTheValuePart()
    {
        const int heads = 2, nope = 2, v = 3, kr = 4;
        // kv_b[r][c] = 100 r + c, rows per head: nope key rows, then v value rows.
        var kvB = new float[heads * (nope + v) * kr];
        for (int r = 0; r < heads * (nope + v); r++)
            for (int c = 0; c < kr; c++)
                kvB[r * kr + c] = 100 * r + c;

        var (kB, vB) = TinyModelBuilder.SplitKvB(kvB, heads, nope, v, kr);

        for (int h = 0; h < heads; h++)
            for (int c = 0; c < kr; c++)
            {
                for (int n = 0; n < nope; n++)
                    Assert.Equal(100 * (h * (nope + v) + n) + c, kB[(h * kr + c) * nope + n]); // ggml {nope, kr, nh}
                for (int j = 0; j < v; j++)
                    Assert.Equal(100 * (h * (nope + v) + nope + j) + c, vB[(h * v + j) * kr + c]); // ggml {kr, v, nh}
            }
    }

    [Fact]
    public void QueryCompressionIsRefusedAtTheLayerCountsLlamaCppTakesForV2Lite()
    {
        var options = TinyDeepSeek2.Options(TinyDeepSeek2.V3Like) with { Layers = 27 };
        Assert.Throws<ArgumentException>(() => TinyModelBuilder.CreateWriter(options));
    }

    private static float[]? Single(TraceRecording recording, string name, int layer) =>
        recording.Occurrences(name, layer) is [var only] ? only.Values : null;

    // Indices of the k largest values, the lower index first on ties (ggml's argsort is not stable, but random
    // scores do not tie).
    private static int[] TopK(ReadOnlySpan<float> scores, int k)
    {
        var order = Enumerable.Range(0, scores.Length).ToArray();
        var copy = scores.ToArray();
        Array.Sort(order, (x, y) => copy[y].CompareTo(copy[x]) is var c && c != 0 ? c : x.CompareTo(y));
        return order[..k];
    }
}

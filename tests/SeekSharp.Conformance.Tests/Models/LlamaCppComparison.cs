using SeekSharp.Conformance.Tests.Oracle;
using SeekSharp.Inference;
using SeekSharp.Kernels;
using SeekSharp.Models;

namespace SeekSharp.Conformance.Tests.Models;

/// <summary>
/// Runs SeekSharp and llama.cpp on the same file and inputs and returns what the model conformance tests assert on.
/// SeekSharp's side uses an F32 KV cache, as the oracle does, so only the model maths differs between the two.
/// </summary>
internal static class LlamaCppComparison
{
    public sealed record Logits(float[] Ours, float[] Theirs, float MaxDiff, float MaxAbs);

    /// <param name="Agree">Leading tokens on which both engines agree.</param>
    /// <param name="Margin">Where they part: llama.cpp's logit for its own choice minus its logit for ours; null when all agree.</param>
    public sealed record Greedy(int[] Ours, int[] Theirs, int Agree, float? Margin);

    public static ContextOptions OracleLikeOptions(int contextLength, int batchSize = 128) =>
        new() { ContextLength = contextLength, BatchSize = batchSize, KvCacheType = GgmlType.F32 };

    /// <summary>Final-position logits after <paramref name="prompt"/>, evaluated in one batch by llama.cpp and in batches of 64 by us.</summary>
    public static Logits FinalLogits(string path, LlamaCpp reference, int[] prompt, int contextLength)
    {
        using var model = Model.Load(path);
        using var context = model.CreateContext(OracleLikeOptions(contextLength, batchSize: 64));
        context.Prefill(prompt);
        float[] ours = context.Logits(0).ToArray();
        float[] theirs = reference.LastLogits(prompt);
        Assert.Equal(theirs.Length, ours.Length);
        float maxDiff = 0, maxAbs = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            maxDiff = MathF.Max(maxDiff, MathF.Abs(ours[i] - theirs[i]));
            maxAbs = MathF.Max(maxAbs, MathF.Abs(theirs[i]));
        }
        return new Logits(ours, theirs, maxDiff, maxAbs);
    }

    /// <summary><paramref name="n"/> greedy tokens after <paramref name="prompt"/> in both engines.</summary>
    public static Greedy GreedyContinuation(string path, LlamaCpp reference, int[] prompt, int n, int contextLength)
    {
        int[] theirs = reference.Greedy(prompt, n);
        using var model = Model.Load(path);
        using var context = model.CreateContext(OracleLikeOptions(contextLength));
        int[] ours = GreedyIds(context, prompt, n);
        int agree = 0;
        while (agree < n && ours[agree] == theirs[agree]) agree++;
        if (agree == n) return new Greedy(ours, theirs, n, null);
        float[] at = reference.LastLogits([.. prompt, .. theirs[..agree]]);
        return new Greedy(ours, theirs, agree, at[theirs[agree]] - at[ours[agree]]);
    }

    /// <summary>llama-perplexity's figure for <paramref name="tokens"/> in chunks of <paramref name="chunk"/>, from both engines.</summary>
    public static (Inference.PerplexityResult Ours, Oracle.PerplexityResult Theirs) Perplexity(string path, LlamaCpp reference, int[] tokens, int chunk)
    {
        var theirs = reference.Perplexity(tokens, chunk);
        using var model = Model.Load(path);
        using var context = model.CreateContext(OracleLikeOptions(chunk, batchSize: 64));
        var ours = Inference.Perplexity.Compute(context, tokens, chunk, model.Tokenizer.AddBos ? model.Tokenizer.BosId : null);
        return (ours, theirs);
    }

    /// <summary>Argmax decoding one token per batch, not stopping at end-of-generation tokens, as <see cref="LlamaCpp.Greedy"/> does.</summary>
    public static int[] GreedyIds(InferenceContext context, int[] prompt, int n)
    {
        context.Cache.Clear(0);
        context.Prefill(prompt);
        var result = new int[n];
        var batch = new Batch(1);
        for (int i = 0; i < n; i++)
        {
            result[i] = LlamaCpp.ArgMax(context.Logits(0));
            if (i == n - 1) break;
            batch.Clear();
            batch.Add(result[i], prompt.Length + i, 0, wantLogits: true);
            context.Decode(batch);
        }
        return result;
    }
}

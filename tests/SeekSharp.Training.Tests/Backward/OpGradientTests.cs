using SeekSharp.Kernels.Threading;
using SeekSharp.Training.Backward;
using static SeekSharp.Training.Tests.Backward.GradCheck;

namespace SeekSharp.Training.Tests.Backward;

/// <summary>Every op's backward against central differences of its forward, through the objective Σ r·y with random r
/// (the problems are <see cref="GradientCase"/>'s, shared with <see cref="BackwardMutationTests"/>).</summary>
public class OpGradientTests
{
    private static readonly WorkerPool Pool = new(2);

    [Fact]
    public void Linear() => GradientCase.Linear(Pool).Check();

    [Fact]
    public void LinearForwardAccumulatesIntoTheOutputAndBackwardAccumulatesGradients()
    {
        var rng = new Random(2);
        int n = 2, inDim = 3, outDim = 2;
        float[] x = Random(rng, n * inDim), w = Random(rng, outDim * inDim), r = Random(rng, n * outDim);
        float[] y = new float[n * outDim], y2 = [1, 2, 3, 4];
        SeekSharp.Training.Backward.Linear.Forward(x, w, y, n, inDim, outDim, Pool);
        SeekSharp.Training.Backward.Linear.Forward(x, w, y2, n, inDim, outDim, Pool, accumulate: true);
        for (int i = 0; i < y.Length; i++) Assert.Equal(y[i] + (i + 1), y2[i], 5);
        float[] dx1 = new float[x.Length], dw1 = new float[w.Length], dx2 = new float[x.Length], dw2 = new float[w.Length];
        SeekSharp.Training.Backward.Linear.Backward(r, x, w, dx1, dw1, n, inDim, outDim, Pool);
        SeekSharp.Training.Backward.Linear.Backward(r, x, w, dx2, dw2, n, inDim, outDim, Pool);
        SeekSharp.Training.Backward.Linear.Backward(r, x, w, dx2, dw2, n, inDim, outDim, Pool);
        for (int i = 0; i < dx1.Length; i++) Assert.Equal(2 * dx1[i], dx2[i], 5);
        for (int i = 0; i < dw1.Length; i++) Assert.Equal(2 * dw1[i], dw2[i], 5);
    }

    [Fact]
    public void Embedding() => GradientCase.Embedding().Check(); // repeated tokens must sum

    [Fact]
    public void RmsNorm() => GradientCase.RmsNorm(Pool).Check();

    [Fact]
    public void Rope() => GradientCase.Rope().Check();

    [Fact]
    public void RopeMatchesInferenceRotation()
    {
        // The training table and rotation must equal what SeekSharp's inference applies for llama (adjacent pairs).
        var config = new SeekSharp.Models.ModelConfig
        {
            Architecture = "llama", ContextLength = 16, EmbeddingLength = 16, BlockCount = 1, FeedForwardLength = 8, VocabSize = 4,
            HeadCount = 2, HeadCountKv = 2, HeadDim = 8, NormEpsilon = 1e-5f, RopeFreqBase = 10000f, RopeDimensionCount = 8,
            RopeFreqScale = 1f, RopeMode = SeekSharp.Models.RopeMode.Adjacent,
        };
        var inference = new SeekSharp.Models.Blocks.Rope(config, null);
        int t = 7;
        float[] cos = new float[t * 4], sin = new float[t * 4], c = new float[4], s = new float[4];
        new SeekSharp.Models.Blocks.Rope(8, 8, 10000f, 1f, SeekSharp.Models.RopeMode.Adjacent).Table(t, cos, sin);
        var rng = new Random(6);
        float[] x = Random(rng, t * 16), y = new float[x.Length], expected = (float[])x.Clone();
        SeekSharp.Training.Backward.Rope.Forward(x, cos, sin, y, t, t, 2, 8, 16);
        for (int pos = 0; pos < t; pos++)
        {
            inference.Angles(pos, c, s);
            inference.Apply(expected.AsSpan(pos * 16, 16), 2, c, s);
        }
        Assert.Equal(expected, y);
    }

    [Theory]
    [InlineData(4, 2)] // grouped-query: two query heads per key/value head
    [InlineData(2, 2)]
    [InlineData(2, 1)]
    public void Attention(int heads, int kvHeads) => GradientCase.Attention(Pool, heads, kvHeads).Check();

    [Theory]
    [InlineData(4, 2, 5)]
    [InlineData(2, 1, 1)]
    [InlineData(3, 3, 7)]
    public void AttentionGemmMatchesTheDirectReferenceAndFiniteDifferences(int heads, int kvHeads, int t)
    {
        AttentionGemmMatchesTheDirectReference(heads, kvHeads, t, finiteDifferences: true);
    }

    // Longer than a query block: several blocks, a partial last one, and the diagonal blocks' masked corners.
    [Theory]
    [InlineData(4, 2, 2 * SeekSharp.Training.Backward.AttentionGemm.QueryBlock + 5)]
    [InlineData(2, 2, SeekSharp.Training.Backward.AttentionGemm.QueryBlock + 1)]
    [InlineData(2, 1, SeekSharp.Training.Backward.AttentionGemm.QueryBlock)]
    public void AttentionGemmOverSeveralQueryBlocksMatchesTheDirectReference(int heads, int kvHeads, int t) =>
        AttentionGemmMatchesTheDirectReference(heads, kvHeads, t, finiteDifferences: false);

    private static void AttentionGemmMatchesTheDirectReference(int heads, int kvHeads, int t, bool finiteDifferences)
    {
        var rng = new Random(13);
        int b = 2, hd = 4, n = b * t, qs = heads * hd, ks = kvHeads * hd;
        float[] q = Random(rng, n * qs), k = Random(rng, n * ks), v = Random(rng, n * ks), r = Random(rng, n * qs);
        float[] scratch = new float[b * kvHeads * SeekSharp.Training.Backward.AttentionGemm.ScratchPerItem(t, hd)];
        float[] attRef = new float[b * heads * t * t], yRef = new float[n * qs], att = new float[attRef.Length], y = new float[yRef.Length];
        SeekSharp.Training.Backward.Attention.Forward(q, k, v, attRef, yRef, b, t, heads, kvHeads, hd, qs, ks, Pool);
        double Objective()
        {
            SeekSharp.Training.Backward.AttentionGemm.Forward(q, k, v, att, y, b, t, heads, kvHeads, hd, qs, ks, scratch, Pool);
            return Dot(r, y);
        }
        Objective();
        // The GEMM path sums in another order than the direct loops: agreement to 5e-6 absolute (values are O(1)), not
        // equality after rounding to 5 decimals, which flips when a value sits on a rounding boundary.
        const float Agreement = 5e-6f;
        for (int i = 0; i < y.Length; i++) Assert.Equal(yRef[i], y[i], Agreement);

        float[] dqRef = new float[q.Length], dkRef = new float[k.Length], dvRef = new float[v.Length];
        float[] dq = Random(rng, q.Length), dk = Random(rng, k.Length), dv = Random(rng, v.Length); // backward accumulates: start non-zero
        float[] dq0 = (float[])dq.Clone(), dk0 = (float[])dk.Clone(), dv0 = (float[])dv.Clone();
        SeekSharp.Training.Backward.Attention.Backward(r, q, k, v, attRef, dqRef, dkRef, dvRef, b, t, heads, kvHeads, hd, qs, ks, Pool);
        SeekSharp.Training.Backward.AttentionGemm.Backward(r, q, k, v, att, dq, dk, dv, b, t, heads, kvHeads, hd, qs, ks, scratch, Pool);
        for (int i = 0; i < dq.Length; i++) Assert.Equal(dq0[i] + dqRef[i], dq[i], Agreement);
        for (int i = 0; i < dk.Length; i++) Assert.Equal(dk0[i] + dkRef[i], dk[i], Agreement);
        for (int i = 0; i < dv.Length; i++) Assert.Equal(dv0[i] + dvRef[i], dv[i], Agreement);
        for (int i = 0; i < att.Length; i++) Assert.Equal(attRef[i], att[i], Agreement);
        if (finiteDifferences)
            GradientCase.Attention(Pool, heads, kvHeads, gemm: true, t, seed: 13).Check();
    }

    [Fact]
    public void AttentionOnColumnBlocksOfOneFusedProjection() => GradientCase.AttentionOnFusedProjection(Pool).Check();

    [Fact]
    public void AttentionIsCausalAndPerSequence()
    {
        // Changing a later position, or another sequence, must not change an earlier output.
        var rng = new Random(8);
        int b = 2, t = 5, heads = 2, hd = 4, n = b * t, w = heads * hd;
        float[] q = Random(rng, n * w), k = Random(rng, n * w), v = Random(rng, n * w);
        float[] att = new float[b * heads * t * t], y1 = new float[n * w], y2 = new float[n * w];
        SeekSharp.Training.Backward.Attention.Forward(q, k, v, att, y1, b, t, heads, heads, hd, w, w, Pool);
        for (int c = 0; c < w; c++) { k[3 * w + c] += 1f; v[3 * w + c] -= 1f; } // sequence 0, position 3
        SeekSharp.Training.Backward.Attention.Forward(q, k, v, att, y2, b, t, heads, heads, hd, w, w, Pool);
        for (int i = 0; i < n * w; i++)
        {
            int row = i / w;
            bool affected = row is 3 or 4;
            if (affected) Assert.NotEqual(y1[i], y2[i]);
            else Assert.Equal(y1[i], y2[i]);
        }
    }

    [Fact]
    public void SwiGlu() => GradientCase.SwiGlu(Pool).Check(); // f above the 256-float backward chunk

    [Fact]
    public void RmsNormWeightGradientSpansSeveralColumnBlocks() =>
        GradientCase.RmsNorm(Pool, seed: 14, n: 4, d: 130, xElements: i => i % 5 == 0).Check(); // three 64-column blocks, the last partial

    [Fact]
    public void CrossEntropy() => GradientCase.CrossEntropy(Pool).Check(); // with a masked row

    [Fact]
    public void CrossEntropyForwardIsTheLogSoftmaxOfTheTarget()
    {
        float[] logits = [1f, 2f, 3f, 1000f, 1001f, 999f];
        float[] lse = new float[2], lp = new float[2];
        SeekSharp.Training.Backward.CrossEntropy.Forward(logits, [2, 1], lse, lp, 3, Pool);
        double z0 = Math.Log(Math.Exp(1) + Math.Exp(2) + Math.Exp(3));
        Assert.Equal(3 - z0, lp[0], 5);
        Assert.Equal(3 - z0, lp[1], 4); // the same row shifted by 998: finite, as the max is subtracted
    }
}

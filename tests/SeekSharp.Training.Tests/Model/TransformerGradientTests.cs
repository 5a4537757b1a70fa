using SeekSharp.Kernels.Threading;
using SeekSharp.Training.Model;
using SeekSharp.Training.Tests.Ops;

namespace SeekSharp.Training.Tests.Model;

/// <summary>
/// The whole model's backward against central differences, for a sample of elements of every parameter tensor,
/// through both training objectives: the weighted loss and an arbitrary linear function of the log-probabilities.
/// </summary>
/// <remarks>
/// The objectives are recomputed from the per-token log-probabilities in double. Weights are O(0.3) (not the 0.02 of
/// training) so gradients are large enough to compare; the tolerance is <see cref="GradCheck"/>'s, with h = 3e-3.
/// </remarks>
public class TransformerGradientTests
{
    private static readonly WorkerPool Pool = new(2);

    private static TransformerConfig Config(bool tied) => new()
    {
        VocabSize = 11, ContextLength = 8, Dim = 8, Layers = 2, Heads = 2, KvHeads = 1, FfnDim = 12, TiedEmbeddings = tied,
    };

    private static Transformer Create(bool tied, out int[] tokens, out int[] targets, int batch, int seqLen)
    {
        var model = new Transformer(Config(tied), batch, seqLen, Pool);
        model.InitializeWeights(new TrainingRandom(42), std: 0.3f);
        var rng = new Random(3);
        // Norm gains away from 1, so their gradients are exercised at a generic point.
        foreach (var t in model.Layout.All)
            if (!t.IsMatrix)
                for (int i = 0; i < t.Length; i++) model.Parameters[t.Offset + i] = (float)(1 + 0.3 * (2 * rng.NextDouble() - 1));
        tokens = Enumerable.Range(0, batch * seqLen).Select(_ => rng.Next(11)).ToArray();
        targets = Enumerable.Range(0, batch * seqLen).Select(_ => rng.Next(11)).ToArray();
        return model;
    }

    // A few elements of every tensor: its first and last element and two in between.
    private static IEnumerable<int> Sample(Transformer model)
    {
        var rng = new Random(11);
        foreach (var t in model.Layout.All)
        {
            yield return t.Offset;
            yield return t.Offset + t.Length - 1;
            yield return t.Offset + rng.Next(t.Length);
            yield return t.Offset + rng.Next(t.Length);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WeightedLossGradientMatchesFiniteDifferences(bool tied)
    {
        const int b = 2, t = 5;
        var model = Create(tied, out int[] tokens, out int[] targets, b, t);
        // Masked (0), down-weighted and up-weighted tokens.
        float[] weights = Enumerable.Range(0, b * t).Select(i => i % 3 == 0 ? 0f : i % 3 == 1 ? 0.5f : 2f).ToArray();
        int count = weights.Count(w => w != 0);
        var logProbs = new float[b * t];
        double Objective()
        {
            model.LogProbs(tokens, targets, b, t, logProbs);
            double s = 0;
            for (int i = 0; i < logProbs.Length; i++) s -= (double)weights[i] * logProbs[i];
            return s / count;
        }

        float loss = model.Loss(tokens, targets, weights, b, t);
        Assert.Equal(Objective(), loss, 5);
        model.Loss(tokens, targets, weights, b, t);
        model.ZeroGradients();
        model.LossBackward();
        var analytic = (float[])model.Gradients.Clone();
        Assert.Contains(analytic, g => g != 0);
        GradCheck.Check("dθ", model.Parameters, analytic, Objective, Sample(model), h: 3e-3);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LogProbGradientMatchesFiniteDifferences(bool tied)
    {
        const int b = 2, t = 4;
        var model = Create(tied, out int[] tokens, out int[] targets, b, t);
        var rng = new Random(5);
        float[] dLogProbs = GradCheck.Random(rng, b * t); // e.g. per-token advantages, of both signs
        var logProbs = new float[b * t];
        double Objective()
        {
            model.LogProbs(tokens, targets, b, t, logProbs);
            return GradCheck.Dot(dLogProbs, logProbs);
        }

        Objective();
        model.ZeroGradients();
        model.LogProbsBackward(dLogProbs);
        var analytic = (float[])model.Gradients.Clone();
        GradCheck.Check("dθ", model.Parameters, analytic, Objective, Sample(model), h: 3e-3);
    }

    [Fact]
    public void BothAttentionKernelsGiveTheSameLossAndGradients()
    {
        const int b = 2, t = 5;
        var gemm = Create(false, out int[] tokens, out int[] targets, b, t);
        var direct = new Transformer(Config(false), b, t, Pool, AttentionKernel.Direct);
        gemm.Parameters.CopyTo(direct.Parameters, 0);
        float[] w = Enumerable.Repeat(1f, b * t).ToArray();
        float lossGemm = gemm.Loss(tokens, targets, w, b, t), lossDirect = direct.Loss(tokens, targets, w, b, t);
        Assert.Equal(lossDirect, lossGemm, 5);
        gemm.ZeroGradients();
        direct.ZeroGradients();
        gemm.LossBackward();
        direct.LossBackward();
        for (int i = 0; i < gemm.Gradients.Length; i++)
            Assert.True(MathF.Abs(gemm.Gradients[i] - direct.Gradients[i]) <= 1e-5f + 1e-4f * MathF.Abs(direct.Gradients[i]), $"gradient {i}");
    }

    [Fact]
    public void MaskedTokensTargetsDoNotReachTheGradients()
    {
        // SFT: with weight 0 a token's target (e.g. a user-turn token) must not matter at all.
        const int b = 1, t = 5;
        var model = Create(false, out int[] tokens, out int[] targets, b, t);
        float[] w = [0, 1, 0, 1, 1];
        model.ZeroGradients();
        float loss = model.Loss(tokens, targets, w, b, t);
        model.LossBackward();
        var before = (float[])model.Gradients.Clone();
        targets[0] = (targets[0] + 1) % 11;
        targets[2] = (targets[2] + 3) % 11;
        model.ZeroGradients();
        Assert.Equal(loss, model.Loss(tokens, targets, w, b, t));
        model.LossBackward();
        Assert.Equal(before, model.Gradients);
    }

    [Fact]
    public void LogProbsAreTheLogSoftmaxOfTheLogitsAtTheTargets()
    {
        const int b = 2, t = 3, v = 11;
        var model = Create(true, out int[] tokens, out int[] targets, b, t);
        var logProbs = new float[b * t];
        model.LogProbs(tokens, targets, b, t, logProbs);
        var logits = model.Logits;
        for (int i = 0; i < b * t; i++)
        {
            double sum = 0;
            for (int j = 0; j < v; j++) sum += Math.Exp(logits[i * v + j]);
            Assert.Equal(logits[i * v + targets[i]] - Math.Log(sum), logProbs[i], 5);
        }
    }

    [Fact]
    public void BackwardAccumulatesAcrossCalls()
    {
        const int b = 1, t = 4;
        var model = Create(false, out int[] tokens, out int[] targets, b, t);
        float[] weights = [1, 1, 0, 1];
        model.ZeroGradients();
        model.Loss(tokens, targets, weights, b, t);
        model.LossBackward();
        var once = (float[])model.Gradients.Clone();
        model.Loss(tokens, targets, weights, b, t);
        model.LossBackward();
        for (int i = 0; i < once.Length; i++)
            Assert.Equal(2 * once[i], model.Gradients[i], 5);
    }

    [Fact]
    public void ScaledMicroBatchesAccumulateToTheFullBatchGradient()
    {
        const int t = 4;
        var model = Create(false, out int[] tokens, out int[] targets, 2, t);
        float[] ones = [1, 1, 1, 1, 1, 1, 1, 1];
        model.ZeroGradients();
        model.Loss(tokens, targets, ones, 2, t);
        model.LossBackward();
        var full = (float[])model.Gradients.Clone();

        model.ZeroGradients();
        for (int s = 0; s < 2; s++)
        {
            model.Loss(tokens.AsSpan(s * t, t), targets.AsSpan(s * t, t), ones.AsSpan(0, t), 1, t);
            model.LossBackward(scale: 0.5f); // equal token counts: the mean of the two means is the full mean
        }
        for (int i = 0; i < full.Length; i++)
            Assert.True(MathF.Abs(full[i] - model.Gradients[i]) <= 1e-6f + 1e-4f * MathF.Abs(full[i]), $"gradient {i}: {full[i]} vs {model.Gradients[i]}");
    }

    [Fact]
    public void SmallerBatchThanAllocatedGivesTheSameLossAsAnExactFit()
    {
        var big = Create(false, out int[] tokens, out int[] targets, 3, 7);
        var exact = new Transformer(Config(false), 1, 4, Pool);
        big.Parameters.CopyTo(exact.Parameters, 0);
        float[] w = [1, 1, 1, 1];
        Assert.Equal(exact.Loss(tokens[..4], targets[..4], w, 1, 4), big.Loss(tokens[..4], targets[..4], w, 1, 4));
    }

    [Fact]
    public void InvalidInputsThrowWithTheOffendingIndex()
    {
        var model = Create(false, out int[] tokens, out int[] targets, 1, 4);
        tokens[2] = 11;
        var e = Assert.Throws<ArgumentException>(() => model.Loss(tokens, targets, new float[4], 1, 4));
        Assert.Contains("tokens[2] = 11", e.Message);
        Assert.Throws<InvalidOperationException>(() => new Transformer(Config(false), 1, 4, Pool).LossBackward());
    }
}

using SeekSharp.Models;
using SeekSharp.Kernels.Threading;
using SeekSharp.Training.Model;
using SeekSharp.Training.Tests.Backward;

namespace SeekSharp.Training.Tests.Model;

/// <summary>
/// The whole model's backward against finite differences, on every element of every parameter tensor (256 of them,
/// chosen at random, in a tensor of more), through both training objectives: the weighted loss and an arbitrary
/// linear function of the log-probabilities.
/// </summary>
/// <remarks>
/// <para>Weights are O(0.3) (not the 0.02 of training) so gradients are large enough to compare. The objectives are
/// recomputed in double from the float logits of the forward, which is the same function as the model's float
/// log-probabilities with less rounding noise; its noise, measured as the spread of second differences at tiny steps,
/// is σ ≈ 3e-8 to 3e-7 (the tied model's larger logits round coarser).</para>
/// <para>The check is the order-6 stencil at h = 1/16 with Atol 5e-5, Rtol 1e-3 (<see cref="Case"/>): noise ≈ 1.1·σ/h
/// ≤ 5e-6 per derivative, with the truncation smaller still. Measured over every element of each case, the correct
/// backward reaches at most 0.38 of the bound, while scaling any term of any backward by 1.01 exceeds it at least 7.9×
/// (<see cref="BackwardMutationTests"/>, which prints the margins). A smaller h raises the noise (h = 1/64: up to 1.6
/// of a bound with Atol 5e-5), and Atol 1e-5 sits inside the noise of the tied model.</para>
/// </remarks>
public class TransformerGradientTests
{
    private static readonly WorkerPool Pool = new(2);

    internal static ModelConfig Config(bool tied) => ModelConfig.Llama(vocabSize: 11, contextLength: 8, embeddingLength: 8, blockCount: 2, headCount: 2, headCountKv: 1, feedForwardLength: 12, tiedEmbeddings: tied);

    internal static Transformer Create(bool tied, out int[] tokens, out int[] targets, int batch, int seqLen,
        AttentionKernel attention = AttentionKernel.Gemm)
    {
        var model = new Transformer(Config(tied), batch, seqLen, Pool, attention);
        model.InitializeWeights(new TrainingRandom(42), std: 0.3f);
        // The embedding at std 0.6: RMSNorm divides each row by its RMS, so a row of RMS 0.1 (not rare at std 0.3 and
        // width 8) would make the loss curve on the scale of the finite-difference step.
        foreach (ref float e in model.Layout.TokenEmbedding.Of(model.Parameters)) e *= 2;
        var rng = new Random(3);
        // Norm gains away from 1, so their gradients are exercised at a generic point.
        foreach (var t in model.Layout.All)
            if (!t.IsMatrix)
                for (int i = 0; i < t.Length; i++) model.Parameters[t.Offset + i] = (float)(1 + 0.3 * (2 * rng.NextDouble() - 1));
        tokens = Enumerable.Range(0, batch * seqLen).Select(_ => rng.Next(11)).ToArray();
        targets = Enumerable.Range(0, batch * seqLen).Select(_ => rng.Next(11)).ToArray();
        return model;
    }

    /// <summary>Elements of each tensor to check: all of a tensor of up to <paramref name="perTensor"/> elements, else
    /// its first and last and a fixed random sample, <paramref name="perTensor"/> in all.</summary>
    internal static int[] Sample(Transformer model, int perTensor = 256)
    {
        var rng = new Random(11);
        var indices = new List<int>();
        foreach (var t in model.Layout.All)
        {
            if (t.Length <= perTensor)
            {
                indices.AddRange(Enumerable.Range(t.Offset, t.Length));
                continue;
            }
            var chosen = new SortedSet<int> { 0, t.Length - 1 };
            while (chosen.Count < perTensor) chosen.Add(rng.Next(t.Length));
            indices.AddRange(chosen.Select(i => t.Offset + i));
        }
        return indices.ToArray();
    }

    /// <summary>One model, input batch and objective: the numeric gradient over <see cref="Sample"/>, and the analytic one.</summary>
    internal sealed class Case
    {
        // The stencil and bound of the whole-model check (the class remarks say how they were chosen).
        public const double H = 1.0 / 16, Atol = 5e-5, Rtol = GradCheck.Rtol;
        public const int Order = 6;

        private readonly Func<double> _objective;
        private readonly Action _backward;

        private Case(string name, Transformer model, Func<double> objective, Action backward)
        {
            Name = name;
            Model = model;
            _objective = objective;
            _backward = backward;
            Indices = Sample(model);
        }

        public string Name { get; }
        public Transformer Model { get; }
        /// <summary>The loss the model itself reports for the objective, when it has one.</summary>
        public Func<float>? ReportedLoss { get; private init; }
        public int[] Indices { get; }

        /// <summary>−Σ w·log p / #{w ≠ 0} over masked (0), down-weighted and up-weighted tokens, through <see cref="Transformer.LossBackward"/>.</summary>
        public static Case WeightedLoss(bool tied, AttentionKernel attention = AttentionKernel.Gemm)
        {
            const int b = 2, t = 5;
            var model = Create(tied, out int[] tokens, out int[] targets, b, t, attention);
            float[] weights = Enumerable.Range(0, b * t).Select(i => i % 3 == 0 ? 0f : i % 3 == 1 ? 0.5f : 2f).ToArray();
            int count = weights.Count(w => w != 0);
            var logProbs = new float[b * t];
            return new($"WeightedLoss(tied={tied}, {attention})", model,
                () =>
                {
                    model.LogProbs(tokens, targets, b, t, logProbs);
                    double s = 0;
                    for (int i = 0; i < logProbs.Length; i++) s -= weights[i] * LogSoftmax(model, i, targets[i]);
                    return s / count;
                },
                () =>
                {
                    model.Loss(tokens, targets, weights, b, t);
                    model.LossBackward();
                })
            {
                ReportedLoss = () => model.Loss(tokens, targets, weights, b, t),
            };
        }

        /// <summary>Σ a·log p with per-token a of both signs (e.g. advantages), through <see cref="Transformer.LogProbsBackward"/>.</summary>
        public static Case LogProbs(bool tied, AttentionKernel attention = AttentionKernel.Gemm)
        {
            const int b = 2, t = 4;
            var model = Create(tied, out int[] tokens, out int[] targets, b, t, attention);
            float[] dLogProbs = GradCheck.Random(new Random(5), b * t);
            var logProbs = new float[b * t];
            return new($"LogProbs(tied={tied}, {attention})", model,
                () =>
                {
                    model.LogProbs(tokens, targets, b, t, logProbs);
                    double s = 0;
                    for (int i = 0; i < logProbs.Length; i++) s += dLogProbs[i] * LogSoftmax(model, i, targets[i]);
                    return s;
                },
                () =>
                {
                    model.LogProbs(tokens, targets, b, t, logProbs);
                    model.LogProbsBackward(dLogProbs);
                });
        }

        /// <summary>log p(target) of token <paramref name="row"/> from the last forward's float logits, in double: the
        /// same function as the model's float log-probabilities, with half the rounding noise.</summary>
        private static double LogSoftmax(Transformer model, int row, int target)
        {
            int v = model.Config.VocabSize;
            var logits = model.Logits.Slice(row * v, v);
            double max = double.NegativeInfinity, sum = 0;
            foreach (float l in logits) max = Math.Max(max, l);
            foreach (float l in logits) sum += Math.Exp(l - max);
            return logits[target] - max - Math.Log(sum);
        }

        public double Objective() => _objective();

        public double[] Numeric() => GradCheck.Numeric(Model.Parameters, _objective, Indices, H, Order);

        /// <summary>The backward's gradient at the unperturbed parameters (honours a <see cref="SeekSharp.Training.Backward.BackwardMutation"/> in force).</summary>
        public float[] Analytic()
        {
            Model.ZeroGradients();
            _backward();
            return (float[])Model.Gradients.Clone();
        }

        /// <summary>The worst element and the tensor it belongs to.</summary>
        public (string Tensor, GradCheck.Worst Worst) Compare(double[] numeric, float[] analytic)
        {
            var worst = GradCheck.Compare(numeric, analytic, Indices, Atol, Rtol);
            var tensor = Model.Layout.All.FirstOrDefault(t => worst.Index >= t.Offset && worst.Index < t.Offset + t.Length);
            return (tensor.Name ?? "?", worst);
        }

        public void Check()
        {
            var analytic = Analytic();
            Assert.Contains(analytic, g => g != 0);
            var (tensor, worst) = Compare(Numeric(), analytic);
            Assert.True(worst.Ratio <= 1, $"{Name}: d{tensor}{worst}");
        }

        public override string ToString() => Name;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WeightedLossGradientMatchesFiniteDifferences(bool tied)
    {
        var c = Case.WeightedLoss(tied);
        Assert.Equal(c.Objective(), c.ReportedLoss!(), 5); // the finite differences see the loss the model reports
        c.Check();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LogProbGradientMatchesFiniteDifferences(bool tied) => Case.LogProbs(tied).Check();

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

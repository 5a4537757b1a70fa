using SeekSharp.Models;
using SeekSharp.Training.Model;

namespace SeekSharp.Training.Tests.Model;

/// <summary>
/// Log-probabilities at a sampling temperature τ (GRPO's π_old and π_θ): the forward is log-softmax(logits / τ) and
/// the backward its gradient, so a policy sampled at τ is scored and trained on the distribution that drew its tokens.
/// </summary>
public sealed class TemperatureLogProbsTests
{
    static Transformer Create(out int[] tokens, out int[] targets)
    {
        var config = ModelConfig.Llama(vocabSize: 13, contextLength: 8, embeddingLength: 8, blockCount: 1, headCount: 2, headCountKv: 1, feedForwardLength: 12);
        var model = new Transformer(config, 2, 4);
        model.InitializeWeights(new TrainingRandom(7), std: 0.4f);
        var rng = new Random(5);
        tokens = [.. Enumerable.Range(0, 8).Select(_ => rng.Next(13))];
        targets = [.. Enumerable.Range(0, 8).Select(_ => rng.Next(13))];
        return model;
    }

    [Theory]
    [InlineData(0.5f)]
    [InlineData(0.8f)]
    [InlineData(1.7f)]
    public void ForwardIsTheLogSoftmaxOfTheScaledLogits(float temperature)
    {
        var model = Create(out var tokens, out var targets);
        var atT = new float[8];
        var atOne = new float[8];
        model.LogProbs(tokens, targets, 2, 4, atOne);
        model.LogProbs(tokens, targets, 2, 4, atT, temperature);
        var logits = model.Logits.ToArray();
        int v = model.Config.VocabSize;
        for (int i = 0; i < 8; i++)
        {
            double[] row = [.. logits.AsSpan(i * v, v).ToArray().Select(x => (double)x / temperature)];
            double max = row.Max(), lse = max + Math.Log(row.Sum(x => Math.Exp(x - max)));
            Assert.Equal(row[targets[i]] - lse, atT[i], 5);
            Assert.NotEqual(atOne[i], atT[i]);
        }
    }

    [Fact]
    public void TemperatureOneIsBitIdenticalToTheUnscaledPath()
    {
        var model = Create(out var tokens, out var targets);
        var a = new float[8];
        model.LogProbs(tokens, targets, 2, 4, a, 1f);
        var weights = Enumerable.Repeat(1f, 8).ToArray();
        model.Loss(tokens, targets, weights, 2, 4);
        var b = new float[8];
        model.LogProbs(tokens, targets, 2, 4, b);
        Assert.Equal(a, b);
    }

    [Theory]
    [InlineData(0.5f)]
    [InlineData(2f)]
    public void BackwardMatchesFiniteDifferences(float temperature)
    {
        // J = Σ c[i] · log p_τ(target[i]); ∂J/∂θ by the backward against central differences of J (evaluated in double
        // from the float forward), on every parameter of this small model.
        var model = Create(out var tokens, out var targets);
        double[] c = [0.3, -0.7, 1.1, 0.2, -0.4, 0.9, -1.3, 0.5];
        var lp = new float[8];
        double J()
        {
            model.LogProbs(tokens, targets, 2, 4, lp, temperature);
            return Enumerable.Range(0, 8).Sum(i => c[i] * lp[i]);
        }
        model.ZeroGradients();
        J();
        model.LogProbsBackward([.. c.Select(x => (float)x)]);
        float[] analytic = [.. model.Gradients];
        const float h = 1e-2f;
        int checkedCount = 0;
        for (int k = 0; k < model.Parameters.Length; k++)
        {
            float saved = model.Parameters[k];
            model.Parameters[k] = saved + h;
            double plus = J();
            model.Parameters[k] = saved - h;
            double minus = J();
            model.Parameters[k] = saved;
            double numeric = (plus - minus) / (2 * h);
            Assert.True(Math.Abs(numeric - analytic[k]) <= 2e-3 + 2e-2 * Math.Abs(numeric),
                $"parameter {k}, τ {temperature}: finite difference {numeric}, backward {analytic[k]}");
            checkedCount++;
        }
        Assert.True(checkedCount > 500);
    }

    [Fact]
    public void ANonPositiveTemperatureIsRefused()
    {
        var model = Create(out var tokens, out var targets);
        var lp = new float[8];
        Assert.Throws<ArgumentOutOfRangeException>(() => model.LogProbs(tokens, targets, 2, 4, lp, 0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.LogProbs(tokens, targets, 2, 4, lp, float.NaN));
    }
}

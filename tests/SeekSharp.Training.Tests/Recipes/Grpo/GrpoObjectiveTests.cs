using SeekSharp.Training.Model;
using SeekSharp.Training.Recipes.Grpo;

namespace SeekSharp.Training.Tests.Recipes.Grpo;

/// <summary>Group advantages and the clipped-ratio objective's analytic gradient.</summary>
public sealed class GrpoObjectiveTests
{
    [Fact]
    public void GrpoAdvantagesAreNormalisedWithinEachGroup()
    {
        double[] rewards = [1, 0, 0, 1, /**/ 1, 0, 0, 0, /**/ 0.5, 0.5, 0.5, 0.5];
        var advantages = new double[rewards.Length];
        GroupAdvantages.Compute(rewards, 4, drGrpo: false, epsilon: 1e-4, advantages);
        double std2 = Math.Sqrt(0.1875); // population std of {1, 0, 0, 0}
        double[] expected = [0.5 / 0.5001, -0.5 / 0.5001, -0.5 / 0.5001, 0.5 / 0.5001,
                             0.75 / (std2 + 1e-4), -0.25 / (std2 + 1e-4), -0.25 / (std2 + 1e-4), -0.25 / (std2 + 1e-4),
                             0, 0, 0, 0];
        for (int i = 0; i < rewards.Length; i++) Assert.Equal(expected[i], advantages[i], 12);
    }

    [Fact]
    public void DrGrpoAdvantagesSubtractTheGroupMeanOnly()
    {
        double[] rewards = [1, 0, 0, 1, /**/ 1.1, 0.1, 0, 0];
        var advantages = new double[rewards.Length];
        GroupAdvantages.Compute(rewards, 4, drGrpo: true, epsilon: 1e-4, advantages);
        double[] expected = [0.5, -0.5, -0.5, 0.5, 0.8, -0.2, -0.3, -0.3];
        for (int i = 0; i < rewards.Length; i++) Assert.Equal(expected[i], advantages[i], 12);
    }

    // Tokens chosen to cover every branch: ratio inside the clip range, above it and below it, with positive and
    // negative advantages, none within 1e-3 of a clip boundary (where the objective has a kink).
    private static readonly double[] X = [-1.2, -0.4, -2.5, -0.9, -3.0, -0.1];
    private static readonly double[] XOld = [-1.25, -0.8, -2.0, -0.5, -2.6, -0.4];   // ratios ≈ 1.05, 1.49, 0.61, 0.67, 0.67, 1.35
    private static readonly double[] XRef = [-1.0, -0.7, -2.2, -1.1, -2.6, -0.3];
    private static readonly double[] Advantage = [1.3, 0.7, -0.9];                   // per sequence of 2 tokens
    private static readonly double[] Weight = [0.25, 0.25, 0.5, 0.0, 0.125, 0.125];  // a weight-0 (prompt) token included
    private const double Epsilon = 0.2;

    private static double Objective(double[] x, double beta) => Objective(x, XOld, XRef, beta);

    private static double Objective(double[] x, double[] xOld, double[] xRef, double beta)
    {
        double j = 0;
        for (int i = 0; i < x.Length; i++)
            j += Weight[i] * GrpoObjective.TokenLoss(x[i], xOld[i], xRef[i], Advantage[i / 2], Epsilon, beta);
        return j;
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.3)]
    public void AnalyticGradientMatchesFiniteDifferences(double beta)
    {
        const double h = 1e-6;
        for (int i = 0; i < X.Length; i++)
        {
            double[] plus = [.. X], minus = [.. X];
            plus[i] += h;
            minus[i] -= h;
            double numeric = (Objective(plus, beta) - Objective(minus, beta)) / (2 * h);
            double analytic = Weight[i] * GrpoObjective.TokenGradient(X[i], XOld[i], XRef[i], Advantage[i / 2], Epsilon, beta);
            Assert.True(Math.Abs(numeric - analytic) < 1e-7, $"token {i}, β {beta}: finite difference {numeric}, analytic {analytic}");
        }
        // Outside the range the surrogate is flat only in the direction the advantage favours.
        Assert.Equal(0.0, GrpoObjective.TokenGradient(X[1], XOld[1], XRef[1], Advantage[0], Epsilon, 0)); // ρ > 1+ε, A > 0
        Assert.Equal(0.0, GrpoObjective.TokenGradient(X[4], XOld[4], XRef[4], Advantage[2], Epsilon, 0)); // ρ < 1−ε, A < 0
        Assert.NotEqual(0.0, GrpoObjective.TokenGradient(X[2], XOld[2], XRef[2], Advantage[1], Epsilon, 0)); // ρ < 1−ε, A > 0
        Assert.NotEqual(0.0, GrpoObjective.TokenGradient(X[5], XOld[5], XRef[5], Advantage[2], Epsilon, 0)); // ρ > 1+ε, A < 0
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.3)]
    public void EvaluateSumsWeightedTokenTerms(double beta)
    {
        float[] x = [.. X.Select(v => (float)v)], xOld = [.. XOld.Select(v => (float)v)], xRef = [.. XRef.Select(v => (float)v)];
        var grad = new double[X.Length];
        double j = GrpoObjective.Evaluate(x, xOld, beta == 0 ? [] : xRef, Weight, Advantage, 2, Epsilon, beta, grad, out double kl, out int clipped);
        static double[] Wide(float[] v) => [.. v.Select(e => (double)e)];
        Assert.Equal(Objective(Wide(x), Wide(xOld), Wide(xRef), beta), j, 12);
        for (int i = 0; i < X.Length; i++)
            Assert.Equal(Weight[i] * GrpoObjective.TokenGradient(x[i], xOld[i], xRef[i], Advantage[i / 2], Epsilon, beta), grad[i], 12);
        Assert.Equal(0.0, grad[3]);
        double expectedKl = beta == 0 ? 0 : Enumerable.Range(0, X.Length).Where(i => Weight[i] != 0).Sum(i => GrpoObjective.K3(x[i], xRef[i]));
        Assert.Equal(expectedKl, kl, 9);
        // Tokens 1 (ρ > 1+ε, A > 0) and 4 (ρ < 1−ε, A < 0) are clipped; 2 and 5 leave the range against their advantage.
        int expectedClipped = Enumerable.Range(0, X.Length).Count(i => Weight[i] != 0 && GrpoObjective.IsClipped(x[i], xOld[i], Advantage[i / 2], Epsilon));
        Assert.Equal(expectedClipped, clipped);
        Assert.True(GrpoObjective.IsClipped(X[1], XOld[1], Advantage[0], Epsilon));
        Assert.True(GrpoObjective.IsClipped(X[4], XOld[4], Advantage[2], Epsilon));
        Assert.False(GrpoObjective.IsClipped(X[2], XOld[2], Advantage[1], Epsilon));
        Assert.False(GrpoObjective.IsClipped(X[5], XOld[5], Advantage[2], Epsilon));
    }

    [Fact]
    public void AtRatioOneWithoutKlTheGradientIsReinforceWithBaseline()
    {
        double[] rewards = [1, 0, 0.5, 0];
        var advantages = new double[4];
        GroupAdvantages.Compute(rewards, 4, drGrpo: false, epsilon: 1e-4, advantages);
        float[] x = [-1f, -2f, -0.5f, -3f, -1.5f, -0.2f, -0.7f, -2.2f]; // [B = 4, T = 2]
        double[] w = [0.1, 0.1, 0.2, 0.2, 0.05, 0.05, 0.3, 0.3];
        var grad = new double[x.Length];
        GrpoObjective.Evaluate(x, x, [], w, advantages, 2, Epsilon, 0, grad, out _, out _);
        for (int i = 0; i < x.Length; i++) Assert.Equal(-w[i] * advantages[i / 2], grad[i], 12);
    }

    [Fact]
    public void PolicyGradientThroughTheModelEqualsTheAdvantageWeightedLikelihoodGradient()
    {
        // REINFORCE with baseline on a real model: Σ A·w·∇log π through LogProbsBackward must equal the gradient of the
        // weighted cross-entropy −Σ (A·w·K)·log π / K that Transformer.Loss computes independently.
        var model = RecipeFixtures.Policy(dim: 16, layers: 1, maxBatch: 2, maxSeqLen: 6);
        int[] tokens = [5, 9, 33, 2, 17, 4, /**/ 8, 8, 100, 41, 7, 3];
        int[] targets = [9, 33, 2, 17, 4, 60, /**/ 8, 100, 41, 7, 3, 12];
        double[] w = [0, 0, 0.2, 0.2, 0.2, 0.2, /**/ 0, 0, 0, 0.25, 0.25, 0.25]; // prompt positions weigh 0
        double[] advantages = [0.8, -1.1];
        var logp = new float[12];
        model.ZeroGradients();
        model.LogProbs(tokens, targets, 2, 6, logp);
        var grad = new double[12];
        GrpoObjective.Evaluate(logp, logp, [], w, advantages, 6, Epsilon, 0, grad, out _, out _);
        model.LogProbsBackward([.. grad.Select(g => (float)g)]);
        float[] policyGradient = [.. model.Gradients];

        int k = w.Count(x => x != 0);
        float[] ceWeights = [.. w.Select((x, i) => (float)(x * advantages[i / 6] * k))];
        model.ZeroGradients();
        model.Loss(tokens, targets, ceWeights, 2, 6);
        model.LossBackward();
        double maxAbs = policyGradient.Max(MathF.Abs);
        Assert.True(maxAbs > 1e-4, "the policy gradient should not vanish");
        for (int i = 0; i < policyGradient.Length; i++)
            Assert.True(MathF.Abs(policyGradient[i] - model.Gradients[i]) <= 1e-5f * (float)maxAbs + 1e-9f, $"parameter {i}: {policyGradient[i]} vs {model.Gradients[i]}");
    }
}

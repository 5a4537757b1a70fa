using SeekSharp.Models;
using SeekSharp.Models.Blocks;

namespace SeekSharp.Tests.Models;

/// <summary>DeepSeekMoE routing on hand-made router logits, each case one rule of DeepSeek's gate.</summary>
public class MoeRoutingTests
{
    private static (int[] Chosen, float[] Weights) Route(MoeConfig m, float[] logits, float[]? bias = null)
    {
        var chosen = new int[m.ExpertUsedCount];
        var weights = new float[m.ExpertUsedCount];
        Moe.Route(m, bias, logits, new float[m.ExpertCount], new float[m.ExpertCount], new float[m.GroupCount], chosen, weights);
        return (chosen, weights);
    }

    private static MoeConfig Config(int experts, int used, ExpertGating gating, bool normalize = false, float scale = 1f,
        int groups = 1, int groupsUsed = 1, bool bias = false) =>
        new(experts, used, 0, 32, 0, gating, normalize, scale, groups, groupsUsed, bias);

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    [Fact]
    public void SoftmaxWeightsAreTheProbabilitiesOfAllExpertsTimesTheScale()
    {
        float[] logits = [0.5f, 2f, -1f, 1.5f];
        var (chosen, weights) = Route(Config(4, 2, ExpertGating.Softmax, scale: 16f), logits);
        double z = logits.Sum(l => Math.Exp(l));
        Assert.Equal([1, 3], chosen);
        Assert.Equal(16 * Math.Exp(2) / z, weights[0], 5);
        Assert.Equal(16 * Math.Exp(1.5) / z, weights[1], 5);
    }

    [Fact]
    public void CorrectionBiasChoosesButDoesNotWeigh()
    {
        // Expert 0 has the best score; the bias lifts expert 2 above it for the choice only.
        float[] logits = [2f, 1f, 0.5f, -1f];
        float[] bias = [0f, 0f, 2f, 0f];
        var (chosen, weights) = Route(Config(4, 2, ExpertGating.Sigmoid, normalize: true, scale: 2.5f, bias: true), logits, bias);
        Assert.Equal([2, 0], chosen);
        float s2 = Sigmoid(0.5f), s0 = Sigmoid(2f);
        Assert.Equal(2.5f * s2 / (s2 + s0), weights[0], 5);
        Assert.Equal(2.5f * s0 / (s2 + s0), weights[1], 5);
    }

    [Fact]
    public void GroupsWithBiasRankBySumOfTwoBestAndMaskTheRest()
    {
        // Groups of 3: {0,1,2} has the single best expert (5) but a weak second; {3,4,5} has two strong ones.
        // By top-2 sum group 1 wins (4 + 4 > 5 + 0), so expert 0 may not be chosen.
        float[] logits = [5f, 0f, -3f, 4f, 4f, -3f];
        float[] bias = new float[6];
        var (chosen, _) = Route(Config(6, 2, ExpertGating.Sigmoid, normalize: true, groups: 2, groupsUsed: 1, bias: true), logits, bias);
        Assert.Equal([3, 4], chosen);
    }

    [Fact]
    public void GroupsWithoutBiasRankByTheirBestExpert()
    {
        // The same logits without a correction bias (DeepSeek-V2's group-limited greedy): a group ranks by its best
        // score, so group 0 wins and its two best are chosen.
        float[] logits = [5f, 0f, -3f, 4f, 4f, -3f];
        var (chosen, _) = Route(Config(6, 2, ExpertGating.Softmax, groups: 2, groupsUsed: 1), logits);
        Assert.Equal([0, 1], chosen);
    }

    [Fact]
    public void NormalisedWeightsSumToTheScale()
    {
        float[] logits = [0.3f, -0.2f, 1.1f, 0.7f, -2f, 0.1f, 0.9f, -0.5f];
        var (_, weights) = Route(Config(8, 3, ExpertGating.Sigmoid, normalize: true, scale: 2.5f), logits);
        Assert.Equal(2.5f, weights.Sum(), 5);
    }

    [Fact]
    public void NaNLogitsStillChooseValidExperts()
    {
        // A corrupt file's router can give NaN: routing must still name k distinct experts, not fail.
        float[] logits = [float.NaN, 1f, float.NaN, float.NaN, 0.5f, float.NaN];
        foreach (var gating in new[] { ExpertGating.Sigmoid, ExpertGating.Softmax })
        {
            var (chosen, _) = Route(Config(6, 3, gating, normalize: true, groups: 2, groupsUsed: 2, bias: gating == ExpertGating.Sigmoid),
                logits, gating == ExpertGating.Sigmoid ? new float[6] : null);
            Assert.All(chosen, c => Assert.InRange(c, 0, 5));
            Assert.Equal(3, chosen.Distinct().Count());
        }
    }
}

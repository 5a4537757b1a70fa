using SeekSharp.Inference.Sampling;

namespace SeekSharp.Tests.Inference;

public class SamplerTests
{
    private static float[] RandomLogits(int n, int seed)
    {
        var r = new Random(seed);
        var l = new float[n];
        for (int i = 0; i < n; i++) l[i] = (float)(r.NextDouble() * 10 - 5);
        return l;
    }

    [Fact]
    public void GreedyPicksTheArgmaxAndTheFirstOfTies()
    {
        var s = new Sampler(SamplingOptions.Greedy, 6);
        Assert.Equal(3, s.Sample([0f, 1f, 2f, 5f, 5f, -1f]));
    }

    [Fact]
    public void TopKOfOneIsGreedyWhateverTheTemperature()
    {
        var logits = RandomLogits(1000, 1);
        int argmax = Array.IndexOf(logits, logits.Max());
        var s = new Sampler(new SamplingOptions { Temperature = 5f, TopK = 1, TopP = 1f, MinP = 0f, Seed = 7 }, logits.Length);
        for (int i = 0; i < 20; i++) Assert.Equal(argmax, s.Sample(logits));
    }

    [Fact]
    public void SameSeedSameTokensOtherSeedOtherTokens()
    {
        var logits = RandomLogits(500, 2);
        int[] Draw(int seed)
        {
            var s = new Sampler(new SamplingOptions { Temperature = 1.5f, TopK = 0, TopP = 1f, MinP = 0f, Seed = seed }, logits.Length);
            return Enumerable.Range(0, 50).Select(_ => s.Sample(logits)).ToArray();
        }
        Assert.Equal(Draw(11), Draw(11));
        Assert.NotEqual(Draw(11), Draw(12));
    }

    [Fact]
    public void DrawsFollowTheSoftmaxDistribution()
    {
        float[] logits = [MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.2f)];
        var s = new Sampler(new SamplingOptions { Temperature = 1f, TopK = 0, TopP = 1f, MinP = 0f, Seed = 3 }, 3);
        var counts = new int[3];
        const int n = 20000;
        for (int i = 0; i < n; i++) counts[s.Sample(logits)]++;
        Assert.InRange(counts[0] / (double)n, 0.48, 0.52);
        Assert.InRange(counts[1] / (double)n, 0.28, 0.32);
        Assert.InRange(counts[2] / (double)n, 0.18, 0.22);
    }

    [Fact]
    public void TopPKeepsTheSmallestSetReachingP()
    {
        // probabilities 0.5, 0.3, 0.2: top-p 0.7 keeps the first two only.
        float[] logits = [MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.2f)];
        var s = new Sampler(new SamplingOptions { Temperature = 1f, TopK = 0, TopP = 0.7f, MinP = 0f, Seed = 5 }, 3);
        var seen = new HashSet<int>();
        for (int i = 0; i < 2000; i++) seen.Add(s.Sample(logits));
        Assert.Equal([0, 1], seen.Order());
    }

    [Fact]
    public void MinPDropsTokensBelowAFractionOfTheBest()
    {
        // p = 0.6, 0.3, 0.1; min-p 0.25 keeps tokens with p ≥ 0.15.
        float[] logits = [MathF.Log(0.6f), MathF.Log(0.3f), MathF.Log(0.1f)];
        var s = new Sampler(new SamplingOptions { Temperature = 1f, TopK = 0, TopP = 1f, MinP = 0.25f, Seed = 5 }, 3);
        var seen = new HashSet<int>();
        for (int i = 0; i < 2000; i++) seen.Add(s.Sample(logits));
        Assert.Equal([0, 1], seen.Order());
    }

    [Fact]
    public void TopKSelectionMatchesAFullSort()
    {
        var logits = RandomLogits(5000, 9);
        var top = logits.Select((l, i) => (l, i)).OrderByDescending(p => p.l).Take(10).Select(p => p.i).ToHashSet();
        var s = new Sampler(new SamplingOptions { Temperature = 100f, TopK = 10, TopP = 1f, MinP = 0f, Seed = 1 }, logits.Length);
        var seen = new HashSet<int>();
        for (int i = 0; i < 3000; i++) seen.Add(s.Sample(logits));
        Assert.True(seen.SetEquals(top), "a very hot draw restricted to top-10 should visit exactly the 10 best tokens");
    }

    [Fact]
    public void RepetitionPenaltyLowersSeenTokensBothSigns()
    {
        // Token 0 (positive logit) and token 1 (negative) were seen; with a strong penalty token 2 wins.
        float[] logits = [2.0f, -0.1f, 1.5f];
        var s = new Sampler(SamplingOptions.Greedy with { RepeatPenalty = 2f }, 3);
        s.Accept(0); s.Accept(1);
        Assert.Equal(2, s.Sample(logits)); // 2/2 = 1 < 1.5
        var s2 = new Sampler(SamplingOptions.Greedy with { RepeatPenalty = 1.2f }, 3);
        s2.Accept(0);
        Assert.Equal(0, s2.Sample(logits)); // 2/1.2 = 1.67 > 1.5
    }

    [Fact]
    public void FrequencyAndPresencePenaltiesSubtractPerOccurrenceAndOnce()
    {
        float[] logits = [3.0f, 2.0f];
        var options = SamplingOptions.Greedy with { FrequencyPenalty = 0.5f, PresencePenalty = 0.1f };
        var once = new Sampler(options, 2);
        once.Accept(0);
        Assert.Equal(0, once.Sample(logits));  // 3 - 0.5 - 0.1 = 2.4 > 2
        var twice = new Sampler(options, 2);
        twice.Accept(0); twice.Accept(0);
        Assert.Equal(1, twice.Sample(logits)); // 3 - 1.0 - 0.1 = 1.9 < 2
    }

    [Fact]
    public void PenaltiesOnlyLookAtTheLastN()
    {
        float[] logits = [3.0f, 2.0f, -5f];
        var s = new Sampler(SamplingOptions.Greedy with { PresencePenalty = 2f, PenaltyLastN = 2 }, 3);
        s.Accept(0); s.Accept(2); s.Accept(2); // token 0 has left the window of 2
        Assert.Equal(0, s.Sample(logits));
    }
    [Fact]
    public void AMaskKeepsToTheAllowedTokens_AndAllAllowedIsNoMask()
    {
        var logits = RandomLogits(500, 3);
        var allowed = new bool[logits.Length];
        for (int i = 0; i < allowed.Length; i += 7) allowed[i] = true;
        int bestAllowed = Enumerable.Range(0, logits.Length).Where(i => allowed[i]).MaxBy(i => logits[i]);
        Assert.Equal(bestAllowed, new Sampler(SamplingOptions.Greedy, logits.Length).Sample(logits, allowed));

        var hot = new SamplingOptions { Temperature = 1.5f, TopK = 0, TopP = 1f, MinP = 0f, Seed = 9 };
        var masked = new Sampler(hot, logits.Length);
        for (int draw = 0; draw < 200; draw++) Assert.True(allowed[masked.Sample(logits, allowed)]);

        var all = Enumerable.Repeat(true, logits.Length).ToArray();
        var plain = new Sampler(hot with { TopK = 40, TopP = 0.9f, MinP = 0.05f }, logits.Length);
        var withMask = new Sampler(hot with { TopK = 40, TopP = 0.9f, MinP = 0.05f }, logits.Length);
        for (int draw = 0; draw < 50; draw++) Assert.Equal(plain.Sample(logits), withMask.Sample(logits, all));
        Assert.Throws<ArgumentException>(() => plain.Sample(logits, new bool[logits.Length]));
    }
}

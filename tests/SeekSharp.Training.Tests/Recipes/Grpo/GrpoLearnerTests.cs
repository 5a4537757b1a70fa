using SeekSharp.Training.Model;
using SeekSharp.Training.Optim;
using SeekSharp.Training.Recipes.Common;
using SeekSharp.Training.Recipes.Grpo;
using SeekSharp.Training.Tasks;
using SeekSharp.Training.Tokenizers;
using Xunit.Abstractions;

namespace SeekSharp.Training.Tests.Recipes.Grpo;

/// <summary>GRPO end to end on a tiny model: sampling through the inference engine, rewards, update.</summary>
public sealed class GrpoLearnerTests(ITestOutputHelper output)
{
    private static GrpoLearner Learner(TrainConfig config, Func<Problem, string, double>? reward = null, ulong modelSeed = 3)
    {
        var tokenizer = RecipeFixtures.Tokenizer;
        // 128 positions: the longest framed phrasings ("Help me with this: I have … apples and get … more. How many apples
        // do I have now? Think step by step.") take most of 100 prompt tokens under the small test tokenizer.
        var model = RecipeFixtures.Policy(maxBatch: 8, maxSeqLen: 128, seed: modelSeed);
        return new GrpoLearner(CreateTrainer(model, config), tokenizer.CreateTokenizer(), tokenizer.WriteGgufMetadata, TaskRegistry.Create("addition"),
            config, reward: reward);
    }

    // AdamW at the config's rate, constant after a short warmup, no weight decay: the learner stepped on its own, without
    // a TrainingRun and its cosine schedule.
    private static Trainer CreateTrainer(Transformer model, TrainConfig config) =>
        new(model, new AdamWOptions { LearningRate = config.LearningRate, WeightDecay = 0f, MaxGradNorm = 1f },
            new LearningRateSchedule { WarmupSteps = Math.Min(5, config.Steps / 10) }, config.Seed);

    // Toy reward: 1 when the completion contains the digit 7, which a random policy emits now and then.
    private static double HasSeven(Problem problem, string text) => text.Contains('7') ? 1 : 0;

    [Theory]
    [InlineData(false, 0f)]
    [InlineData(true, 0f)]
    [InlineData(false, 0.05f)]
    public void RewardRisesWithAToyReward(bool drGrpo, float beta)
    {
        var config = new TrainConfig
        {
            LearningRate = 1e-2f, Steps = 30, Threads = 1,
            Grpo = new() { GroupSize = 8, PromptsPerStep = 4, MaxCompletionTokens = 8, Temperature = 1f, DrGrpo = drGrpo, KlBeta = beta },
        };
        using var learner = Learner(config, HasSeven);
        var metrics = new List<GrpoStepMetrics>();
        for (int i = 0; i < config.Steps; i++)
        {
            var m = learner.RunStep();
            metrics.Add(m);
            output.WriteLine($"{m.Step} reward {m.RewardMean:F3} ±{m.RewardStd:F3} len {m.MeanResponseLength:F1} kl {m.Kl:F4} loss {m.Loss:F4} sample {m.SampleSeconds:F3}s train {m.TrainSeconds:F3}s");
        }
        double first = metrics.Take(5).Average(m => m.RewardMean), last = metrics.TakeLast(5).Average(m => m.RewardMean);
        Assert.True(last > first + 0.3, $"reward should rise clearly: first 5 steps {first:F3}, last 5 steps {last:F3}");
        Assert.Equal(Enumerable.Range(1, config.Steps).Select(i => (long)i), metrics.Select(m => m.Step));
        Assert.All(metrics, m => Assert.InRange(m.MeanResponseLength, 0, config.Grpo.MaxCompletionTokens));
        if (beta == 0) Assert.All(metrics, m => Assert.Equal(0, m.Kl));
        else
        {
            // The first step samples from the reference itself; the policy then drifts away from it.
            Assert.Equal(0, metrics[0].Kl, 9);
            Assert.True(metrics[^1].Kl > 0.01, $"KL to the reference should grow, got {metrics[^1].Kl}");
        }
    }

    [Fact]
    public void SeveralUpdatesPerBatchMoveTheRatioAndTheClipActs()
    {
        // μ = 2 at a high rate: the second update sees the policy moved by the first, so some ratios leave [1−ε, 1+ε]
        // in the direction their advantage favours and the clip stops them. μ = 1 never clips: there ρ = 1.
        TrainConfig Config(int mu) => new()
        {
            LearningRate = 3e-2f, Steps = 8, Threads = 1,
            Grpo = new() { GroupSize = 8, PromptsPerStep = 4, MaxCompletionTokens = 8, Temperature = 0.8f, Iterations = mu },
        };
        using var once = Learner(Config(1), HasSeven);
        using var twice = Learner(Config(2), HasSeven);
        var m1 = Enumerable.Range(0, 3).Select(_ => once.RunStep()).ToList();
        var m2 = Enumerable.Range(0, 3).Select(_ => twice.RunStep()).ToList();
        foreach (var m in m1.Concat(m2))
            output.WriteLine($"step {m.Step} reward {m.RewardMean:F3} clip {m.ClipFraction:F4} loss {m.Loss:F5}");

        Assert.Equal([1L, 2, 3], m1.Select(m => m.Step));
        Assert.Equal([2L, 4, 6], m2.Select(m => m.Step));     // each sampled batch takes μ optimizer steps
        Assert.All(m1, m => Assert.Equal(0, m.ClipFraction));
        Assert.True(m2.Any(m => m.ClipFraction > 0), "μ = 2 at this rate should clip some tokens");
        Assert.All(m2, m => Assert.InRange(m.ClipFraction, 0, 0.5)); // the first update of a batch never clips
        // Both runs start from the same weights and seeds, so their first batch is the same one.
        Assert.Equal(m1[0].RewardMean, m2[0].RewardMean);
        Assert.Equal(m1[0].MeanResponseLength, m2[0].MeanResponseLength);
    }

    [Fact]
    public void DefaultRewardScoresAnswersAndFormatOfTheTask()
    {
        // An untrained policy neither answers nor closes its reasoning: reward, accuracy and format rate are 0, and
        // with no signal the step leaves the loss at 0.
        var config = new TrainConfig { Threads = 1, Grpo = new() { GroupSize = 4, PromptsPerStep = 2, MaxCompletionTokens = 6 } };
        using var learner = Learner(config);
        var m = learner.RunStep();
        Assert.Equal(1, m.Step);
        Assert.Equal(0, m.RewardMean);
        Assert.Equal(0, m.Accuracy);
        Assert.Equal(0, m.FormatRate);
        Assert.Equal(0, m.Loss);
        Assert.True(m.SampleSeconds > 0 && m.TrainSeconds > 0);
    }

    [Fact]
    public void AGivenReferenceIsTheOneTheKlMeasures()
    {
        // A reference other than the starting policy (as after resuming) shows KL from the first step.
        var config = new TrainConfig { Threads = 1, Grpo = new() { GroupSize = 2, PromptsPerStep = 2, MaxCompletionTokens = 4, KlBeta = 0.1f } };
        var tokenizer = RecipeFixtures.Tokenizer;
        var policy = RecipeFixtures.Policy(maxBatch: 8, maxSeqLen: 128, seed: 3);
        var reference = RecipeFixtures.Policy(maxBatch: 8, maxSeqLen: 128, seed: 4);
        using var learner = new GrpoLearner(CreateTrainer(policy, config), tokenizer.CreateTokenizer(), tokenizer.WriteGgufMetadata,
            TaskRegistry.Create("addition"), config, reference);
        Assert.True(learner.RunStep().Kl > 1e-4);
        var tooSmall = RecipeFixtures.Policy(maxBatch: 8, maxSeqLen: 32);
        Assert.Throws<ArgumentException>(() => new GrpoLearner(CreateTrainer(policy, config), tokenizer.CreateTokenizer(),
            tokenizer.WriteGgufMetadata, TaskRegistry.Create("addition"), config, tooSmall));
    }

    [Fact]
    public void PromptsAreRenderedWithTheR1GenerationPrompt()
    {
        Assert.Equal(R1ChatFormat.Bos + R1ChatFormat.User + "What is 2 + 3?" + R1ChatFormat.Assistant + R1ChatFormat.ThinkOpen + "\n",
            R1Prompt.Render("What is 2 + 3?"));
        var tokenizer = RecipeFixtures.Tokenizer;
        int[] ids = R1Prompt.Encode(tokenizer.CreateTokenizer(), "What is 2 + 3?");
        Assert.Equal(tokenizer.BosId, ids[0]);
        Assert.Equal(1, ids.Count(id => id == tokenizer.BosId));
        Assert.Contains(tokenizer.IdOf(R1ChatFormat.Assistant), ids);
    }
}

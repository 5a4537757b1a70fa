using SeekSharp.Training.Recipes.Grpo;
using SeekSharp.Training.Tasks;

namespace SeekSharp.Training.Recipes.Common;

/// <summary>
/// <c>seek train grpo</c>: GRPO (<see cref="GrpoRecipe"/>) on a policy loaded from <see cref="TrainConfig.InitFrom"/>,
/// driven by the shared run loop (CSV, plot, checkpoints, export). With several tasks each step draws one, with
/// probability proportional to its weight, from the trainer's random generator (so a resumed run draws the same).
/// The run's trainer uses the config's learning rate, warmup, cosine schedule and weight decay; set
/// <c>weightDecay</c> to 0 for RL, where the KL term, not decay, keeps the policy near its start.
/// </summary>
public static class GrpoRun
{
    static readonly string[] Metrics =
        ["reward_mean", "reward_std", "accuracy", "format_rate", "response_length", "kl", "loss", "lr", "sample_s", "train_s"];
    static readonly string[] Headline = ["reward_mean", "accuracy", "format_rate"];

    /// <summary>Runs (or with <paramref name="resume"/> continues) GRPO as <paramref name="config"/> describes.</summary>
    /// <exception cref="ArgumentException">No starting model: GRPO improves an existing policy.</exception>
    public static TrainingResult Run(TrainConfig config, bool resume = false, Action<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        if (config.InitFrom is null && !resume)
            throw new ArgumentException("GRPO needs a starting policy: set \"initFrom\" (a GGUF from seek train sft, or a .ckpt) or pass --init-from.");
        var g = config.Grpo;
        using var run = TrainingRun.Start("grpo", config, resume, config.BatchSize);
        var options = new GrpoOptions
        {
            GroupSize = g.GroupSize, PromptsPerStep = g.PromptsPerStep, MaxCompletionTokens = g.MaxCompletionTokens,
            Temperature = g.Temperature, ClipEpsilon = g.ClipEpsilon, KlBeta = g.KlBeta, DrGrpo = g.DrGrpo,
            Steps = config.Steps, LearningRate = config.LearningRate, MicroBatchSize = config.BatchSize, Seed = config.Seed,
            SamplerThreads = config.Threads,
        };
        var tasks = config.Tasks.Select(t => (Recipe: new GrpoRecipe(run.Trainer, run.Tokenizer.Tokenizer, run.Tokenizer.WriteMetadata,
            TaskRegistry.Create(t.Name), options), t.Weight)).ToArray();
        try
        {
            double total = tasks.Sum(t => t.Weight);
            return run.Loop(Metrics, Headline, () =>
            {
                double u = run.Trainer.Random.NextDouble() * total;
                int k = 0;
                while (k < tasks.Length - 1 && u >= tasks[k].Weight) u -= tasks[k++].Weight;
                float lr = run.Trainer.Schedule.At(run.Trainer.Step, run.Trainer.Options.LearningRate);
                var m = tasks[k].Recipe.RunStep();
                long tokens = (long)Math.Round(m.MeanResponseLength * options.PromptsPerStep * options.GroupSize);
                return ([m.RewardMean, m.RewardStd, m.Accuracy, m.FormatRate, m.MeanResponseLength, m.Kl, m.Loss, lr, m.SampleSeconds, m.TrainSeconds], tokens);
            }, progress, cancel);
        }
        finally
        {
            foreach (var t in tasks) t.Recipe.Dispose();
        }
    }
}

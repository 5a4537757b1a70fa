using SeekSharp.Training.Export;
using SeekSharp.Training.Model;
using SeekSharp.Training.Recipes.Common;
using SeekSharp.Training.Tasks;

namespace SeekSharp.Training.Recipes.Grpo;

/// <summary>
/// <c>seek train grpo</c>: GRPO (<see cref="GrpoSettings"/>) on a policy loaded from <see cref="TrainConfig.InitFrom"/>,
/// driven by the shared run loop (CSV, plot, checkpoints, export). With several tasks each step draws one, with
/// probability proportional to its weight, from the trainer's random generator (so a resumed run draws the same).
/// The run's trainer uses the config's learning rate, warmup, cosine schedule and weight decay; set
/// <c>weightDecay</c> to 0 for RL, where the KL term, not decay, keeps the policy near its start. With
/// <c>grpo.iterations</c> μ &gt; 1 each sampled batch takes μ optimizer steps, so <c>steps</c> must be a multiple of μ.
/// </summary>
/// <remarks>
/// The KL term's reference is the model the run started from, also after <c>--resume</c>: a new run with β &gt; 0
/// exports its starting weights to <c>reference.gguf</c> in the output directory and a resumed run loads them from
/// there (never the resumed policy, which would make the penalty measure drift since the last stop).
/// </remarks>
public static class GrpoRecipe
{
    static readonly string[] Metrics =
        ["reward_mean", "reward_std", "accuracy", "format_rate", "response_length", "kl", "clip_frac", "loss", "lr", "sample_s", "train_s"];
    static readonly string[] Headline = ["reward_mean", "accuracy", "clip_frac"];

    /// <summary>The starting weights of a run with a KL term, in its output directory.</summary>
    public const string ReferenceFile = "reference.gguf";

    /// <summary>Runs (or with <paramref name="resume"/> continues) GRPO as <paramref name="config"/> describes.</summary>
    /// <param name="config">The run; <see cref="TrainConfig.Grpo"/> holds GRPO's settings, <see cref="TrainConfig.Tasks"/> the prompts.</param>
    /// <param name="resume">Continue from the checkpoint in <see cref="TrainConfig.OutputDir"/>.</param>
    /// <param name="progress">Called after every sampled batch.</param>
    /// <param name="cancel">Stops after the current batch, saving a checkpoint.</param>
    /// <exception cref="ArgumentException">No starting model: GRPO improves an existing policy.</exception>
    public static TrainingResult Run(TrainConfig config, bool resume = false, Action<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        if (config.InitFrom is null && !resume)
            throw new ArgumentException("GRPO needs a starting policy: set \"initFrom\" (a GGUF from seek train sft, or a .ckpt) or pass --init-from.");
        var g = config.Grpo;
        using var run = TrainingRun.Start("grpo", config, resume, config.BatchSize);
        var reference = StartingReference(run);
        var tasks = config.Tasks.Select(t => (Learner: new GrpoLearner(run.Trainer, run.Tokenizer.Tokenizer, run.Tokenizer.WriteMetadata,
            TaskRegistry.Create(t.Name), config, reference), t.Weight)).ToArray();
        try
        {
            double total = tasks.Sum(t => t.Weight);
            return run.Loop(Metrics, Headline, () =>
            {
                double u = run.Trainer.Random.NextDouble() * total;
                int k = 0;
                while (k < tasks.Length - 1 && u >= tasks[k].Weight) u -= tasks[k++].Weight;
                float lr = run.Trainer.Schedule.At(run.Trainer.Step, run.Trainer.Options.LearningRate);
                var m = tasks[k].Learner.RunStep();
                long tokens = (long)Math.Round(m.MeanResponseLength * g.PromptsPerStep * g.GroupSize);
                return ([m.RewardMean, m.RewardStd, m.Accuracy, m.FormatRate, m.MeanResponseLength, m.Kl, m.ClipFraction, m.Loss, lr,
                    m.SampleSeconds, m.TrainSeconds], tokens);
            }, progress, cancel);
        }
        finally
        {
            foreach (var t in tasks) t.Learner.Dispose();
        }
    }

    /// <summary>
    /// The frozen reference of the KL term (null when β is 0): the run's starting weights, which a new run saves to
    /// <see cref="ReferenceFile"/> and a resumed run reads back.
    /// </summary>
    /// <exception cref="FileNotFoundException">A resumed run with β &gt; 0 whose output directory has no reference.</exception>
    internal static Transformer? StartingReference(TrainingRun run)
    {
        if (!(run.Config.Grpo.KlBeta > 0)) return null;
        string path = run.PathOf(ReferenceFile);
        if (!run.Resumed)
            GgufExport.Write(run.Model, path, run.Tokenizer.WriteMetadata, "grpo-reference");
        else if (!File.Exists(path))
            throw new FileNotFoundException($"--resume with grpo.klBeta {run.Config.Grpo.KlBeta}: '{path}' (the starting model of the KL term) is missing; " +
                "restart the run without --resume, or set klBeta to 0.", path);
        int microBatch = Math.Min(run.Config.BatchSize, run.Model.MaxBatch);
        var reference = TransformerGguf.Load(path, microBatch, run.Model.MaxSeqLen);
        if (reference.Config != run.Model.Config)
            throw new ArgumentException($"'{path}' holds a model of another shape than the run's policy; it is not this run's starting model.");
        return reference;
    }
}

using SeekSharp.Training.Recipes.Common;

namespace SeekSharp.Cli.Commands;

/// <summary>The GRPO and distillation entry points of <c>seek train</c>.</summary>
internal static class TrainRecipes
{
    public static TrainingResult Grpo(TrainConfig config, bool resume, Action<TrainingProgress> progress, CancellationToken cancel) =>
        GrpoRun.Run(config, resume, progress, cancel);

    public static TrainingResult Distill(TrainConfig config, bool resume, Action<TrainingProgress> progress, CancellationToken cancel) =>
        DistillRun.Run(config, resume, progress, cancel);
}

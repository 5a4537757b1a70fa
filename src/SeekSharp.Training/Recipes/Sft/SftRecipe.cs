using SeekSharp.Training.Data;
using SeekSharp.Training.Recipes.Common;

namespace SeekSharp.Training.Recipes.Sft;

/// <summary>
/// Supervised fine-tuning on R1-format chat examples, one per row, with the loss on the assistant's tokens only
/// (reasoning, <c>&lt;/think&gt;</c>, answer, EOS): the prompt is context, not something to imitate. The examples are
/// the tasks' worked traces, or a JSONL trace file (<see cref="TrainConfig.Traces"/>, e.g. a teacher's for distillation).
/// </summary>
public static class SftRecipe
{
    /// <summary>Runs (or with <paramref name="resume"/> continues) an SFT run described by <paramref name="config"/>.</summary>
    /// <param name="config">The run; usually <see cref="TrainConfig.InitFrom"/> names a pretrained model.</param>
    /// <param name="resume">Continue from the checkpoint in <see cref="TrainConfig.OutputDir"/>.</param>
    /// <param name="progress">Called after every step.</param>
    /// <param name="cancel">Stops after the current step, saving a checkpoint.</param>
    public static TrainingResult Run(TrainConfig config, bool resume = false, Action<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        using var run = TrainingRun.Start("sft", config, resume, config.BatchSize);
        return Run(run, config.Traces, progress, cancel);
    }

    internal static TrainingResult Run(TrainingRun run, string? traces, Action<TrainingProgress>? progress, CancellationToken cancel)
    {
        IExampleSource source = traces is not null
            ? new TraceFileSource(traces)
            : new TaskMixSource([.. run.Config.Tasks.Select(t => (Tasks.TaskRegistry.Create(t.Name), t.Weight))], run.Config.MaxHistoryTurns, run.Config.PromptNoise);
        return NextTokenTraining.Run(run, source, BatchLayout.PaddedCompletionOnly, progress, cancel);
    }
}

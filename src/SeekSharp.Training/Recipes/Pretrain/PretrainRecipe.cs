using SeekSharp.Training.Data;
using SeekSharp.Training.Recipes.Common;

namespace SeekSharp.Training.Recipes.Pretrain;

/// <summary>
/// Pretraining: next-token prediction on every token of chat-formatted task text (prompts, reasoning traces and
/// answers), packed end to end into full rows. The model learns the language of the tasks before SFT teaches it to
/// answer.
/// </summary>
public static class PretrainRecipe
{
    /// <summary>Runs (or with <paramref name="resume"/> continues) a pretraining run described by <paramref name="config"/>.</summary>
    /// <param name="config">The run; <see cref="TrainConfig.Tasks"/> make the data.</param>
    /// <param name="resume">Continue from the checkpoint in <see cref="TrainConfig.OutputDir"/>.</param>
    /// <param name="progress">Called after every step.</param>
    /// <param name="cancel">Stops after the current step, saving a checkpoint.</param>
    public static TrainingResult Run(TrainConfig config, bool resume = false, Action<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        using var run = TrainingRun.Start("pretrain", config, resume, config.BatchSize);
        var source = new TaskMixSource([.. config.Tasks.Select(t => (Tasks.TaskRegistry.Create(t.Name), t.Weight))], config.MaxHistoryTurns, config.PromptNoise);
        return NextTokenTraining.Run(run, source, BatchLayout.PackedAllTokens, progress, cancel);
    }
}

namespace SeekSharp.Training.Recipes.Common;

/// <summary>What a running recipe reports after each optimizer step, for a progress display.</summary>
/// <param name="Recipe">"pretrain", "sft", "grpo", "distill".</param>
/// <param name="Step">Steps completed.</param>
/// <param name="TotalSteps">Steps of the whole run.</param>
/// <param name="Metrics">This step's headline figures (loss, or reward and accuracy), name and value.</param>
/// <param name="TokensPerSecond">Tokens processed per second over the steps of this session.</param>
/// <param name="Elapsed">Wall time of this session so far.</param>
/// <param name="Eta">Estimated wall time to the last step.</param>
public sealed record TrainingProgress(string Recipe, long Step, long TotalSteps, IReadOnlyList<(string Name, double Value)> Metrics,
    double TokensPerSecond, TimeSpan Elapsed, TimeSpan Eta);

/// <summary>Where a finished run put its outputs.</summary>
/// <param name="ModelPath">The exported GGUF, written only when the run <see cref="Finished"/>.</param>
/// <param name="LogPath">CSV log.</param>
/// <param name="PlotPath">PNG of the curves.</param>
/// <param name="CheckpointPath">Last checkpoint (resume with it).</param>
/// <param name="Steps">Steps completed in total.</param>
/// <param name="Elapsed">Wall time of this session.</param>
/// <param name="ParameterCount">Trainable parameters of the model.</param>
public sealed record TrainingResult(string ModelPath, string LogPath, string PlotPath, string CheckpointPath, long Steps,
    TimeSpan Elapsed, long ParameterCount)
{
    /// <summary>True when the run reached its last step and exported <see cref="ModelPath"/>; false when it was stopped
    /// (only the checkpoint, log and plot were written).</summary>
    public bool Finished { get; init; } = true;

    /// <summary>The validation split's verdict, when the run evaluated on it.</summary>
    public ValidationChoice? Validation { get; init; }
}

/// <summary>The best validation score of a run and whether its weights are the exported model.</summary>
/// <param name="Step">Step of the best score.</param>
/// <param name="Score">Mean validation accuracy over the validation tasks at that step.</param>
/// <param name="Exported">True when the exported model holds that step's weights (else the last step's).</param>
/// <param name="LogPath">The validation CSV (one row per evaluation).</param>
public sealed record ValidationChoice(long Step, double Score, bool Exported, string LogPath);

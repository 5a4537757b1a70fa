using SeekSharp.Inference.Sampling;
using SeekSharp.Training.Recipes.Distill;
using SeekSharp.Training.Recipes.Sft;
using SeekSharp.Training.Tasks;

namespace SeekSharp.Training.Recipes.Common;

/// <summary>
/// <c>seek train distill</c>: the teacher (<see cref="DistillSettings.Teacher"/>) answers training problems of every
/// task and its verified-correct traces are written to <c>traces.jsonl</c> in the output directory
/// (<see cref="DistillRecipe.GenerateTraces"/>); then a new student of <see cref="TrainConfig.Model"/>'s shape, with the
/// teacher's tokenizer, is trained on those traces by SFT (loss on the assistant's tokens). A resumed run reuses the
/// traces file.
/// </summary>
public static class DistillRun
{
    /// <summary>File name of the teacher's traces inside the output directory.</summary>
    public const string TracesFile = "traces.jsonl";

    /// <summary>Runs (or with <paramref name="resume"/> continues) a distillation as <paramref name="config"/> describes.</summary>
    /// <exception cref="ArgumentException">No teacher, or the teacher wrote no correct trace.</exception>
    public static TrainingResult Run(TrainConfig config, bool resume = false, Action<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        var d = config.Distill;
        string teacher = d.Teacher ?? throw new ArgumentException("distill needs a teacher model: set \"distill\": {\"teacher\": \"PATH.gguf\"}.");
        if (!File.Exists(teacher)) throw new FileNotFoundException($"Teacher model '{teacher}' does not exist.", teacher);
        Directory.CreateDirectory(config.OutputDir);
        string traces = Path.Combine(config.OutputDir, TracesFile);
        if (!(resume && File.Exists(traces)))
        {
            var sampling = SamplingOptions.Greedy with { Temperature = d.Temperature, TopK = 0, TopP = 1, MinP = 0 };
            string partial = traces + ".part";
            File.Delete(partial);
            int kept = 0;
            foreach (var (task, i) in config.Tasks.Select((t, i) => (t, i)))
            {
                string one = Path.Combine(config.OutputDir, $"traces.{task.Name}.jsonl");
                kept += DistillRecipe.GenerateTraces(teacher, TaskRegistry.Create(task.Name), d.TracesPerTask, (int)(config.Seed % int.MaxValue) + i,
                    one, sampling, d.MaxNewTokens);
                File.AppendAllLines(partial, File.ReadLines(one));
                File.Delete(one);
            }
            if (kept == 0) throw new ArgumentException($"The teacher '{teacher}' answered none of the problems correctly; distillation needs correct traces.");
            File.Move(partial, traces, overwrite: true);
        }
        // The student is new (initFrom is ignored) and speaks the teacher's vocabulary.
        var student = config with { InitFrom = null, Traces = traces };
        using var run = TrainingRun.Start("distill", student, resume, config.BatchSize, RunTokenizer.FromGguf(teacher));
        return SftRecipe.Run(run, traces, progress, cancel);
    }
}

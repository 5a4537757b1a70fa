using System.Globalization;
using SeekSharp.Training.Eval;
using SeekSharp.Training.Export;
using SeekSharp.Training.Tasks;

namespace SeekSharp.Training.Recipes.Common;

/// <summary>
/// A run's evaluations on the validation split (<see cref="ValidationSettings"/>): the current weights are exported,
/// run by the inference engine on the same distinct validation problems each time, and logged to
/// <c>validation.csv</c> (per task accuracy and format rate, then the score: mean accuracy). The best-scoring weights
/// are kept as <c>best.gguf</c> in the output directory, with their step in <c>best.step</c>; a resumed run reads its
/// log back to know the best so far.
/// </summary>
internal sealed class ValidationRun : IDisposable
{
    public const string LogFile = "validation.csv";
    public const string BestFile = "best.gguf";
    public const string BestStepFile = "best.step";
    const string ScoreColumn = "score";

    readonly TrainingRun run;
    readonly IReasoningTask[] tasks;
    readonly RunLog log;

    public ValidationRun(TrainingRun run)
    {
        this.run = run;
        var settings = run.Config.Validation;
        var specs = settings.Tasks.Count > 0 ? settings.Tasks : [.. run.Config.Tasks.Select(t => t.Name)];
        tasks = [.. specs.Select(t => TaskRegistry.Create(t))];
        string[] columns = [.. tasks.SelectMany(t => new[] { TaskRegistry.Label(t) + "_accuracy", TaskRegistry.Label(t) + "_format" }), ScoreColumn];
        LogPath = run.PathOf(LogFile);
        string bestPath = run.PathOf(BestFile);
        string stepPath = run.PathOf(BestStepFile);
        if (run.Resumed && File.Exists(LogPath) && File.Exists(bestPath) && File.Exists(stepPath))
        {
            // The best so far among the evaluations up to the checkpoint (later rows are dropped by RunLog below). Its
            // weights are best.gguf only if that file was written at the same step: a run killed after a new best but
            // before its next checkpoint left a best.gguf of a step the resumed run will reach (and write) again.
            var (names, steps, values) = RunLog.Read(LogPath);
            int score = Array.IndexOf(names, ScoreColumn);
            Scored? found = null;
            for (int i = 0; score >= 0 && i < steps.Length; i++)
                if (steps[i] <= run.Trainer.Step && (found is null || values[score][i] > found.Score))
                    found = new Scored((long)steps[i], values[score][i], bestPath);
            if (found is not null && long.TryParse(File.ReadAllText(stepPath).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long saved)
                && saved == found.Step)
                Best = found;
        }
        log = new RunLog(LogPath, columns, run.Resumed ? run.Trainer.Step : null);
    }

    /// <summary>The validation CSV.</summary>
    public string LogPath { get; }

    /// <summary>The best evaluation so far, with the GGUF of its weights.</summary>
    public Scored? Best { get; private set; }

    /// <summary>Evaluates the current weights, logs the row and keeps them when they beat the best so far.</summary>
    public void Evaluate()
    {
        var settings = run.Config.Validation;
        string path = run.PathOf("validation-current.gguf");
        GgufExport.Write(run.Model, path, run.Tokenizer.WriteMetadata, run.Config.Name);
        var values = new List<double>();
        double sum = 0;
        using (var model = SeekSharp.Models.Model.Load(path))
        {
            foreach (var task in tasks)
            {
                var r = Evaluator.Run(model, task, settings.Problems, settings.Seed, settings.MaxNewTokens, threads: run.Config.Threads,
                    split: ProblemSplit.Validation);
                values.Add(r.Accuracy);
                values.Add(r.FormatRate);
                sum += r.Accuracy;
            }
        }
        double score = sum / tasks.Length;
        values.Add(score);
        log.Write(run.Trainer.Step, [.. values]);
        if (Best is null || score > Best.Score)
        {
            string best = run.PathOf(BestFile);
            File.Move(path, best, overwrite: true);
            SeekSharp.IO.AtomicFile.WriteAllText(run.PathOf(BestStepFile), run.Trainer.Step.ToString(CultureInfo.InvariantCulture));
            Best = new Scored(run.Trainer.Step, score, best);
        }
        else File.Delete(path);
    }

    public void Dispose() => log.Dispose();

    /// <summary>A validation score, its step and the GGUF of that step's weights.</summary>
    public sealed record Scored(long Step, double Score, string Path);
}

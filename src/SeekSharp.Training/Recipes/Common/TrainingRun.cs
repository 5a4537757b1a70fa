using System.Diagnostics;
using SeekSharp.Kernels.Threading;
using SeekSharp.Training.Checkpoints;
using SeekSharp.Training.Export;
using SeekSharp.Training.Model;
using SeekSharp.Training.Optim;

namespace SeekSharp.Training.Recipes.Common;

/// <summary>
/// What every recipe shares: the output directory, the tokenizer, the model and its trainer (new, initialised from a
/// GGUF or checkpoint, or resumed), and the step loop with its CSV log, progress reports, checkpoints, curve plot and
/// final GGUF export. A recipe supplies only its step.
/// </summary>
/// <remarks>
/// Output directory: <c>config.json</c> (the effective config), <c>tokenizer.gguf</c>, <c>checkpoint.ckpt</c>,
/// <c>log.csv</c>, <c>curves.png</c> and the exported model (<see cref="TrainConfig.ModelFile"/>).
/// </remarks>
internal sealed class TrainingRun : IDisposable
{
    public const string CheckpointFile = "checkpoint.ckpt";
    public const string LogFile = "log.csv";
    public const string PlotFile = "curves.png";

    readonly WorkerPool? ownedPool;

    TrainingRun(string recipe, TrainConfig config, Trainer trainer, RunTokenizer tokenizer, bool resumed, WorkerPool? ownedPool)
    {
        Recipe = recipe;
        Config = config;
        Trainer = trainer;
        Tokenizer = tokenizer;
        Resumed = resumed;
        this.ownedPool = ownedPool;
    }

    public string Recipe { get; }
    public TrainConfig Config { get; }
    public Trainer Trainer { get; }
    public Transformer Model => Trainer.Model;
    public RunTokenizer Tokenizer { get; }
    public bool Resumed { get; }
    public string Directory => Config.OutputDir;
    public string PathOf(string file) => Path.Combine(Config.OutputDir, file);

    /// <summary>
    /// Prepares a run: with <paramref name="resume"/> the checkpoint and tokenizer of the output directory; otherwise
    /// the tokenizer (<paramref name="tokenizer"/> when given, else per the config) and the model (from
    /// <see cref="TrainConfig.InitFrom"/> or new of the config's shape).
    /// </summary>
    /// <param name="recipe">Recipe name for logs.</param>
    /// <param name="config">The run's config.</param>
    /// <param name="resume">Continue from the output directory's checkpoint.</param>
    /// <param name="maxBatch">Largest batch the model runs in one forward.</param>
    /// <param name="tokenizer">A tokenizer the recipe imposes (distillation: the teacher's).</param>
    public static TrainingRun Start(string recipe, TrainConfig config, bool resume, int maxBatch, RunTokenizer? tokenizer = null)
    {
        config.Validate();
        System.IO.Directory.CreateDirectory(config.OutputDir);
        string checkpoint = Path.Combine(config.OutputDir, CheckpointFile);
        string tokenizerFile = Path.Combine(config.OutputDir, RunTokenizer.FileName);
        var pool = config.Threads > 0 ? new WorkerPool(config.Threads) : null;
        var adamW = new AdamWOptions
        {
            LearningRate = config.LearningRate, WeightDecay = config.WeightDecay, MaxGradNorm = config.MaxGradNorm, Beta2 = config.Beta2,
        };
        adamW.Validate();
        var schedule = new LearningRateSchedule { WarmupSteps = config.WarmupSteps, TotalSteps = config.Steps, MinRatio = config.MinLrRatio };

        if (resume)
        {
            if (!File.Exists(checkpoint))
                throw new FileNotFoundException($"--resume: no checkpoint at '{checkpoint}'; start the run without --resume first.", checkpoint);
            var shape = Checkpoint.ReadConfig(checkpoint);
            var runTokenizer = RunTokenizer.FromGguf(tokenizerFile);
            var model = new Transformer(shape, maxBatch, Math.Min(config.SeqLen, shape.ContextLength), pool);
            var trainer = new Trainer(model, adamW, schedule, config.Seed);
            Checkpoint.Restore(trainer, checkpoint);
            return new TrainingRun(recipe, config, trainer, runTokenizer, resumed: true, pool);
        }

        Transformer m;
        RunTokenizer tok;
        string? init = config.InitFrom;
        if (init is not null && !init.EndsWith(".ckpt", StringComparison.OrdinalIgnoreCase))
        {
            m = TransformerGguf.Load(init, maxBatch, config.SeqLen, pool);
            tok = tokenizer ?? RunTokenizer.FromGguf(config.Tokenizer.FromGguf ?? init);
        }
        else if (init is not null)
        {
            var shape = Checkpoint.ReadConfig(init);
            m = new Transformer(shape, maxBatch, Math.Min(config.SeqLen, shape.ContextLength), pool);
            // Only the weights carry over: the new run has its own optimizer state, schedule and data stream.
            var loader = new Trainer(m, adamW, schedule, config.Seed);
            Checkpoint.Restore(loader, init);
            string beside = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(init))!, RunTokenizer.FileName);
            tok = tokenizer ?? RunTokenizer.FromGguf(config.Tokenizer.FromGguf ?? beside);
        }
        else
        {
            tok = tokenizer
                ?? (config.Tokenizer.FromGguf is string from
                    ? RunTokenizer.FromGguf(from)
                    : RunTokenizer.Train(config.Tasks.Select(t => t.Name), config.Tokenizer, (int)(config.Seed % int.MaxValue)));
            var shape = config.Model with { VocabSize = tok.Tokenizer.VocabSize };
            m = new Transformer(shape, maxBatch, Math.Min(config.SeqLen, shape.ContextLength), pool);
            m.InitializeWeights(new TrainingRandom(config.Seed), config.InitStd);
        }
        if (m.Config.VocabSize != tok.Tokenizer.VocabSize)
            throw new ArgumentException($"The model has a vocabulary of {m.Config.VocabSize} ids but the tokenizer has {tok.Tokenizer.VocabSize}; use the tokenizer the model was trained with.");
        tok.Save(tokenizerFile);
        SeekSharp.IO.AtomicFile.WriteAllText(Path.Combine(config.OutputDir, "config.json"), config.ToJson());
        var t = new Trainer(m, adamW, schedule, config.Seed);
        return new TrainingRun(recipe, config, t, tok, resumed: false, pool);
    }

    /// <summary>
    /// Runs steps until <see cref="TrainConfig.Steps"/>: each <paramref name="step"/> call performs one or more optimizer
    /// steps (GRPO with μ &gt; 1 takes μ per sampled batch) and returns the values of <paramref name="metrics"/> and the
    /// tokens it processed. Logs every call, checkpoints every <see cref="TrainConfig.CheckpointEvery"/> steps and at
    /// the end, evaluates on the validation split every <see cref="ValidationSettings.Every"/> steps, then exports the
    /// model: the best on validation when <see cref="ValidationSettings.KeepBest"/>, else the last.
    /// </summary>
    /// <remarks>
    /// A cancelled run (Ctrl+C, SIGTERM) finishes its current step, saves a checkpoint and exports nothing: a model file
    /// under the run's final name would pass for a trained model (the next stage's <c>initFrom</c> picks it up), whatever
    /// step it stopped at. <c>--resume</c> continues from the checkpoint to the same result as an uninterrupted run.
    /// Every file is replaced whole (temporary file, then rename), so a killed run leaves each one complete or as it was.
    /// </remarks>
    public TrainingResult Loop(IReadOnlyList<string> metrics, IReadOnlyList<string> headline, Func<(double[] Values, long Tokens)> step,
        Action<TrainingProgress>? progress, CancellationToken cancel)
    {
        string logPath = PathOf(LogFile), plotPath = PathOf(PlotFile), checkpointPath = PathOf(CheckpointFile);
        string title = $"seek train {Recipe}: {Path.GetFileName(Path.GetFullPath(Config.OutputDir))}";
        int[] headlineIndex = [.. headline.Select(h => metrics.ToList().IndexOf(h))];
        Debug.Assert(headlineIndex.All(i => i >= 0));
        using var log = new RunLog(logPath, metrics, Resumed ? Trainer.Step : null);
        using var validation = Config.Validation.Every > 0 ? new ValidationRun(this) : null;
        var clock = Stopwatch.StartNew();
        long tokens = 0, firstStep = Trainer.Step, lastCheckpoint = -1;
        // A step call may advance several optimizer steps, so "every k steps" means "crossed a multiple of k".
        static bool Crossed(long before, long after, int every) => every > 0 && before / every != after / every;
        while (Trainer.Step < Config.Steps && !cancel.IsCancellationRequested)
        {
            long before = Trainer.Step;
            var (values, used) = step();
            tokens += used;
            log.Write(Trainer.Step, values);
            bool last = Trainer.Step >= Config.Steps;
            if (Crossed(before, Trainer.Step, Config.CheckpointEvery) || last)
            {
                Checkpoint.Save(Trainer, checkpointPath);
                lastCheckpoint = Trainer.Step;
                CurvePlot.Write(logPath, plotPath, title, metrics);
            }
            if (validation is not null && (Crossed(before, Trainer.Step, Config.Validation.Every) || last))
                validation.Evaluate();
            if (progress is not null)
            {
                double seconds = clock.Elapsed.TotalSeconds;
                long done = Trainer.Step - firstStep;
                var eta = TimeSpan.FromSeconds(seconds / Math.Max(done, 1) * (Config.Steps - Trainer.Step));
                progress(new TrainingProgress(Recipe, Trainer.Step, Config.Steps, [.. headlineIndex.Select(i => (metrics[i], values[i]))],
                    tokens / Math.Max(seconds, 1e-9), clock.Elapsed, eta));
            }
        }
        string modelPath = PathOf(Config.ModelFile);
        if (Trainer.Step < Config.Steps)
        {
            // Stopped early: the checkpoint (also at step 0, so --resume works at once) and nothing under the model's name.
            if (lastCheckpoint != Trainer.Step || !File.Exists(checkpointPath)) Checkpoint.Save(Trainer, checkpointPath);
            if (Trainer.Step > 0) CurvePlot.Write(logPath, plotPath, title, metrics);
            return new TrainingResult(modelPath, logPath, plotPath, checkpointPath, Trainer.Step, clock.Elapsed, Model.ParameterCount)
            {
                Finished = false,
                Validation = validation?.Best is { } sofar ? new ValidationChoice(sofar.Step, sofar.Score, Exported: false, validation.LogPath) : null,
            };
        }
        if (validation?.Best is { } best && Config.Validation.KeepBest)
        {
            // Copied through AtomicFile like every other output: a run killed mid-copy leaves the earlier model, not half of this one.
            using var source = File.OpenRead(best.Path);
            SeekSharp.IO.AtomicFile.Write(modelPath, source.CopyTo);
        }
        else
            GgufExport.Write(Model, modelPath, Tokenizer.WriteMetadata, Config.Name);
        if (!File.Exists(plotPath)) CurvePlot.Write(logPath, plotPath, title, metrics);
        return new TrainingResult(modelPath, logPath, plotPath, checkpointPath, Trainer.Step, clock.Elapsed, Model.ParameterCount)
        {
            Validation = validation?.Best is { } b ? new ValidationChoice(b.Step, b.Score, Config.Validation.KeepBest, validation.LogPath) : null,
        };
    }

    public void Dispose() => ownedPool?.Dispose();
}

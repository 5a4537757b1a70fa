using System.CommandLine;
using Spectre.Console;
using SeekSharp.Training.Recipes.Common;
using SeekSharp.Training.Recipes.Distill;
using SeekSharp.Training.Recipes.Grpo;
using SeekSharp.Training.Recipes.Pretrain;
using SeekSharp.Training.Recipes.Sft;

namespace SeekSharp.Cli.Commands;

/// <summary>
/// <c>seek train pretrain|sft|grpo|distill --config FILE</c>: runs a training recipe with a live progress display (plain
/// lines when output is redirected), a CSV log, a PNG of the curves, checkpoints (<c>--resume</c>) and a final GGUF.
/// Flags override the config file's values.
/// </summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var command = new Command("train", "Train a model with one of the R1 recipes (pretrain, sft, grpo, distill)");
        command.Subcommands.Add(Recipe("pretrain", "Next-token pretraining on every token of generated task text", PretrainRecipe.Run));
        command.Subcommands.Add(Recipe("sft", "Supervised fine-tuning on R1-format chat examples, loss on the assistant's tokens", SftRecipe.Run));
        command.Subcommands.Add(Recipe("grpo", "Group relative policy optimisation with rule-based rewards (answer, format)", GrpoRecipe.Run));
        command.Subcommands.Add(Recipe("distill", "A teacher model writes reasoning traces; a new student learns them by SFT", DistillRecipe.Run));
        return command;
    }

    delegate TrainingResult RecipeRun(TrainConfig config, bool resume, Action<TrainingProgress> progress, CancellationToken cancel);

    static Command Recipe(string name, string description, RecipeRun run)
    {
        var config = new Option<string>("--config") { Description = "JSON config file (see models/configs/ for examples)", Required = true };
        var resume = new Option<bool>("--resume") { Description = "Continue from the checkpoint in the output directory" };
        var steps = new Option<int?>("--steps") { Description = "Override the config's steps" };
        var output = new Option<string?>("--output", "-o") { Description = "Override the config's output directory" };
        var init = new Option<string?>("--init-from") { Description = "Override the config's starting model (GGUF or .ckpt)" };
        var threads = new Option<int?>("--threads", "-t") { Description = "Override the config's thread count (0: all cores)" };
        var seed = new Option<ulong?>("--seed", "-s") { Description = "Override the config's seed" };
        var iterations = new Option<int?>("--grpo-iterations") { Description = "Override grpo.iterations: μ optimizer steps per sampled batch (steps must be a multiple)" };
        var command = new Command(name, description) { config, resume, steps, output, init, threads, seed };
        if (name == "grpo") command.Options.Add(iterations);
        command.SetAction(r => Common.Guard(() =>
        {
            var c = TrainConfig.Load(r.GetValue(config)!);
            if (r.GetValue(steps) is int s) c = c with { Steps = s };
            if (r.GetValue(output) is string o) c = c with { OutputDir = o };
            if (r.GetValue(init) is string i) c = c with { InitFrom = i };
            if (r.GetValue(threads) is int t) c = c with { Threads = t };
            if (r.GetValue(seed) is ulong sd) c = c with { Seed = sd };
            if (r.GetValue(iterations) is int mu) c = c with { Grpo = c.Grpo with { Iterations = mu } };
            c.Validate();
            return Execute(name, c, r.GetValue(resume), run);
        }));
        return command;
    }

    static int Execute(string name, TrainConfig config, bool resume, RecipeRun run)
    {
        // The first SIGINT (Ctrl+C) or SIGTERM (what systemd and container runtimes send) finishes the step and saves a
        // checkpoint; a second one is left to the runtime, which ends the process. Once a run has finished and
        // exported its model the handlers stay until the process ends: a signal in the last moments would otherwise
        // get the runtime's default and end a finished run with 130 or 143, its new model already in place (the
        // interrupt test caught one, SIGINT at the very end of a run).
        var interrupt = new Common.Interrupt();
        try
        {
            return Execute(name, config, resume, run, interrupt);
        }
        catch
        {
            interrupt.Dispose();
            throw;
        }
    }

    static int Execute(string name, TrainConfig config, bool resume, RecipeRun run, Common.Interrupt interrupt)
    {

        TrainingResult result;
        if (Console.IsOutputRedirected || Console.IsErrorRedirected)
        {
            var last = DateTime.MinValue;
            result = run(config, resume, p =>
            {
                // A line every few seconds (and the last step) keeps redirected logs readable.
                if (p.Step != p.TotalSteps && DateTime.UtcNow - last < TimeSpan.FromSeconds(5)) return;
                last = DateTime.UtcNow;
                Console.Out.WriteLine(Describe(p));
                Console.Out.Flush();
            }, interrupt.Token);
        }
        else
        {
            result = null!;
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask(Markup.Escape($"{name}: starting"), maxValue: config.Steps);
                    result = run(config, resume, p =>
                    {
                        task.Value = p.Step;
                        task.Description = Markup.Escape(Describe(p));
                    }, interrupt.Token);
                });
        }
        bool finished = result.Finished;
        Console.Out.WriteLine(finished
            ? $"seek: {name} finished {result.Steps} steps in {result.Elapsed.TotalMinutes:F1} min ({result.ParameterCount:N0} parameters)"
            : $"seek: {name} stopped by {interrupt.Signal?.ToString() ?? "a signal"} at step {result.Steps} of {config.Steps}; no model was exported; continue with --resume");
        if (result.Validation is { } v)
            Console.Out.WriteLine($"validation  best at step {v.Step}: mean accuracy {v.Score:P1} ({v.LogPath})" +
                (!finished ? "" : v.Exported ? "; the model below holds that step's weights" : "; the model below holds the last step's weights"));
        // Only files this run wrote (a run stopped at step 0 has no plot yet).
        if (finished) Console.Out.WriteLine($"model       {result.ModelPath}");
        Console.Out.WriteLine($"log         {result.LogPath}");
        if (File.Exists(result.PlotPath)) Console.Out.WriteLine($"plot        {result.PlotPath}");
        Console.Out.WriteLine($"checkpoint  {result.CheckpointPath}");
        if (!finished) interrupt.Dispose();
        return finished ? 0 : Common.ExitCode(interrupt.Signal);
    }

    static string Describe(TrainingProgress p)
    {
        string metrics = string.Join("  ", p.Metrics.Select(m => $"{m.Name} {Format(m.Value)}"));
        return $"{p.Recipe} step {p.Step}/{p.TotalSteps}  {metrics}  {p.TokensPerSecond:F0} tok/s  ETA {p.Eta:hh\\:mm\\:ss}";
    }

    static string Format(double v) => Math.Abs(v) is >= 1e-3 and < 1e4 or 0 ? v.ToString("0.0000") : v.ToString("0.00e0");
}

using System.CommandLine;
using System.Diagnostics;
using SeekSharp.Quantization;
using Spectre.Console;

namespace SeekSharp.Cli.Commands;

/// <summary><c>seek quantize IN OUT TYPE</c>: llama-quantize's mixes, written with the same per-tensor types.</summary>
internal static class QuantizeCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("input") { Description = "GGUF model to quantize (F32, F16, BF16 or already quantized)" };
        var output = new Argument<string>("output") { Description = "GGUF file to write" };
        var type = new Argument<string>("type") { Description = $"Mix: {string.Join(", ", QuantizationRecipe.Names.Keys)}" };
        var command = new Command("quantize", "Quantize a GGUF model as llama.cpp's llama-quantize does") { input, output, type };
        command.SetAction(r => Common.Guard(() =>
        {
            var mix = QuantizationRecipe.Parse(r.GetValue(type)!);
            string from = TokenizeCommand.RequireFile(r.GetValue(input)!), to = r.GetValue(output)!;
            var clock = Stopwatch.StartNew();
            var plan = Run(from, to, mix);
            long before = plan.Sum(p => p.Source.ByteSize);
            long after = new FileInfo(to).Length;
            int fallbacks = plan.Count(p => p.FallbackFrom is not null);
            Console.Error.WriteLine($"seek: wrote {to}: {plan.Count} tensors, {before / 1048576.0:F1} MiB of tensor data -> {after / 1048576.0:F1} MiB file " +
                                    $"({string.Join(", ", plan.GroupBy(p => p.Target).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key}"))})" +
                                    $"{(fallbacks > 0 ? $", {fallbacks} fallback" : "")} in {clock.Elapsed.TotalSeconds:F1} s");
            return 0;
        }));
        return command;
    }

    // The bar goes to stderr so stdout stays clean; Spectre draws it only on an interactive terminal.
    private static IReadOnlyList<TensorPlan> Run(string from, string to, LlamaFileType mix)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        IReadOnlyList<TensorPlan>? plan = null;
        console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask($"quantize {mix}");
                plan = GgufQuantizer.Quantize(from, to, mix, new Progress(task));
                task.Value = task.MaxValue;
            });
        return plan!;
    }

    // Synchronous IProgress: System.Progress<T> would post reports to the thread pool, out of order.
    private sealed class Progress(ProgressTask task) : IProgress<QuantizeProgress>
    {
        public void Report(QuantizeProgress p)
        {
            task.MaxValue = p.Count;
            task.Value = p.Index;
            task.Description = Markup.Escape($"{p.Tensor.Source.Name} {p.Tensor.Source.Type} -> {p.Tensor.Target}");
        }
    }
}

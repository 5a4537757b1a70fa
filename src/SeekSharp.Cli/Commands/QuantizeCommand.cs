using System.CommandLine;
using System.Diagnostics;
using SeekSharp.Quantization;
using Spectre.Console;

namespace SeekSharp.Cli.Commands;

/// <summary><c>seek quantize IN OUT TYPE [--imatrix FILE]</c>: llama-quantize's mixes, written with the same per-tensor types.</summary>
/// <remarks>
/// OUT is written all or nothing (<see cref="SeekSharp.IO.AtomicFile"/>): a temporary <c>.OUT.tmp-*</c> file in OUT's
/// folder, flushed, then renamed over OUT. SIGINT (Ctrl+C) and SIGTERM stop the work, delete the temporary file and exit
/// with 130 / 143 and one line on stderr, leaving an existing OUT as it was; a second signal terminates at once. A signal
/// that arrives after the rename changes nothing: OUT is complete and the command exits 0. SIGKILL cannot be handled:
/// the temporary file may stay behind, but OUT is still either the previous file (or absent) or the complete new one.
/// </remarks>
internal static class QuantizeCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("input") { Description = "GGUF model to quantize (F32, F16, BF16 or already quantized): a path, or a pulled model's name (seek list)" };
        var output = new Argument<string>("output") { Description = "GGUF file to write" };
        var type = new Argument<string>("type") { Description = $"Mix: {string.Join(", ", QuantizationRecipe.Names.Keys)}" };
        var imatrix = new Option<string?>("--imatrix") { Description = "Importance matrix (from seek imatrix or llama-imatrix; GGUF or .dat) whose per-column weights guide the quantizers, as llama-quantize's --imatrix" };
        var modelsDir = Common.ModelsDirOption();
        var command = new Command("quantize", "Quantize a GGUF model as llama.cpp's llama-quantize does") { input, output, type, imatrix, modelsDir };
        command.SetAction(r => Common.Guard(() =>
        {
            var mix = QuantizationRecipe.Parse(r.GetValue(type)!);
            string from = Common.RequireFile(DefaultModel.Locate(r.GetValue(input)!, r.GetValue(modelsDir))), to = r.GetValue(output)!;
            var importance = r.GetValue(imatrix) is { } imatrixPath ? ImportanceMatrix.Read(Common.RequireFile(imatrixPath)) : null;
            var clock = Stopwatch.StartNew();
            using var interrupt = new Common.Interrupt();
            IReadOnlyList<TensorPlan> plan;
            try
            {
                plan = Run(from, to, mix, importance, interrupt.Token);
            }
            catch (OperationCanceledException) when (interrupt.Signal is { } signal)
            {
                Console.Error.WriteLine($"seek: quantize interrupted by {signal}; {to} was not written");
                return Common.ExitCode(signal);
            }
            long before = plan.Sum(p => p.Source.ByteSize);
            long after = new FileInfo(to).Length;
            int fallbacks = plan.Count(p => p.FallbackFrom is not null);
            Console.Error.WriteLine($"seek: wrote {to}: {plan.Count} tensors, {before / 1048576.0:F1} MiB of tensor data -> {after / 1048576.0:F1} MiB file " +
                                    $"({string.Join(", ", plan.GroupBy(p => p.Target).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key}"))})" +
                                    $"{(fallbacks > 0 ? $", {fallbacks} fallback" : "")}" +
                                    $"{(importance is null ? "" : $", {plan.Count(p => p.Target != p.Source.Type && importance.Entries.ContainsKey(p.Source.Name))} with importance weights")}" +
                                    $" in {clock.Elapsed.TotalSeconds:F1} s");
            return 0;
        }));
        return command;
    }

    // The bar goes to stderr so stdout stays clean; Spectre draws it only on an interactive terminal.
    private static IReadOnlyList<TensorPlan> Run(string from, string to, LlamaFileType mix, ImportanceMatrix? importance, CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        IReadOnlyList<TensorPlan>? plan = null;
        console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask($"quantize {mix}");
                plan = GgufQuantizer.Quantize(from, to, mix, new Progress(task), cancellationToken, importance);
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

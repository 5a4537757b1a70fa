using System.CommandLine;
using System.Diagnostics;
using SeekSharp.Models;
using SeekSharp.Quantization;
using Spectre.Console;

namespace SeekSharp.Cli.Commands;

/// <summary><c>seek imatrix -m MODEL -f TEXT [-o imatrix.gguf] [--chunks N]</c>: llama-imatrix's importance matrix.</summary>
internal static class ImatrixCommand
{
    public static Command Create()
    {
        var file = new Option<string>("--file", "-f") { Description = "Calibration text (UTF-8)", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "File to write: GGUF, or llama.cpp's legacy format if it ends with .dat", DefaultValueFactory = _ => "imatrix.gguf" };
        var chunks = new Option<int>("--chunks") { Description = "Evaluate at most N chunks (default: all)", DefaultValueFactory = _ => -1 };
        var ctx = Common.ContextOption("Tokens per chunk", 512);
        var batch = new Option<int>("--batch", "-b") { Description = "Tokens per forward pass (at least 16: smaller batches are not collected, as in llama-imatrix)", DefaultValueFactory = _ => 512 };
        var command = new Command("imatrix", "Compute an importance matrix over a text, as llama.cpp's llama-imatrix does, for seek quantize --imatrix") { file, output, chunks, ctx, batch };
        var model = DefaultModel.AddTo(command);
        command.SetAction(r => Common.Guard(() =>
        {
            int n = r.GetValue(ctx), b = r.GetValue(batch), maxChunks = r.GetValue(chunks);
            if (n < 2) throw new ArgumentException($"--ctx must be at least 2, got {n}");
            if (b < 16) throw new ArgumentException($"--batch must be at least 16, got {b}: llama-imatrix ignores matrix products over fewer tokens");
            if (maxChunks == 0 || maxChunks < -1) throw new ArgumentException($"--chunks must be a positive number of chunks, got {maxChunks}");
            string textPath = r.GetValue(file)!, to = r.GetValue(output)!;
            string text = Common.ReadUtf8File(textPath);
            using var m = Model.Load(DefaultModel.Resolve(r, model));
            int[] tokens = m.Tokenizer.Encode(text, addSpecial: true, parseSpecial: false);
            if (tokens.Length < 2 * n)
                throw new ArgumentException($"'{textPath}' has {tokens.Length} tokens but an importance matrix needs at least 2 × ctx = {2 * n} (as llama-imatrix); use a longer text or a smaller --ctx");
            Common.CheckContext(m, n);
            int planned = Math.Min(tokens.Length / n, maxChunks < 0 ? int.MaxValue : maxChunks);
            var clock = Stopwatch.StartNew();
            var (matrix, ppl) = Run(m, tokens, n, textPath, planned, b);
            matrix.Write(to);
            Console.Error.WriteLine($"seek: wrote {to}: {matrix.Entries.Count} weights from {ppl.Chunks} chunks of {n} tokens; " +
                                    $"perplexity {ppl.Value:F4} in {clock.Elapsed.TotalSeconds:F1} s");
            return 0;
        }));
        return command;
    }

    // The bar goes to stderr so stdout stays clean; Spectre draws it only on an interactive terminal.
    private static (ImportanceMatrix, Inference.PerplexityResult) Run(Model m, int[] tokens, int n, string dataset, int chunks, int batch)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        (ImportanceMatrix, Inference.PerplexityResult) result = default;
        console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(progressContext =>
            {
                var task = progressContext.AddTask($"imatrix: {chunks} chunks of {n} tokens", maxValue: chunks);
                result = ImportanceCollector.Collect(m, tokens, n, dataset, chunks, batch, new Progress(task));
                task.Value = task.MaxValue;
            });
        return result;
    }

    // Synchronous IProgress: System.Progress<T> would post reports to the thread pool, out of order.
    private sealed class Progress(ProgressTask task) : IProgress<int>
    {
        public void Report(int done) => task.Value = done;
    }
}

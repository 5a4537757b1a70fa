using System.CommandLine;
using SeekSharp.Store;
using Spectre.Console;

namespace SeekSharp.Cli.Commands;

/// <summary><c>seek pull NAME</c>: downloads a model into the store, as <c>ollama pull</c> does.</summary>
internal static class PullCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("name")
        {
            Description = $"The model: an alias ({string.Join(", ", ModelAliases.BuiltIn.All.Keys.Order())}), hf://OWNER/REPO/FILE.gguf, " +
                          "hf://OWNER/REPO (a safetensors folder), ollama://[NAMESPACE/]NAME[:TAG] or an https:// URL of a GGUF file",
        };
        var modelsDir = Common.ModelsDirOption();
        var command = new Command("pull", "Download a model into the model store (resumable; verified by SHA-256 where the source publishes it). " +
                                          "HF_TOKEN is sent to the Hugging Face Hub; HF_ENDPOINT and SEEK_OLLAMA_REGISTRY change the servers")
        {
            name, modelsDir,
        };
        command.SetAction(r => Common.Guard(() =>
        {
            var model = ModelName.Parse(r.GetValue(name)!);
            var store = Common.OpenStore(r, modelsDir);
            using var interrupt = new Common.Interrupt();
            StoredModel pulled;
            try
            {
                pulled = Pull(store, model, interrupt.Token);
            }
            catch (OperationCanceledException) when (interrupt.Signal is { } signal)
            {
                Console.Error.WriteLine($"seek: pull interrupted by {signal}; the partial download is kept: run seek pull {model.Canonical} again to resume");
                return Common.ExitCode(signal);
            }
            Console.Error.WriteLine($"seek: pulled {pulled.Manifest.Name} ({Common.FormatSize(pulled.Manifest.Size)}, " +
                                    $"{pulled.Manifest.Files.Count} file{(pulled.Manifest.Files.Count == 1 ? "" : "s")}" +
                                    $"{(pulled.Manifest.Files.All(f => f.Verified) ? ", SHA-256 verified" : pulled.Manifest.Files.Any(f => f.Verified) ? ", SHA-256 verified where published" : ", no SHA-256 published to verify")}) " +
                                    $"into {pulled.Folder}");
            return 0;
        }));
        return command;
    }

    // The bars go to stderr so stdout stays clean; Spectre draws them only on an interactive terminal.
    private static StoredModel Pull(ModelStore store, ModelName model, CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        using var puller = new ModelPuller(store);
        StoredModel? pulled = null;
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn())
            .StartAsync(async ctx => pulled = await puller.PullAsync(model, new Bars(ctx), cancellationToken))
            .GetAwaiter().GetResult();
        return pulled!;
    }

    /// <summary>One bar per file, labelled with the rate and time left that the downloader measures.</summary>
    private sealed class Bars(ProgressContext context) : IProgress<DownloadProgress>
    {
        private readonly Dictionary<string, ProgressTask> _tasks = [];

        public void Report(DownloadProgress p)
        {
            ProgressTask task;
            lock (_tasks)
                if (!_tasks.TryGetValue(p.File, out task!))
                    _tasks[p.File] = task = context.AddTask(Markup.Escape(p.File), maxValue: Math.Max(1, p.Total ?? 1));
            if (p.Total is { } total) task.MaxValue = Math.Max(1, total);
            task.Value = p.Bytes;
            string eta = p.Eta is { } e ? $", {(e.TotalHours >= 1 ? e.ToString(@"h\:mm\:ss") : e.ToString(@"m\:ss"))} left" : "";
            task.Description = Markup.Escape($"{p.File} {Common.FormatSize((long)p.BytesPerSecond)}/s{eta}");
        }
    }
}

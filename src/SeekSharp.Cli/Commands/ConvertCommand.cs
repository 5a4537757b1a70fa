using System.CommandLine;
using System.Diagnostics;
using SeekSharp.Gguf;
using SeekSharp.HuggingFace;
using SeekSharp.Quantization;
using Spectre.Console;

namespace SeekSharp.Cli.Commands;

/// <summary>
/// <c>seek convert HF_FOLDER OUT.gguf [--type f32|f16|bf16|auto|q8_0|q4_k_m|…]</c>: a Hugging Face model folder to the
/// GGUF llama.cpp's convert_hf_to_gguf.py writes (float types), or straight to one of llama-quantize's mixes.
/// </summary>
/// <remarks>
/// OUT is written all or nothing (a temporary <c>.OUT.tmp-*</c> file renamed when complete); SIGINT and SIGTERM stop the
/// work, delete the temporary file and exit 130 / 143, as <c>seek quantize</c> does.
/// </remarks>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("folder") { Description = "Hugging Face model folder (config.json, tokenizer.json, *.safetensors)" };
        var output = new Argument<string>("output") { Description = "GGUF file to write" };
        var type = new Option<string>("--type", "-t")
        {
            Description = $"auto (as convert_hf_to_gguf: BF16 or F16 from the weights), f32, f16, bf16, or a quantization mix: {string.Join(", ", QuantizationRecipe.Names.Keys)}",
            DefaultValueFactory = _ => "auto",
        };
        var command = new Command("convert", "Convert a Hugging Face model folder to GGUF as llama.cpp's converter does") { input, output, type };
        command.SetAction(r => Common.Guard(() =>
        {
            string folder = r.GetValue(input)!, to = r.GetValue(output)!;
            if (!HuggingFaceFolder.IsModelFolder(folder))
                throw new ArgumentException(Directory.Exists(folder) ? $"'{folder}' has no config.json; a Hugging Face model folder is expected"
                    : $"folder '{folder}' does not exist");
            var (weightType, mix) = ParseType(r.GetValue(type)!);
            var clock = Stopwatch.StartNew();
            using var interrupt = new Common.Interrupt();
            try
            {
                Run(folder, to, weightType, mix, interrupt.Token);
            }
            catch (OperationCanceledException) when (interrupt.Signal is { } signal)
            {
                Console.Error.WriteLine($"seek: convert interrupted by {signal}; {to} was not written");
                return Common.ExitCode(signal);
            }
            using var written = GgufFile.Open(to);
            Console.Error.WriteLine($"seek: wrote {to}: {written.GetString("general.architecture")}, {written.Tensors.Count} tensors " +
                                    $"({string.Join(", ", written.Tensors.GroupBy(t => t.Type).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key}"))}), " +
                                    $"{new FileInfo(to).Length / 1048576.0:F1} MiB in {clock.Elapsed.TotalSeconds:F1} s");
            return 0;
        }));
        return command;
    }

    /// <summary>A float type for the converter's own output, or a llama-quantize mix.</summary>
    internal static (HfWeightType Type, LlamaFileType? Mix) ParseType(string text) => text.ToLowerInvariant() switch
    {
        "auto" => (HfWeightType.Auto, null),
        "f32" => (HfWeightType.F32, null),
        "f16" => (HfWeightType.F16, null),
        "bf16" => (HfWeightType.BF16, null),
        _ when QuantizationRecipe.Names.TryGetValue(text, out var mix) => (HfWeightType.Source, mix),
        _ => throw new ArgumentException($"unknown --type '{text}'; expected auto, f32, f16, bf16 or a quantization type ({string.Join(", ", QuantizationRecipe.Names.Keys)})"),
    };

    // The bar goes to stderr so stdout stays clean; Spectre draws it only on an interactive terminal.
    private static void Run(string folder, string to, HfWeightType type, LlamaFileType? mix, CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(mix is { } m ? $"convert {m}" : $"convert {type}");
                HuggingFaceFolder.Convert(folder, to, type, mix, new Progress(task), cancellationToken);
                task.Value = task.MaxValue;
            });
    }

    // Synchronous IProgress: System.Progress<T> would post reports to the thread pool, out of order.
    private sealed class Progress(ProgressTask task) : IProgress<ConvertProgress>
    {
        public void Report(ConvertProgress p)
        {
            task.MaxValue = p.Count;
            task.Value = p.Index;
            task.Description = Markup.Escape(p.Name);
        }
    }
}

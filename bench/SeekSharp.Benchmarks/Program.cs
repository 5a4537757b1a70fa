using System.Text.RegularExpressions;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using SeekSharp.Benchmarks;

// Usage: dotnet run -c Release --project bench/SeekSharp.Benchmarks -- [--quick] [BenchmarkDotNet args, e.g. --filter '*']
//        dotnet run -c Release --project bench/SeekSharp.Benchmarks -- --peak
//        dotnet run -c Release --project bench/SeekSharp.Benchmarks -- --train [--steps N]
//        dotnet run -c Release --project bench/SeekSharp.Benchmarks -- --int8-peak [--model FILE.gguf]
// The default job is sized so the whole suite finishes in a few minutes on a 2-core machine; --quick trades
// precision for about half that time. The GitHub-markdown reports (one per class) are copied to bench/results/<cpu>/.
// --peak measures the machine's peak FP32 FLOP/s with an FMA loop (the denominator of the GEMM figures and of model
// FLOPs utilisation) on 1 thread and on every processor, and writes it beside the reports.
if (args.Contains("--peak"))
{
    string peakFile = Path.Combine(RepoPaths.Root, "bench", "results", MachineName(), "peak-flops.md");
    Directory.CreateDirectory(Path.GetDirectoryName(peakFile)!);
    var duration = TimeSpan.FromSeconds(1);
    // Best of three: the FMA loop cannot run faster than the hardware, only slower when other processes take a core.
    var one = Enumerable.Range(0, 3).Select(_ => SeekSharp.Kernels.Gemm.MeasurePeak(1, duration)).Max(r => r.PerCoreSum);
    var runs = Enumerable.Range(0, 3).Select(_ => SeekSharp.Kernels.Gemm.MeasurePeak(Environment.ProcessorCount, duration)).ToList();
    double all = runs.Max(r => r.PerCoreSum), together = runs.Max(r => r.Concurrent);
    string text = $"""
        # Peak FP32 FLOP/s (`--peak`: `Gemm.MeasurePeakFlops`, FMA loop, best of 3 × 1 s)

        | Threads | GFLOP/s (sum of each thread's fastest 2 ms) | GFLOP/s (fastest 2 ms of all threads at once) |
        |---:|---:|---:|
        | 1 | {one / 1e9:F1} | |
        | {Environment.ProcessorCount} | {all / 1e9:F1} | {together / 1e9:F1} |

        The first column is the peak `Gemm.MeasurePeakFlops` returns (cores × one core's rate). The second reaches it
        only if the threads ran at full rate at the same time; below it, the cores were shared (other processes, SMT
        siblings, or virtual CPUs on one physical core) for the whole run.

        Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load average before the run: {LoadAverage()}.

        """;
    File.WriteAllText(peakFile, text);
    Console.Write(text);
    Console.WriteLine($"Report: {peakFile}");
    return;
}

if (args.Contains("--int8-peak"))
{
    // The integer multiply-add rate of the K-quant dots, and with --model the floor it puts under a batched decode step.
    int at = Array.IndexOf(args, "--model");
    string? model = at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    string text = Int8Peak.Run(model);
    string file = Path.Combine(RepoPaths.Root, "bench", "results", MachineName(), "int8-peak.md");
    Directory.CreateDirectory(Path.GetDirectoryName(file)!);
    File.WriteAllText(file, text);
    Console.Write(text);
    Console.WriteLine($"Report: {file}");
    return;
}

if (args.Contains("--train"))
{
    // Training throughput and MFU of the bundled model's configuration; --steps N times N optimizer steps.
    int at = Array.IndexOf(args, "--steps");
    int steps = at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], System.Globalization.CultureInfo.InvariantCulture) : 10;
    // The folder names the SIMD tier as well as the CPU: machines that report the same model name (AVX2-only and
    // AVX-512 EPYCs alike say "AMD EPYC") have different peaks, and an MFU figure means nothing without its peak.
    var machine = TrainingMachine.Current();
    string report = SeekSharp.Benchmarks.TrainingThroughput.Run(Path.Combine(RepoPaths.Root, "models", "configs", "pretrain.json"),
        Path.Combine(RepoPaths.Root, "models", "seeksharp-r1-tiny.gguf"), steps, machine);
    string file = Path.Combine(RepoPaths.Root, "bench", "results", machine.Slug, "training-throughput.md");
    Directory.CreateDirectory(Path.GetDirectoryName(file)!);
    File.WriteAllText(file, report);
    Console.Write(report);
    Console.WriteLine($"Report: {file}");
    return;
}

bool quick = args.Contains("--quick");
string[] bdnArgs = [.. args.Where(a => a != "--quick")];

var job = (quick
        ? Job.Default.WithWarmupCount(1).WithIterationCount(3)
        : Job.Default.WithWarmupCount(3).WithIterationCount(9))
    .WithLaunchCount(1)
    .WithId(quick ? "Quick" : "Short");

string artifacts = Path.Combine(RepoPaths.Root, "bench", "BenchmarkDotNet.Artifacts");
var config = DefaultConfig.Instance
    .AddJob(job.AsDefault())
    .AddColumn(StatisticColumn.Median, new ThroughputColumn())
    .AddDiagnoser(MemoryDiagnoser.Default)
    .WithArtifactsPath(artifacts)
    .WithOptions(ConfigOptions.DisableLogFile);

var started = DateTime.UtcNow;
var summaries = BenchmarkSwitcher.FromAssembly(typeof(RepoPaths).Assembly).Run(bdnArgs, config);

string results = Path.Combine(RepoPaths.Root, "bench", "results", MachineName());
Directory.CreateDirectory(results);
foreach (var summary in summaries)
{
    // The artifacts folder keeps reports of earlier runs; only this run's are results.
    foreach (var report in Directory.GetFiles(summary.ResultsDirectoryPath, "*-report-github.md")
        .Where(f => File.GetLastWriteTimeUtc(f) >= started))
    {
        string target = Path.Combine(results, Path.GetFileName(report));
        File.Copy(report, target, overwrite: true);
        Console.WriteLine($"Report: {target}");
    }
}

static string LoadAverage() =>
    File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

// "AMD EPYC" with 2 CPUs -> "amd-epyc-2cpu": one results folder per machine kind.
static string MachineName()
{
    string model = "unknown-cpu";
    if (File.Exists("/proc/cpuinfo"))
    {
        var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
        if (line is not null)
        {
            model = line[(line.IndexOf(':') + 1)..];
        }
    }
    string slug = Regex.Replace(model.ToLowerInvariant(), "[^a-z0-9]+", "-").Trim('-');
    return $"{slug}-{Environment.ProcessorCount}cpu";
}

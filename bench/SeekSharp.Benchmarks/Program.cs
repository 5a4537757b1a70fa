using System.Text.RegularExpressions;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using SeekSharp.Benchmarks;

// Usage: dotnet run -c Release --project bench/SeekSharp.Benchmarks -- [--quick] [BenchmarkDotNet args, e.g. --filter '*']
// The default job is sized so the whole suite finishes in a few minutes on a 2-core machine; --quick trades
// precision for about half that time. The GitHub-markdown reports (one per class) are copied to bench/results/<cpu>/.
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

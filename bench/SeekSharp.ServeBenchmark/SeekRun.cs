using SeekSharp.Models;
using SeekSharp.Serving;

namespace SeekSharp.ServeBenchmark;

/// <summary>SeekSharp in process: one <see cref="Scheduler"/> with <c>Parallel</c> = the concurrency, driven by the same client loop as HTTP.</summary>
internal static class SeekRun
{
    public static (RunResult Warmup, RunResult Measured) Run(string modelPath, IReadOnlyList<BenchRequest> warmup, IReadOnlyList<BenchRequest> requests,
                                                             int concurrency, int threads, int batchSize)
    {
        using var model = Model.Load(modelPath);
        int perSequence = requests.Concat(warmup).Max(r => r.Prompt.Length + r.OutputTokens) + 1;
        using var scheduler = new Scheduler(model, Options(concurrency, perSequence, threads, batchSize));
        var client = new SchedulerClient(scheduler);
        var warm = LoadDriver.RunAsync("SeekSharp", warmup, concurrency, client.SendAsync).GetAwaiter().GetResult();
        var cpu = Environment.CpuUsage.TotalTime;
        var measured = LoadDriver.RunAsync("SeekSharp", requests, concurrency, client.SendAsync).GetAwaiter().GetResult();
        return (warm, measured with { CpuSeconds = (Environment.CpuUsage.TotalTime - cpu).TotalSeconds });
    }

    /// <summary>The scheduler's defaults but the slots, the context (the longest request, in whole KV pages) and the threads; batchSize 0 keeps its default.</summary>
    public static SchedulerOptions Options(int parallel, int positions, int threads, int batchSize)
    {
        var options = new SchedulerOptions { Parallel = parallel, Threads = threads };
        options = options with { ContextLength = (positions + options.PageSize - 1) / options.PageSize * options.PageSize };
        return batchSize > 0 ? options with { BatchSize = batchSize } : options;
    }
}

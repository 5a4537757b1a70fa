using System.Text.Json.Serialization;

namespace SeekSharp.ServeBenchmark;

/// <summary>Every request's outcome of one run at one concurrency, and the run's duration (first send to last answer).</summary>
internal sealed record RunResult(
    [property: JsonPropertyName("engine")] string Engine,
    [property: JsonPropertyName("max_concurrency")] int MaxConcurrency,
    [property: JsonPropertyName("duration_s")] double DurationSeconds,
    [property: JsonPropertyName("outcomes")] IReadOnlyList<RequestOutcome> Outcomes)
{
    /// <summary>CPU time (user + system) the engine's process used during the run, in process mode: divided by the
    /// duration, how many processors it got on a machine shared with other jobs.</summary>
    [JsonPropertyName("cpu_s")] public double? CpuSeconds { get; init; }
}

/// <summary>Mean, median and 99th percentile of a latency, in milliseconds.</summary>
internal sealed record LatencyStats(
    [property: JsonPropertyName("mean_ms")] double Mean,
    [property: JsonPropertyName("p50_ms")] double P50,
    [property: JsonPropertyName("p99_ms")] double P99)
{
    public static LatencyStats Of(IEnumerable<double> seconds)
    {
        var v = seconds.Select(s => s * 1000).Order().ToArray();
        return v.Length == 0 ? new(double.NaN, double.NaN, double.NaN) : new(v.Average(), Percentile(v, 50), Percentile(v, 99));
    }

    // Linear interpolation between closest ranks, as numpy.percentile (what vLLM uses).
    public static double Percentile(double[] sorted, double p)
    {
        double rank = p / 100 * (sorted.Length - 1);
        int lo = (int)Math.Floor(rank), hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }
}

/// <summary>
/// A run's aggregates, as vLLM's <c>calculate_metrics</c> defines them: throughputs over the run's duration; TPOT per
/// request = (E2EL − TTFT) / (output tokens − 1) for requests with more than one token; ITL pooled over all requests.
/// </summary>
internal sealed record ServeMetrics(
    [property: JsonPropertyName("completed")] int Completed,
    [property: JsonPropertyName("failed")] int Failed,
    [property: JsonPropertyName("duration_s")] double DurationSeconds,
    [property: JsonPropertyName("total_input_tokens")] long InputTokens,
    [property: JsonPropertyName("total_output_tokens")] long OutputTokens,
    [property: JsonPropertyName("request_throughput")] double RequestThroughput,
    [property: JsonPropertyName("output_throughput")] double OutputThroughput,
    [property: JsonPropertyName("total_token_throughput")] double TotalTokenThroughput,
    [property: JsonPropertyName("ttft")] LatencyStats Ttft,
    [property: JsonPropertyName("tpot")] LatencyStats Tpot,
    [property: JsonPropertyName("itl")] LatencyStats Itl,
    [property: JsonPropertyName("e2el")] LatencyStats E2el)
{
    public static ServeMetrics Of(RunResult run)
    {
        var ok = run.Outcomes.Where(o => o.Success).ToList();
        long input = ok.Sum(o => (long)o.PromptTokens), output = ok.Sum(o => (long)o.OutputTokens);
        double d = run.DurationSeconds;
        return new ServeMetrics(ok.Count, run.Outcomes.Count - ok.Count, d, input, output, ok.Count / d, output / d, (input + output) / d,
            LatencyStats.Of(ok.Select(o => o.TimeToFirstToken)),
            LatencyStats.Of(ok.Where(o => o.OutputTokens > 1).Select(o => (o.EndToEndLatency - o.TimeToFirstToken) / (o.OutputTokens - 1))),
            LatencyStats.Of(ok.SelectMany(o => o.InterTokenLatencies)),
            LatencyStats.Of(ok.Select(o => o.EndToEndLatency)));
    }
}

using System.Globalization;
using System.Text;
using SeekSharp.Serving;

namespace SeekSharp.Server.Metrics;

/// <summary>
/// /metrics in Prometheus' text format under vLLM's names (docs/design/metrics.md: the <c>vllm:</c> prefix and a
/// <c>model_name</c> label), so that dashboards and <c>vllm bench</c> made for vLLM read SeekSharp unchanged. Gauges and
/// token counters come from the scheduler's own counts (<see cref="SchedulerStats"/>); latency histograms are observed
/// here, per request, from the events the endpoints read.
/// </summary>
internal sealed class ServerMetrics
{
    // vLLM's bucket bounds (seconds), so that the same dashboards' quantiles mean the same thing.
    static readonly double[] TtftBounds = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0];
    static readonly double[] TokenBounds = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0];
    static readonly double[] RequestBounds = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0];

    public Histogram TimeToFirstToken { get; } = new("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", TtftBounds);
    public Histogram TimePerOutputToken { get; } = new("vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds (per request: (e2e - ttft) / (tokens - 1)).", TokenBounds);
    public Histogram InterTokenLatency { get; } = new("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", TokenBounds);
    public Histogram EndToEnd { get; } = new("vllm:e2e_request_latency_seconds", "Histogram of end to end request latency in seconds.", RequestBounds);
    public Histogram QueueTime { get; } = new("vllm:request_queue_time_seconds", "Histogram of time spent waiting in the queue in seconds.", RequestBounds);

    /// <summary>Records one finished generation. <paramref name="tokenTimes"/> are the arrival times (seconds since
    /// submission) of its token events.</summary>
    public void Record(IReadOnlyList<double> tokenTimes, double endToEnd, GenerationTimings? timings)
    {
        EndToEnd.Observe(endToEnd);
        if (timings is not null) QueueTime.Observe(timings.Queued.TotalSeconds);
        if (tokenTimes.Count == 0) return;
        TimeToFirstToken.Observe(timings?.TimeToFirstToken.TotalSeconds ?? tokenTimes[0]);
        for (int i = 1; i < tokenTimes.Count; i++) InterTokenLatency.Observe(tokenTimes[i] - tokenTimes[i - 1]);
        if (tokenTimes.Count > 1) TimePerOutputToken.Observe((tokenTimes[^1] - tokenTimes[0]) / (tokenTimes.Count - 1));
    }

    /// <summary>The exposition for one model (or only the server's own state while the model loads).</summary>
    public string Render(string? modelName, SchedulerStats? stats)
    {
        var text = new StringBuilder();
        string labels = $"model_name=\"{Escape(modelName ?? "")}\"";
        void Header(string name, string type, string help) =>
            text.Append("# HELP ").Append(name).Append(' ').Append(help).Append("\n# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        void Sample(string name, double value, string? extraLabel = null)
        {
            text.Append(name).Append('{').Append(labels);
            if (extraLabel is not null) text.Append(',').Append(extraLabel);
            text.Append("} ").Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }
        void Metric(string name, string type, string help, double value)
        {
            Header(name, type, help);
            Sample(name, value);
        }

        var s = stats ?? new SchedulerStats();
        Metric("vllm:num_requests_running", "gauge", "Number of requests in the running batch.", s.Running);
        Metric("vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.", s.Waiting);
        Metric("vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.", s.KvUsage);
        Metric("vllm:prefix_cache_queries_total", "counter", "Prefix cache queries, in terms of number of queried tokens.", s.PromptTokens);
        Metric("vllm:prefix_cache_hits_total", "counter", "Prefix cache hits, in terms of number of cached tokens.", s.PrefixCacheHitTokens);
        Metric("vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.", s.PromptTokens);
        Metric("vllm:generation_tokens_total", "counter", "Number of generation tokens processed.", s.GenerationTokens);
        Metric("vllm:num_preemptions_total", "counter", "Cumulative number of preemptions from the engine.", s.Preemptions);
        Header("vllm:request_success_total", "counter", "Count of successfully processed requests, by finish reason (abort: cancelled or disconnected).");
        Sample("vllm:request_success_total", s.FinishedStop, "finished_reason=\"stop\"");
        Sample("vllm:request_success_total", s.FinishedLength, "finished_reason=\"length\"");
        Sample("vllm:request_success_total", s.FinishedCancelled, "finished_reason=\"abort\"");
        foreach (var h in new[] { TimeToFirstToken, TimePerOutputToken, InterTokenLatency, EndToEnd, QueueTime }) h.WriteTo(text, labels);
        Metric("seeksharp:kv_pages_in_use", "gauge", "KV pages held by running sequences.", s.KvPagesInUse);
        Metric("seeksharp:kv_pages_cached", "gauge", "KV pages held only by the prefix cache.", s.KvPagesCached);
        Metric("seeksharp:kv_pages_total", "gauge", "KV pages in the pool.", s.KvPages);
        Metric("seeksharp:kv_page_size", "gauge", "Positions per KV page.", s.PageSize);
        Metric("seeksharp:steps_total", "counter", "Forward passes run by the scheduler.", s.Steps);
        return text.ToString();
    }

    static string Escape(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");
}

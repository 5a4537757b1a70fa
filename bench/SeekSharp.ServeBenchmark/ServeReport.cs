using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using SeekSharp.PeerBenchmark;

namespace SeekSharp.ServeBenchmark;

// Cultures are invariant in this repository (InvariantGlobalization), so interpolated figures print with a dot.
/// <summary>Collects a benchmark's runs and writes them as a markdown report and a JSON file (every request's outcome) into the results folder.</summary>
internal sealed class ServeReport(Options options, string modelPath, string modelDescription, List<string> setup, int wordCount)
{
    private readonly List<RunResult> runs = [];
    private readonly List<(string Engine, List<PrefixTrial> Trials)> prefix = [];
    private readonly List<string> notes = [];
    private readonly string startLoad = MachineInfo.LoadAverage();
    private readonly DateTime started = DateTime.UtcNow;

    public void Add(RunResult run) => runs.Add(run);
    public void Note(string note) => notes.Add(note);
    public void Prefix(string engine, List<PrefixTrial> trials) => prefix.Add((engine, trials));

    public static string Summary(RunResult run)
    {
        var m = ServeMetrics.Of(run);
        return ($"[{run.Engine} C={run.MaxConcurrency}] {m.Completed} done, {m.Failed} failed in {m.DurationSeconds:F1} s: {m.OutputThroughput:F1} output tok/s, " +
                 $"TTFT p50 {m.Ttft.P50:F0} ms, TPOT p50 {m.Tpot.P50:F1} ms, ITL p99 {m.Itl.P99:F1} ms") +
               (m.Failed > 0 ? $"; first error: {run.Outcomes.First(o => !o.Success).Error}" : "");
    }

    public (string Markdown, string Json) Write()
    {
        Directory.CreateDirectory(options.Out);
        string tier = MachineInfo.SimdTier().StartsWith("AVX-512", StringComparison.Ordinal) ? "avx512" : MachineInfo.SimdTier().StartsWith("AVX2", StringComparison.Ordinal) ? "avx2" : "other";
        string stem = $"{(options.Url is null ? "inproc" : "http")}-{Path.GetFileNameWithoutExtension(modelPath)}{(options.Quick ? "-quick" : "")}-{tier}-{Environment.ProcessorCount}cpu-{started:yyyyMMdd-HHmm}";
        string md = Path.Combine(options.Out, stem + ".md"), json = Path.Combine(options.Out, stem + ".json");
        File.WriteAllText(md, Markdown());
        File.WriteAllText(json, JsonSerializer.Serialize(new
        {
            command = options.Args, date = started.ToString("u", CultureInfo.InvariantCulture), cpu = MachineInfo.CpuName(), simd = MachineInfo.SimdTier(),
            processors = Environment.ProcessorCount, threads = options.Threads, model = modelDescription, model_file = Path.GetFileName(modelPath),
            load_start = startLoad, load_end = MachineInfo.LoadAverage(),
            // Per request its summary; the ITL samples (tens of thousands in a sweep) only with --save-itl.
            runs = runs.Select(r => new
            {
                r.Engine, r.MaxConcurrency, r.DurationSeconds, r.CpuSeconds, metrics = ServeMetrics.Of(r),
                outcomes = options.SaveItl ? r.Outcomes : r.Outcomes.Select(o => o with { InterTokenLatencies = [] }).ToList(),
            }),
            prefix = prefix.Select(p => new { engine = p.Engine, trials = p.Trials, median_ratio = MedianRatio(p.Trials) }),
        }, new JsonSerializerOptions { WriteIndented = false, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals }));
        return (md, json);
    }

    private string Markdown()
    {
        var s = new StringBuilder();
        void L(string line = "") => s.AppendLine(line);
        bool http = options.Url is not null;
        L($"# Serving benchmark ({options.Mode}{(options.Quick ? ", quick" : "")}): {Path.GetFileName(modelPath)}");
        L();
        L($"- command: `dotnet run -c Release --project bench/SeekSharp.ServeBenchmark -- {string.Join(' ', options.Args)}`");
        L($"- date: {started:yyyy-MM-dd HH:mm} UTC; CPU: {MachineInfo.CpuName()} ({Environment.ProcessorCount} logical CPUs, {MachineInfo.SimdTier()}); " +
          (http ? "server threads: the server's own" : $"threads: {options.Threads} for both engines (each engine in its own child process per concurrency, DOTNET_PROCESSOR_COUNT={options.Threads}; the two alternate which goes first)"));
        L($"- load average (1/5/15 min) at start: {startLoad}; at end: {MachineInfo.LoadAverage()} (above {Environment.ProcessorCount} means other jobs competed for the CPUs)");
        L($"- model: {modelDescription}");
        foreach (string f in setup) L($"- file: {f}");
        foreach (string n in notes) L($"- {n}");
        L($"- workload per concurrency C: {options.WorkloadFor(1).Describe().Replace($"{options.WorkloadFor(1).Requests} requests", $"max({options.MinPrompts}, {options.PromptsPerSlot} × C) requests")}; " +
          $"prompts are random \"word\" tokens of the vocabulary ({wordCount} distinct: a space and ASCII letters, or plain letters for a synthetic vocabulary), BOS first when the model adds one; " +
          "over HTTP the text of those ids is sent and the server's usage.prompt_tokens is reported");
        L($"- before each measured run, a warm-up of C requests (same prompt lengths, {Math.Min(options.OutputLength, 32)} output tokens, other random text), not reported");
        if (!http)
            L("- SeekSharp: `Scheduler` in process (`Parallel` = C, context = the longest request rounded up to whole KV pages, " +
              $"{(options.BatchSize > 0 ? $"token budget {options.BatchSize}" : "default token budget")} and prefix caching on), greedy, `IgnoreEos`; " +
              "llama.cpp: LLamaSharp 0.30.0 `BatchedExecutor`, C conversations stepped by one `Infer()` per step, new requests admitted as old ones finish, argmax of the logits, " +
              "n_batch 2048, n_ubatch 512, F16 KV cache, flash attention off, kv_unified on (llama-server's default), n_seq_max = C");
        L("- TTFT: send → first token (HTTP: first SSE chunk with non-empty `choices`; in process: first token event / first sampled token); " +
          "ITL: gaps between token-carrying events, pooled; TPOT per request: (E2EL − TTFT) / (output − 1); E2EL: send → last token; " +
          "throughputs over the run's duration (first send to last answer); \"send\" is when the client's concurrency slot is granted, as in vLLM; " +
          "CPUs used: the engine process's CPU time over the run / its duration (in process only; at most the thread count plus the client's share; " +
          "lower means other jobs took the processors; llama.cpp's workers spin while waiting, so its figure counts waiting too)");
        L();
        L("| engine | C | requests | duration s | req/s | output tok/s | total tok/s | TTFT mean / p50 / p99 ms | TPOT mean / p50 / p99 ms | ITL mean / p50 / p99 ms | E2EL p50 ms | CPUs used |");
        L("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in runs.OrderBy(r => r.Engine).ThenBy(r => r.MaxConcurrency))
        {
            var m = ServeMetrics.Of(r);
            L(($"| {r.Engine} | {r.MaxConcurrency} | {m.Completed}{(m.Failed > 0 ? $" ({m.Failed} failed)" : "")} | {m.DurationSeconds:F1} | {m.RequestThroughput:F2} | " +
                $"{m.OutputThroughput:F1} | {m.TotalTokenThroughput:F1} | {Lat(m.Ttft, "F0")} | {Lat(m.Tpot, "F1")} | {Lat(m.Itl, "F1")} | {m.E2el.P50:F0} | {(r.CpuSeconds is { } cpu ? (cpu / r.DurationSeconds).ToString("F2") : "n/a")} |"));
        }
        // vLLM's timing assumes a chunk per token. A server that holds text (a token that decodes to nothing, a partial
        // UTF-8 sequence, a possible stop string) and sends it later in one chunk makes TTFT the time to the first text
        // and ITL the gaps between texts: say so when chunks fall well short of tokens.
        foreach (var r in runs)
        {
            var ok = r.Outcomes.Where(o => o.Success).ToList();
            long events = ok.Sum(o => (long)o.InterTokenLatencies.Length + 1), tokens = ok.Sum(o => (long)o.OutputTokens);
            if (ok.Count > 0 && events < 0.9 * tokens)
                L($"\n**{r.Engine} at C = {r.MaxConcurrency}: {events} token-carrying events for {tokens} output tokens**: tokens were delivered " +
                  "several to a chunk (or held until they made text), so TTFT, ITL and TPOT of this row time chunks, not tokens; the throughputs stand.");
        }
        var engines = runs.Select(r => r.Engine).Distinct().ToList();
        // The median over repetitions (the upper one of an even count).
        double Out(string engine, int c)
        {
            var v = runs.Where(r => r.Engine == engine && r.MaxConcurrency == c).Select(r => ServeMetrics.Of(r).OutputThroughput).Order().ToArray();
            return v.Length == 0 ? double.NaN : v[v.Length / 2];
        }
        L();
        if (engines.Contains("SeekSharp") && engines.Contains("llama.cpp"))
        {
            L($"Aggregate output throughput{(options.Reps > 1 ? $" (median of {options.Reps} repetitions)" : "")}, SeekSharp / llama.cpp, and each engine's scaling over its own single stream (C = 1):");
            L();
            L("| C | SeekSharp output tok/s | llama.cpp output tok/s | **SeekSharp / llama.cpp** | SeekSharp × C=1 | llama.cpp × C=1 |");
            L("|---:|---:|---:|---:|---:|---:|");
            foreach (int c in options.Sweep)
                L(($"| {c} | {Out("SeekSharp", c):F1} | {Out("llama.cpp", c):F1} | **{Out("SeekSharp", c) / Out("llama.cpp", c):F2}×** | " +
                    $"{Out("SeekSharp", c) / Out("SeekSharp", 1):F2}× | {Out("llama.cpp", c) / Out("llama.cpp", 1):F2}× |"));
            L();
        }
        L("Issue 19's targets (measured once on this run; a shared 2-core VM moves figures by 20-40 % between runs):");
        L();
        string main = engines.Contains("SeekSharp") ? "SeekSharp" : engines.FirstOrDefault() ?? "";
        if (options.Sweep.Contains(1) && options.Sweep.Contains(8) && main != "")
        {
            double scale = Out(main, 8) / Out(main, 1);
            L(($"- 8 concurrent streams ≥ 3× a single stream's output tok/s: {main} {scale:F2}× ({Out(main, 8):F1} / {Out(main, 1):F1}) → **{(scale >= 3 ? "met" : "not met")}**") +
              (engines.Contains("llama.cpp") && main != "llama.cpp" ? ($" (llama.cpp: {Out("llama.cpp", 8) / Out("llama.cpp", 1):F2}×)") : ""));
        }
        if (engines.Contains("SeekSharp") && engines.Contains("llama.cpp"))
        {
            var ratios = options.Sweep.Select(c => (c, r: Out("SeekSharp", c) / Out("llama.cpp", c))).ToList();
            L($"- SeekSharp ≥ 1.0× llama.cpp's BatchedExecutor at the same concurrency: {string.Join(", ", ratios.Select(x => ($"C={x.c} {x.r:F2}×")))} → " +
              $"**{(ratios.All(x => x.r >= 1) ? "met at every C" : $"not met at C = {string.Join(", ", ratios.Where(x => x.r < 1).Select(x => x.c))}")}**");
        }
        foreach (var (engine, trials) in prefix)
            L(($"- a second request sharing a {options.PrefixLength}-token system prompt reaches its first token ≥ 5× faster ({engine}): median {MedianRatio(trials):F2}× over {trials.Count} trials → **{(MedianRatio(trials) >= 5 ? "met" : "not met")}**"));
        foreach (var (engine, trials) in prefix)
        {
            L();
            L($"Prefix cache ({engine}): system prompt of {options.PrefixLength} tokens (BOS included) + a user text of {options.PrefixSuffix} tokens, {options.PrefixOutput} output tokens; " +
              "request 2 (same system prompt, other user text) sent after request 1 finished; a new system prompt per trial; one unreported warm-up pair (a shorter system prompt) first:");
            L();
            L("| trial | prompt tokens | request 1 TTFT ms | request 2 TTFT ms | request 2 cached tokens | ratio |");
            L("|---:|---:|---:|---:|---:|---:|");
            for (int i = 0; i < trials.Count; i++)
                L(($"| {i + 1} | {trials[i].PromptTokens} | {trials[i].FirstTtftMs:F1} | {trials[i].SecondTtftMs:F1} | {(trials[i].SecondCachedTokens?.ToString(CultureInfo.InvariantCulture) ?? "n/a")} | {trials[i].Ratio:F2}× |"));
        }
        return s.ToString();
    }

    private static double MedianRatio(List<PrefixTrial> trials)
    {
        var v = trials.Select(t => t.Ratio).Order().ToArray();
        return v.Length == 0 ? double.NaN : LatencyStats.Percentile(v, 50);
    }

    private static string Lat(LatencyStats l, string format) =>
        $"{l.Mean.ToString(format, CultureInfo.InvariantCulture)} / {l.P50.ToString(format, CultureInfo.InvariantCulture)} / {l.P99.ToString(format, CultureInfo.InvariantCulture)}";

}

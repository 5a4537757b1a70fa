using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using SeekSharp.Gguf;
using SeekSharp.PeerBenchmark;
using SeekSharp.Tokenization;

namespace SeekSharp.ServeBenchmark;

/// <summary>
/// A serving benchmark in the manner of <c>vllm bench serve</c>: random prompts of a stated length distribution, a fixed
/// output length (EOS ignored), Poisson or all-at-once arrivals, a client-side concurrency limit swept over several
/// values; per request TTFT, ITL and E2EL; aggregates of throughput and latency percentiles. Two modes:
/// <list type="bullet">
/// <item><c>--url URL</c>: over HTTP against any OpenAI-compatible server (streaming /v1/completions or /v1/chat/completions).</item>
/// <item>without it: in process, SeekSharp's <see cref="Serving.Scheduler"/> against llama.cpp's batched decoding
/// (LLamaSharp's BatchedExecutor) on the same requests, each engine in its own child process per concurrency.</item>
/// </list>
/// </summary>
/// <remarks>
/// Usage: <c>dotnet run -c Release --project bench/SeekSharp.ServeBenchmark -- [--url URL [--endpoint /v1/completions]
/// [--served-model NAME] [--api-key KEY]] [--model tiny|qwen2-1.5b|FILE.gguf] [--engines seek,llama] [--sweep 1,2,4,8,16 |
/// --max-concurrency C] [--request-rate inf] [--prompts-per-slot 2] [--min-prompts 4] [--input-len L] [--range-ratio R]
/// [--output-len N] [--prefix-len 1000] [--prefix-trials N] [--reps 1] [--save-itl] [-t 2] [--batch-size N] [--seed 0] [--quick] [--out DIR]
/// [--cache DIR]</c>.
/// </remarks>
internal static class Program
{
    private static readonly JsonSerializerOptions JsonOut = new() { WriteIndented = false, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public static int Main(string[] args)
    {
        switch (args)
        {
            case ["seek-child", var model, var job, var c, var t, var b]:
            {
                var j = ReadJob(job);
                var (warm, measured) = SeekRun.Run(model, j.Warmup!, j.Requests!, Int(c), Int(t), Int(b));
                Console.Out.WriteLine(JsonSerializer.Serialize(new ChildResult(warm, measured), JsonOut));
                return 0;
            }
            case ["llama-child", var model, var job, var c, var t]:
            {
                var j = ReadJob(job);
                var (warm, measured) = LlamaBatchedRun.Run(model, j.Warmup!, j.Requests!, Int(c), Int(t));
                Console.Out.WriteLine(JsonSerializer.Serialize(new ChildResult(warm, measured), JsonOut));
                return 0;
            }
            case ["prefix-child", var model, var job, var t, var b]:
            {
                var j = ReadJob(job);
                var trials = PrefixScenario.RunInProcess(model, j.Pairs!.Select(p => (p[0], p[1])).ToList(), Int(t), Int(b));
                Console.Out.WriteLine(JsonSerializer.Serialize(trials, JsonOut));
                return 0;
            }
        }
        return Benchmark(new Options(args)).GetAwaiter().GetResult();
    }

    private static async Task<int> Benchmark(Options o)
    {
        var setup = new List<string>();
        var (modelPath, modelDescription) = ResolveModel(o, setup);
        Tokenizer tokenizer;
        using (var file = GgufFile.Open(modelPath)) tokenizer = Tokenizer.FromGguf(file);
        var generator = new RequestGenerator(tokenizer);
        var report = new ServeReport(o, modelPath, modelDescription, setup, generator.WordCount);
        Console.Error.WriteLine($"model {modelPath}; {o.Mode}; sweep {string.Join(',', o.Sweep)}");

        if (o.Url is not null)
        {
            string served = o.ServedModel ?? await OpenAiClient.FirstModelAsync(o.Url, o.ApiKey);
            using var client = new OpenAiClient(o.Url, o.Endpoint, served, o.ApiKey);
            report.Note($"server {o.Url}, model \"{served}\", streaming {o.Endpoint} with stream_options.include_usage, temperature 0, max_tokens and ignore_eos");
            var probe = generator.Generate(o.WorkloadFor(1))[0];
            int? serverCount = await client.TokenizeCountAsync(probe.Text);
            report.Note(serverCount is { } n
                ? $"/tokenize: the server counts {n} tokens in a probe prompt of {probe.Prompt.Length} local ids ({(tokenizer.AddBos ? "BOS included locally" : "no BOS")}); the tables use the server's usage.prompt_tokens"
                : "/tokenize: not available; prompt lengths are the local tokenizer's, the tables use the server's usage.prompt_tokens");
            foreach (int c in o.Sweep)
            {
                var (warmup, requests) = Requests(generator, o, c);
                await LoadDriver.RunAsync("server", warmup, c, client.SendAsync);
                var run = await LoadDriver.RunAsync("server", requests, c, client.SendAsync);
                report.Add(run);
                Console.Error.WriteLine(ServeReport.Summary(run));
            }
            if (o.PrefixTrials > 0)
                report.Prefix("server (HTTP)", await PrefixScenario.RunAsync(PrefixPairs(generator, o), client.SendAsync));
        }
        else
        {
            string jobDir = Path.Combine(Path.GetTempPath(), $"seeksharp-serve-{Environment.ProcessId}");
            Directory.CreateDirectory(jobDir);
            for (int k = 0; k < o.Sweep.Length * o.Reps; k++)
            {
                int c = o.Sweep[k % o.Sweep.Length];
                var (warmup, requests) = Requests(generator, o, c);
                string job = Path.Combine(jobDir, $"c{c}.json");
                File.WriteAllText(job, JsonSerializer.Serialize(new Job { Warmup = warmup, Requests = requests }, JsonOut));
                // Alternate which engine goes first, so that neither always runs on the page cache the other warmed (and,
                // over repetitions, each concurrency gets both orders).
                int n = o.Sweep.Length;
                bool flip = (n % 2 == 0 ? k + k / n : k) % 2 == 1;
                var order = flip ? o.Engines.Reverse().ToArray() : o.Engines;
                foreach (string engine in order)
                {
                    var result = engine == "seek"
                        ? Child(["seek-child", modelPath, job, $"{c}", $"{o.Threads}", $"{o.BatchSize}"], o.Threads)
                        : Child(["llama-child", modelPath, job, $"{c}", $"{o.Threads}"], o.Threads);
                    var run = JsonSerializer.Deserialize<ChildResult>(result, JsonOut)!.Measured;
                    report.Add(run);
                    Console.Error.WriteLine(ServeReport.Summary(run));
                }
            }
            if (o.PrefixTrials > 0 && o.Engines.Contains("seek"))
            {
                string job = Path.Combine(jobDir, "prefix.json");
                File.WriteAllText(job, JsonSerializer.Serialize(new Job { Pairs = PrefixPairs(generator, o).Select(p => new[] { p.First, p.Second }).ToList() }, JsonOut));
                var trials = JsonSerializer.Deserialize<List<PrefixTrial>>(Child(["prefix-child", modelPath, job, $"{o.Threads}", $"{o.BatchSize}"], o.Threads), JsonOut)!;
                report.Prefix("SeekSharp (in process)", trials);
            }
            Directory.Delete(jobDir, recursive: true);
        }
        var (md, json) = report.Write();
        Console.Out.WriteLine(File.ReadAllText(md));
        Console.Error.WriteLine($"wrote {md} and {json}");
        return 0;
    }

    // The measured requests for concurrency c, and a warm-up of c requests of the same prompt lengths and 32 output
    // tokens (JIT tiering, page faults of the weights and the KV cache), drawn with another seed.
    private static (List<BenchRequest> Warmup, List<BenchRequest> Requests) Requests(RequestGenerator generator, Options o, int c)
    {
        var w = o.WorkloadFor(c);
        var warm = w with { Requests = c, OutputLength = Math.Min(w.OutputLength, 32), RequestRate = double.PositiveInfinity, Seed = w.Seed + 1000 };
        return (generator.Generate(warm), generator.Generate(w));
    }

    private static List<(BenchRequest First, BenchRequest Second)> PrefixPairs(RequestGenerator generator, Options o) =>
        PrefixScenario.Pairs(generator, o.PrefixTrials, o.PrefixLength, o.PrefixSuffix, o.PrefixOutput, o.Seed + 7);

    private static (string Path, string Description) ResolveModel(Options o, List<string> setup)
    {
        if (o.Model == "tiny")
            return (Path.Combine(RepoRoot(), "models", "seeksharp-r1-tiny.gguf"),
                    "the bundled model models/seeksharp-r1-tiny.gguf (llama, 4 layers, dim 256, 8/4 heads, FFN 704, vocab 642, F32, 3.3 M parameters)");
        if (o.Model == "qwen2-1.5b")
        {
            var shape = PeerShape.For("qwen2", quick: false);
            Directory.CreateDirectory(o.Cache);
            return (PeerModelFiles.EnsureModel(o.Cache, shape, "Q4_K_M", o.Threads, setup), shape.Description + ", Q4_K_M (seek's GgufQuantizer)");
        }
        return (Path.GetFullPath(o.Model), Path.GetFileName(o.Model));
    }

    private static string Child(string[] args, int threads)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SeekSharp.ServeBenchmark.dll"));
        foreach (string a in args) start.ArgumentList.Add(a);
        start.Environment["DOTNET_PROCESSOR_COUNT"] = threads.ToString(CultureInfo.InvariantCulture);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{string.Join(' ', args)} failed ({process.ExitCode}): {stderr.Result}");
        return stdout.Result.Trim().Split('\n')[^1];
    }

    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SeekSharp.slnx"))) return dir.FullName;
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SeekSharp.slnx"))) return dir.FullName;
        throw new InvalidOperationException("run from inside the SeekSharp repository (SeekSharp.slnx not found above the program or the current folder)");
    }

    private static Job ReadJob(string path) => JsonSerializer.Deserialize<Job>(File.ReadAllText(path), JsonOut)!;

    private static int Int(string s) => int.Parse(s, CultureInfo.InvariantCulture);

    private sealed class Job
    {
        public List<BenchRequest>? Warmup { get; init; }
        public List<BenchRequest>? Requests { get; init; }
        public List<BenchRequest[]>? Pairs { get; init; }
    }

    private sealed record ChildResult(RunResult Warmup, RunResult Measured);
}

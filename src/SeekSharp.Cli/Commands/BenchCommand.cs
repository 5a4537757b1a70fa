using System.CommandLine;
using System.Diagnostics;
using SeekSharp.Inference;
using SeekSharp.Models;

namespace SeekSharp.Cli.Commands;

/// <summary>
/// <c>seek bench</c>: llama-bench's two measures on one model. pp = a prompt of <c>-p</c> random tokens evaluated in
/// batches from an empty cache; tg = <c>-n</c> single-token decodes from an empty cache. Each is the median over
/// <c>-r</c> repetitions after a warm-up (at least a second of each test), in tokens per second. With <c>-d</c> (llama-bench's
/// n_depth) each test runs after N tokens already in the cache: the depth is filled once per depth, untimed, and the cache
/// is cut back to it before every measured test, so pp covers positions N..N+p-1 and tg positions N..N+n-1.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var prompt = new Option<int>("--n-prompt", "-p") { Description = "Prompt tokens for the pp test (0 skips it)", DefaultValueFactory = _ => 512 };
        var gen = new Option<int>("--n-gen", "-n") { Description = "Generated tokens for the tg test (0 skips it)", DefaultValueFactory = _ => 128 };
        var threads = Common.ThreadsOption("Threads (0: the shared pool, one per logical processor)");
        var reps = new Option<int>("--repetitions", "-r") { Description = "Repetitions of each test; the median is reported", DefaultValueFactory = _ => 5 };
        var batch = new Option<int>("--ubatch-size", "-ub") { Description = "Tokens per forward pass in the pp test", DefaultValueFactory = _ => 512 };
        var depth = new Option<string>("--n-depth", "-d")
        {
            Description = "Tokens already in the cache when each test starts, comma-separated for several (e.g. 0,4096)",
            DefaultValueFactory = _ => "0",
        };
        var mla = new Option<MlaAttention>("--mla")
        {
            Description = "How multi-head latent attention (deepseek2) runs: auto (absorbed; on older attn_kv_b files naive for prompt chunks), naive (decompressed keys and values) or absorbed (on the cached latents)",
            DefaultValueFactory = _ => MlaAttention.Auto,
        };
        var json = Common.JsonOption("Print only {\"n_depth\":d,\"pp_tps\":x,\"tg_tps\":y,\"load_s\":z,\"rss_mb\":w}, one line per depth");
        var command = new Command("bench", "Measure prompt processing and generation speed, as llama-bench does") { prompt, gen, threads, reps, batch, depth, mla, json };
        var model = DefaultModel.AddTo(command);
        command.SetAction(r => Common.Guard(() =>
        {
            int p = r.GetValue(prompt), n = r.GetValue(gen), t = r.GetValue(threads), repetitions = r.GetValue(reps), ub = r.GetValue(batch);
            if (p < 0 || n < 0 || p + n == 0) throw new ArgumentException($"-p and -n must be 0 or more and not both 0, got -p {p} -n {n}");
            if (repetitions < 1) throw new ArgumentException($"-r must be at least 1, got {repetitions}");
            if (ub < 1) throw new ArgumentException($"-ub must be at least 1, got {ub}");
            int[] depths = ParseDepths(r.GetValue(depth)!);
            Common.CheckThreads(t);
            string path = DefaultModel.Resolve(r, model);
            var result = Run(path, p, n, depths, repetitions, ub, t, r.GetValue(mla));
            if (r.GetValue(json))
                foreach (var at in result.Depths)
                    Common.WriteJson(new { n_depth = at.Depth, pp_tps = at.PromptTps, tg_tps = at.GenerationTps, load_s = result.LoadSeconds, rss_mb = result.PeakRssMb });
            else
            {
                Console.Out.WriteLine($"model      {Path.GetFileName(path)} ({result.Parameters / 1e9:F2} B parameters, {result.FileBytes / 1048576.0:F0} MiB)");
                Console.Out.WriteLine($"threads    {result.Threads}, repetitions {repetitions}");
                foreach (var at in result.Depths)
                {
                    string suffix = at.Depth > 0 ? $" @ d{at.Depth}" : "";
                    if (p > 0) Console.Out.WriteLine($"{$"pp{p}{suffix}",-14} {at.PromptTps,10:F2} tokens/s  (median; min {at.PromptRange.Min:F2}, max {at.PromptRange.Max:F2})");
                    if (n > 0) Console.Out.WriteLine($"{$"tg{n}{suffix}",-14} {at.GenerationTps,10:F2} tokens/s  (median; min {at.GenerationRange.Min:F2}, max {at.GenerationRange.Max:F2})");
                }
                Console.Out.WriteLine($"load           {result.LoadSeconds,10:F3} s");
                Console.Out.WriteLine($"peak RSS       {result.PeakRssMb,10:F1} MiB");
            }
            return 0;
        }));
        return command;
    }

    private sealed record Result(IReadOnlyList<AtDepth> Depths, double LoadSeconds, double PeakRssMb, long Parameters, long FileBytes, int Threads);

    /// <summary>The two tests' medians and ranges with <paramref name="Depth"/> tokens already in the cache.</summary>
    private sealed record AtDepth(int Depth, double PromptTps, (double Min, double Max) PromptRange, double GenerationTps, (double Min, double Max) GenerationRange);

    /// <summary>"0", "4096" or "0,512,4096" as llama-bench's -d takes it.</summary>
    internal static int[] ParseDepths(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var depths = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out depths[i]))
                throw new ArgumentException($"-d takes depths of 0 or more separated by commas (e.g. 0,4096), got '{text}'");
        return depths;
    }

    private static readonly TimeSpan WarmUpTime = TimeSpan.FromSeconds(1);

    private static Result Run(string path, int p, int n, int[] depths, int repetitions, int ubatch, int threads, MlaAttention mla)
    {
        var clock = Stopwatch.StartNew();
        using var model = Model.Load(path);
        double load = clock.Elapsed.TotalSeconds;
        // llama-bench's sizes are only speed probes, so running past the trained context is not worth a warning here.
        int ctx = Common.CheckContext(model, depths.Max() + (long)Math.Max(p, n) + 1, "-d/-p/-n", warnBeyondTraining: false);
        using var context = model.CreateContext(new ContextOptions { ContextLength = ctx, BatchSize = Math.Max(1, Math.Min(ubatch, Math.Max(p, 1))), Threads = threads, MlaAttention = mla });
        // Random ids as llama-bench uses: the speed of a dense model does not depend on which tokens it sees.
        var rng = new Random(42);
        int vocab = model.Config.VocabSize;
        int[] promptTokens = Enumerable.Range(0, p).Select(_ => rng.Next(vocab)).ToArray();
        var one = new Batch(1);

        // Each test starts with the cache cut back to `depth` positions (0: empty).
        double Prompt(int depth = 0)
        {
            context.Cache.Truncate(0, depth);
            var c = Stopwatch.StartNew();
            context.Prefill(promptTokens, start: depth);
            return p / c.Elapsed.TotalSeconds;
        }
        double Generate(int count, int depth = 0)
        {
            context.Cache.Truncate(0, depth);
            int token = depth == 0 ? model.Tokenizer.BosId ?? 0 : rng.Next(vocab);
            var c = Stopwatch.StartNew();
            for (int i = 0; i < count; i++)
            {
                one.Clear();
                one.Add(token, depth + i, 0, wantLogits: true);
                context.Decode(one);
                token = rng.Next(vocab);
            }
            return count / c.Elapsed.TotalSeconds;
        }

        // Warm-up, as llama-bench does, so that first touches of the mapped weights are not measured; each part repeats
        // for at least a second, because the tiered JIT runs the kernels unoptimized until they have been called for a
        // while (a 4-layer model's first pp128 of ten ran at 393 t/s, the median at 820).
        if (p > 0)
        {
            var warmUp = Stopwatch.StartNew();
            do
            {
                context.Cache.Clear(0);
                context.Prefill(promptTokens.AsSpan(0, Math.Min(p, context.BatchSize)));
            }
            while (warmUp.Elapsed < WarmUpTime);
        }
        if (n > 0)
        {
            var warmUp = Stopwatch.StartNew();
            do Generate(Math.Min(n, 4));
            while (warmUp.Elapsed < WarmUpTime);
        }
        var results = new List<AtDepth>();
        foreach (int depth in depths)
        {
            // The depth's tokens are random ids too, evaluated as a prompt once; the tests below only cut back to them.
            context.Cache.Clear(0);
            if (depth > 0)
                context.Prefill(Enumerable.Range(0, depth).Select(_ => rng.Next(vocab)).ToArray());
            var pp = new double[p > 0 ? repetitions : 0];
            var tg = new double[n > 0 ? repetitions : 0];
            for (int i = 0; i < repetitions; i++)
            {
                if (p > 0) pp[i] = Prompt(depth);
                if (n > 0) tg[i] = Generate(n, depth);
            }
            results.Add(new AtDepth(depth, Median(pp), Range(pp), Median(tg), Range(tg)));
        }
        return new Result(results, load, PeakRssMb(), model.ParameterCount, SeekSharp.HuggingFace.HuggingFaceFolder.SizeOnDisk(path), context.Threads);
    }

    private static double Median(double[] values)
    {
        if (values.Length == 0) return 0;
        var sorted = values.Order().ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static (double, double) Range(double[] values) => values.Length == 0 ? (0, 0) : (values.Min(), values.Max());

    /// <summary>Peak resident set (VmHWM of /proc/self/status) in MiB; mapped weight pages count once touched.</summary>
    internal static double PeakRssMb()
    {
        const string status = "/proc/self/status";
        if (File.Exists(status))
            foreach (string line in File.ReadLines(status))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line.AsSpan(6).Trim().ToString().Split(' ')[0]) / 1024.0;
        return Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0;
    }
}

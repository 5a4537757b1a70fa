using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Text;
using System.Text.Json;
using LLama;
using LLama.Native;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Gguf;
using SeekSharp.Kernels;
using SeekSharp.Quantization;

namespace SeekSharp.PeerBenchmark;

/// <summary>
/// SeekSharp against llama.cpp on the same GGUF files, same machine, same thread count, in one run: for each type the
/// two engines run alternately, each in a fresh child process (so load time and peak RSS are per engine), and the
/// table reports medians and SeekSharp / llama.cpp ratios.
/// </summary>
/// <remarks>
/// Usage: <c>dotnet run -c Release --project bench/SeekSharp.PeerBenchmark -- [--arch qwen2|deepseek2] [--quick] [-t N]
/// [-r REPS] [-p 512] [-n 128] [-d 0,4096] [--types F16,Q8_0,Q4_K_M] [--paired-rounds 31] [--paired-block 32] [--cache DIR]
/// [--out FILE]</c>, or <c>-- bandwidth THREADS</c> for the read-bandwidth probe alone. After each type's alternating runs,
/// a child process measures generation in pairs (<see cref="PairedGeneration"/>). The models (random weights,
/// R1-Distill-Qwen-1.5B's or DeepSeek-V2-Lite's shape; 4 layers with --quick) are written once to the cache folder and
/// reused.
/// </remarks>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (args is ["llama-child", var childModel, var p, var n, var t, var d])
            return LlamaCppChild.Run(childModel, int.Parse(p), int.Parse(n), int.Parse(t), ParseDepths(d));
        if (args is ["paired-child", var pairedModel, var pt, var pr, var pb])
        {
            var result = PairedGeneration.Run(pairedModel, int.Parse(pt), int.Parse(pr), int.Parse(pb));
            Console.Out.WriteLine(JsonSerializer.Serialize(result));
            return 0;
        }
        if (args is ["bandwidth", var bt])
        {
            Console.WriteLine($"{BandwidthProbe.MeasureGBps(int.Parse(bt)).ToString("F1", CultureInfo.InvariantCulture)} GB/s");
            return 0;
        }

        bool quick = args.Contains("--quick");
        var shape = PeerShape.For(StringArg(args, "--arch") ?? "qwen2", quick);
        bool deepSeek = shape.Architecture == "deepseek2";
        int threads = IntArg(args, "-t", Environment.ProcessorCount);
        int reps = IntArg(args, "-r", quick ? 3 : 5);
        int prompt = IntArg(args, "-p", quick ? 128 : 512);
        int gen = IntArg(args, "-n", quick ? 32 : 128);
        // The issue's deepseek2 figures include generation after 4096 cached tokens, where attention over the cache counts.
        int[] depths = ParseDepths(StringArg(args, "-d") ?? (deepSeek ? "0,4096" : "0"));
        // Pairs hold both engines in one process: for full deepseek2, llama.cpp's repacked copy of the ~9 GB of Q4_K_M
        // weights plus SeekSharp's mapping of them would take most of this machine's memory, so they are off by default.
        int pairedRounds = IntArg(args, "--paired-rounds", quick ? 11 : deepSeek ? 0 : 31);
        int pairedBlock = IntArg(args, "--paired-block", quick ? 16 : 32);
        string[] types = (StringArg(args, "--types") ?? "F16,Q8_0,Q4_K_M").Split(',');
        string cache = StringArg(args, "--cache") ?? Path.Combine(Path.GetTempPath(), "seeksharp-peer-models");
        string? outFile = StringArg(args, "--out");
        Directory.CreateDirectory(cache);

        // All files first, so that their writing is not mixed with the measurements and is reported once.
        var files = new List<string>();
        var models = types.ToDictionary(type => type, type => PeerModelFiles.EnsureModel(cache, shape, type, threads, files));
        string f16 = PeerModelFiles.ModelPath(cache, shape, "F16");
        // Full deepseek2's F16 is 31 GB: not benchmarked, only quantized, so it is not kept taking the disk.
        if (!types.Contains("F16") && File.Exists(f16) && new FileInfo(f16).Length > 16L << 30)
        {
            files.Add($"{Path.GetFileName(f16)} ({PeerModelFiles.Mib(f16)} MiB) deleted after quantizing: not benchmarked");
            File.Delete(f16);
        }

        string startLoad = MachineInfo.LoadAverage();
        var report = new StringBuilder();
        void Line(string s = "") { Console.Out.WriteLine(s); report.AppendLine(s); }
        Line($"# Peer benchmark: SeekSharp vs llama.cpp (LLamaSharp 0.30.0, its bundled llama.cpp CPU build)");
        Line();
        Line($"- command: `dotnet run -c Release --project bench/SeekSharp.PeerBenchmark -- {string.Join(' ', args)}`");
        Line($"- date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; CPU: {MachineInfo.CpuName()} ({Environment.ProcessorCount} logical CPUs, {MachineInfo.SimdTier()}); threads: {threads} for both engines");
        Line($"- model: {shape.Description}");
        foreach (string f in files) Line($"- file: {f}");
        Line($"- tests: pp{prompt} (prompt of {prompt} random tokens) and tg{gen} ({gen} single-token decodes), at depth {string.Join(" and ", depths)} " +
             "(tokens already in the cache: random tokens evaluated once per process, untimed, the cache cut back to them before each test, as llama-bench -d)");
        Line($"- {reps} alternating runs per engine, each a fresh process doing a warm-up (at least a second of each test) then one measured pp and tg; medians shown (min-max in brackets)");
        Line("- llama.cpp: llama-bench defaults (mmap, CPU repacking on, n_batch 2048, n_ubatch 512, F16 KV cache), flash attention off; " +
             "SeekSharp: `seek bench` (mmap, ubatch 512, F16 KV cache), DOTNET_PROCESSOR_COUNT set to the thread count");
        Line();
        Line($"- bandwidth: after each pair of engine runs, {threads} threads sum their shares of a 1 GiB buffer (median of 7 sweeps); " +
             "a type's figure is the median over its rounds. Weights read per token: every tensor but the token embedding, of which one row is read");
        Line();
        Line($"| type | file MiB | depth | engine | pp{prompt} t/s | tg{gen} t/s | tg × weights GB/s | of bandwidth | load s | peak RSS MiB |");
        Line("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|");
        var bandwidthLines = new List<string>();
        var pairedLines = new List<string>();

        foreach (string type in types)
        {
            string model = models[type];
            double fileGb = new FileInfo(model).Length / 1e9;
            double weightsGb = WeightsReadPerToken(model) / 1e9;
            var bandwidth = new List<double>();
            bool seekCan = SeekCanLoad(model, out string? why);
            // One list per child process, one run per depth in it.
            var llamaRuns = new List<EngineRun[]>();
            var seekRuns = new List<EngineRun[]>();
            for (int i = 0; i < reps; i++)
            {
                // Alternate which engine goes first, so neither always finds the page cache warmed by the other.
                bool llamaFirst = i % 2 == 0;
                if (llamaFirst) llamaRuns.Add(RunLlama(model, prompt, gen, threads, depths));
                if (seekCan) seekRuns.Add(RunSeek(model, prompt, gen, threads, depths));
                if (!llamaFirst) llamaRuns.Add(RunLlama(model, prompt, gen, threads, depths));
                bandwidth.Add(BandwidthProbe.MeasureGBps(threads));
                Console.Error.WriteLine($"[{type} run {i + 1}/{reps}] llama.cpp {Show(llamaRuns[^1])}{(seekCan ? $" | SeekSharp {Show(seekRuns[^1])}" : "")} | " +
                                        $"read bandwidth {bandwidth[^1].ToString("F1", CultureInfo.InvariantCulture)} GB/s");
            }
            string mib = (fileGb * 1e9 / 1048576).ToString("F0", CultureInfo.InvariantCulture);
            double gbps = Median(bandwidth, b => b);
            bandwidthLines.Add(string.Create(CultureInfo.InvariantCulture,
                $"- {type}: weights read per token {weightsGb:F2} GB; read bandwidth {gbps:F1} GB/s ({bandwidth.Min():F1}-{bandwidth.Max():F1}), " +
                $"so at most {gbps / weightsGb:F2} t/s"));
            for (int k = 0; k < depths.Length; k++)
            {
                var llama = llamaRuns.Select(r => r[k]).ToList();
                var seek = seekRuns.Select(r => r[k]).ToList();
                Line(Row(type, mib, depths[k], "llama.cpp", llama, weightsGb, gbps));
                if (seekCan)
                {
                    Line(Row(type, mib, depths[k], "SeekSharp", seek, weightsGb, gbps));
                    Line($"| {type} | | {depths[k]} | **ratio** | **{Ratio(seek, llama, r => r.PromptTps)}** | **{Ratio(seek, llama, r => r.GenerationTps)}** | | | " +
                         $"{Ratio(seek, llama, r => r.LoadSeconds)} | {Ratio(seek, llama, r => r.PeakRssMb)} |");
                }
                else
                    Line($"| {type} | | {depths[k]} | SeekSharp | n/a | n/a | | | | {why} |");
            }
            if (seekCan && gen > 0 && pairedRounds > 0)
            {
                var paired = RunPaired(model, threads, pairedRounds, pairedBlock);
                Console.Error.WriteLine($"[{type} paired] llama.cpp {paired.LlamaTps:F2} t/s | SeekSharp {paired.SeekTps:F2} t/s | ratio {paired.MedianRatio:F2}");
                pairedLines.Add(string.Create(CultureInfo.InvariantCulture,
                    $"| {type} | {paired.LlamaTps:F2} | {paired.SeekTps:F2} | **{paired.MedianRatio:F2}×** | {paired.LowerQuartile:F2}-{paired.UpperQuartile:F2} | {paired.SeekAhead} of {paired.Rounds} |"));
            }
        }
        if (pairedLines.Count > 0)
        {
            Line();
            Line($"Generation in pairs (one process holding both engines on the same file; {pairedRounds} rounds, each a block of {pairedBlock} " +
                 "single-token decodes from an empty cache on one engine, then on the other, the order alternating; t/s are medians of the blocks, " +
                 "the ratio the median of the rounds' SeekSharp / llama.cpp ratios):");
            Line();
            Line("| type | llama.cpp t/s | SeekSharp t/s | median ratio | quartiles | rounds SeekSharp ahead |");
            Line("|---|---:|---:|---:|---:|---:|");
            foreach (string l in pairedLines) Line(l);
        }
        Line();
        foreach (string l in bandwidthLines) Line(l);
        Line();
        if (deepSeek)
            Line("- weights read per token count the routed experts' tensors (ffn_*_exps) at expert_used_count / expert_count of their size (6 of 64): " +
                 "one token runs 6 experts; at a depth d a step also reads the cached latents (d × 576 F16 values per layer), not counted");
        Line($"- load average (1/5/15 min) at start: {startLoad}; at end: {MachineInfo.LoadAverage()}. A load above the thread count means other jobs " +
             "competed for the CPUs: llama.cpp's worker threads spin at barriers and lose far more than SeekSharp then, so such runs favour SeekSharp; " +
             "compare engines only on runs made at low load.");
        Line();
        Line("Ratios are SeekSharp / llama.cpp of the medians: above 1 is faster for t/s; below 1 is better for load time and RSS.");
        if (outFile is not null) File.WriteAllText(outFile, report.ToString());
        return 0;
    }

    private static bool SeekCanLoad(string model, out string? why)
    {
        try
        {
            using var f = GgufFile.Open(model);
            why = null;
            return true;
        }
        catch (GgufFormatException e)
        {
            why = "cannot load: " + e.Message.Split(" (supported")[0].Replace('|', '/');
            return false;
        }
    }

    private static EngineRun[] RunLlama(string model, int p, int n, int threads, int[] depths) =>
        Child(Environment.ProcessPath!, [Path.Combine(AppContext.BaseDirectory, "SeekSharp.PeerBenchmark.dll"), "llama-child", model, $"{p}", $"{n}", $"{threads}",
              string.Join(',', depths)], null, dll: true, depths);

    private static EngineRun[] RunSeek(string model, int p, int n, int threads, int[] depths) =>
        Child("dotnet", [Path.Combine(AppContext.BaseDirectory, "seek.dll"), "bench", "-m", model, "-p", $"{p}", "-n", $"{n}", "-r", "1",
              "-d", string.Join(',', depths), "--json"], threads, dll: false, depths);

    private static PairedGeneration.Result RunPaired(string model, int threads, int rounds, int block) =>
        JsonSerializer.Deserialize<PairedGeneration.Result>(ChildOutput("dotnet",
            [Path.Combine(AppContext.BaseDirectory, "SeekSharp.PeerBenchmark.dll"), "paired-child", model, $"{threads}", $"{rounds}", $"{block}"], threads, 1)[0])!;

    // One JSON line per depth, in the order asked.
    private static EngineRun[] Child(string exe, string[] args, int? processorCount, bool dll, int[] depths)
    {
        var runs = ChildOutput(dll ? "dotnet" : exe, args, processorCount, depths.Length).Select(l => JsonSerializer.Deserialize<EngineRun>(l)!).ToArray();
        if (!runs.Select(r => r.Depth).SequenceEqual(depths))
            throw new InvalidOperationException($"{string.Join(' ', args)} reported depths {string.Join(',', runs.Select(r => r.Depth))}, not {string.Join(',', depths)}");
        return runs;
    }

    /// <summary>Runs a child process and returns the last <paramref name="lines"/> lines it printed on stdout.</summary>
    private static string[] ChildOutput(string exe, string[] args, int? processorCount, int lines)
    {
        var start = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) start.ArgumentList.Add(a);
        if (processorCount is { } pc) start.Environment["DOTNET_PROCESSOR_COUNT"] = pc.ToString(CultureInfo.InvariantCulture);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{string.Join(' ', args)} failed ({process.ExitCode}): {stderr.Result}");
        return stdout.Result.Trim().Split('\n')[^lines..];
    }

    private static string Row(string type, string mib, int depth, string engine, List<EngineRun> runs, double weightsGb, double bandwidthGbps)
    {
        double moved = Median(runs, r => r.GenerationTps) * weightsGb;
        return $"| {type} | {mib} | {depth} | {engine} | {Stat(runs, r => r.PromptTps, "F1")} | {Stat(runs, r => r.GenerationTps, "F2")} | " +
               $"{moved.ToString("F1", CultureInfo.InvariantCulture)} | {(moved / bandwidthGbps * 100).ToString("F0", CultureInfo.InvariantCulture)} % | " +
               $"{Stat(runs, r => r.LoadSeconds, "F2")} | {Stat(runs, r => r.PeakRssMb, "F0")} |";
    }

    // A decode step reads every weight once, except the token embedding, of which it reads one row (a model without
    // an output matrix reads the whole embedding again as its output: tied weights), and the routed experts' stacks
    // (ffn_{gate,up,down}_exps), of which it reads the expert_used_count experts the router picks.
    private static long WeightsReadPerToken(string model)
    {
        var f = GgufTensorSizes.Read(model);
        bool tied = !f.Tensors.Any(t => t.Name == "output.weight");
        string? countKey = f.UInt32s.Keys.FirstOrDefault(k => k.EndsWith(".expert_count", StringComparison.Ordinal));
        double expertShare = countKey is null ? 1 : (double)f.UInt32s[countKey.Replace(".expert_count", ".expert_used_count")] / f.UInt32s[countKey];
        return (long)f.Tensors.Where(t => tied || t.Name != "token_embd.weight")
                               .Sum(t => t.Name.EndsWith("_exps.weight", StringComparison.Ordinal) ? t.Bytes * expertShare : t.Bytes);
    }

    private static string Stat(List<EngineRun> runs, Func<EngineRun, double> f, string format) =>
        $"{Median(runs, f).ToString(format, CultureInfo.InvariantCulture)} ({runs.Min(f).ToString(format, CultureInfo.InvariantCulture)}-{runs.Max(f).ToString(format, CultureInfo.InvariantCulture)})";

    private static string Ratio(List<EngineRun> a, List<EngineRun> b, Func<EngineRun, double> f) =>
        (Median(a, f) / Median(b, f)).ToString("F2", CultureInfo.InvariantCulture) + "×";

    private static double Median<T>(List<T> runs, Func<T, double> f)
    {
        var v = runs.Select(f).Order().ToArray();
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    private static string Show(EngineRun[] runs) =>
        string.Join("; ", runs.Select(r => string.Create(CultureInfo.InvariantCulture, $"d{r.Depth} pp {r.PromptTps:F1} tg {r.GenerationTps:F2} t/s"))) +
        string.Create(CultureInfo.InvariantCulture, $", load {runs[0].LoadSeconds:F2} s, RSS {runs[0].PeakRssMb:F0} MiB");

    /// <summary>"0" or "0,4096", as llama-bench's and seek bench's -d take it.</summary>
    private static int[] ParseDepths(string text) =>
        text.Split(',').Select(d => int.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v
            : throw new ArgumentException($"-d takes depths of 0 or more separated by commas, got '{text}'")).ToArray();

    private static int IntArg(string[] args, string name, int dflt) => StringArg(args, name) is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : dflt;

    private static string? StringArg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}

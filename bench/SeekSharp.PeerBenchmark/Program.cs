using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Gguf;
using SeekSharp.Quantization;

namespace SeekSharp.PeerBenchmark;

/// <summary>
/// SeekSharp against llama.cpp on the same GGUF files, same machine, same thread count, in one run: for each type the
/// two engines run alternately, each in a fresh child process (so load time and peak RSS are per engine), and the
/// table reports medians and SeekSharp / llama.cpp ratios.
/// </summary>
/// <remarks>
/// Usage: <c>dotnet run -c Release --project bench/SeekSharp.PeerBenchmark -- [--quick] [-t N] [-r REPS] [-p 512] [-n 128]
/// [--types F16,Q8_0,Q4_K_M] [--paired-rounds 31] [--paired-block 32] [--cache DIR] [--out FILE]</c>, or
/// <c>-- bandwidth THREADS</c> for the read-bandwidth probe alone. After each type's alternating runs, a child process
/// measures generation in pairs (<see cref="PairedGeneration"/>). The models (random weights, R1-Distill-Qwen-1.5B's
/// shape; 4 layers with --quick) are written once to the cache folder and reused.
/// </remarks>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (args is ["llama-child", var childModel, var p, var n, var t])
            return LlamaCppChild.Run(childModel, int.Parse(p), int.Parse(n), int.Parse(t));
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
        int threads = IntArg(args, "-t", Environment.ProcessorCount);
        int reps = IntArg(args, "-r", quick ? 3 : 5);
        int prompt = IntArg(args, "-p", quick ? 128 : 512);
        int gen = IntArg(args, "-n", quick ? 32 : 128);
        int pairedRounds = IntArg(args, "--paired-rounds", quick ? 11 : 31);
        int pairedBlock = IntArg(args, "--paired-block", quick ? 16 : 32);
        string[] types = (StringArg(args, "--types") ?? "F16,Q8_0,Q4_K_M").Split(',');
        string cache = StringArg(args, "--cache") ?? Path.Combine(Path.GetTempPath(), "seeksharp-peer-models");
        string? outFile = StringArg(args, "--out");
        int layers = quick ? 4 : 28;
        Directory.CreateDirectory(cache);

        string startLoad = LoadAverage();
        var report = new StringBuilder();
        void Line(string s = "") { Console.Out.WriteLine(s); report.AppendLine(s); }
        Line($"# Peer benchmark: SeekSharp vs llama.cpp (LLamaSharp 0.30.0, its bundled llama.cpp CPU build)");
        Line();
        Line($"- command: `dotnet run -c Release --project bench/SeekSharp.PeerBenchmark -- {string.Join(' ', args)}`");
        Line($"- date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; CPU: {CpuName()} ({Environment.ProcessorCount} logical CPUs); threads: {threads} for both engines");
        Line($"- model: qwen2, R1-Distill-Qwen-1.5B's shape with {layers} layers (hidden 1536, 12/2 heads, FFN 8960, vocab 151936, untied), random weights");
        Line($"- tests: pp{prompt} (prompt of {prompt} random tokens from an empty cache) and tg{gen} ({gen} single-token decodes from an empty cache)");
        Line($"- {reps} alternating runs per engine, each a fresh process doing a warm-up (at least a second of each test) then one measured pp and tg; medians shown (min-max in brackets)");
        Line("- llama.cpp: llama-bench defaults (mmap, CPU repacking on, n_batch 2048, n_ubatch 512, F16 KV cache), flash attention off; " +
             "SeekSharp: `seek bench` (mmap, ubatch 512, F16 KV cache), DOTNET_PROCESSOR_COUNT set to the thread count");
        Line();
        Line($"- bandwidth: after each pair of engine runs, {threads} threads sum their shares of a 1 GiB buffer (median of 7 sweeps); " +
             "a type's figure is the median over its rounds. Weights read per token: every tensor but the token embedding, of which one row is read");
        Line();
        Line($"| type | file MiB | engine | pp{prompt} t/s | tg{gen} t/s | tg × weights GB/s | of bandwidth | load s | peak RSS MiB |");
        Line("|---|---:|---|---:|---:|---:|---:|---:|---:|");
        var bandwidthLines = new List<string>();
        var pairedLines = new List<string>();

        foreach (string type in types)
        {
            string model = EnsureModel(cache, layers, type);
            double fileGb = new FileInfo(model).Length / 1e9;
            double weightsGb = WeightsReadPerToken(model) / 1e9;
            var bandwidth = new List<double>();
            bool seekCan = SeekCanLoad(model, out string? why);
            var llama = new List<EngineRun>();
            var seek = new List<EngineRun>();
            for (int i = 0; i < reps; i++)
            {
                // Alternate which engine goes first, so neither always finds the page cache warmed by the other.
                bool llamaFirst = i % 2 == 0;
                if (llamaFirst) llama.Add(RunLlama(model, prompt, gen, threads));
                if (seekCan) seek.Add(RunSeek(model, prompt, gen, threads));
                if (!llamaFirst) llama.Add(RunLlama(model, prompt, gen, threads));
                bandwidth.Add(BandwidthProbe.MeasureGBps(threads));
                Console.Error.WriteLine($"[{type} run {i + 1}/{reps}] llama.cpp {Show(llama[^1])}{(seekCan ? $" | SeekSharp {Show(seek[^1])}" : "")} | " +
                                        $"read bandwidth {bandwidth[^1].ToString("F1", CultureInfo.InvariantCulture)} GB/s");
            }
            string mib = (fileGb * 1e9 / 1048576).ToString("F0", CultureInfo.InvariantCulture);
            double gbps = Median(bandwidth, b => b);
            bandwidthLines.Add(string.Create(CultureInfo.InvariantCulture,
                $"- {type}: weights read per token {weightsGb:F2} GB; read bandwidth {gbps:F1} GB/s ({bandwidth.Min():F1}-{bandwidth.Max():F1}), " +
                $"so at most {gbps / weightsGb:F2} t/s"));
            Line(Row(type, mib, "llama.cpp", llama, weightsGb, gbps));
            if (seekCan)
            {
                Line(Row(type, mib, "SeekSharp", seek, weightsGb, gbps));
                Line($"| {type} | | **ratio** | **{Ratio(seek, llama, r => r.PromptTps)}** | **{Ratio(seek, llama, r => r.GenerationTps)}** | | | " +
                     $"{Ratio(seek, llama, r => r.LoadSeconds)} | {Ratio(seek, llama, r => r.PeakRssMb)} |");
            }
            else
                Line($"| {type} | | SeekSharp | n/a | n/a | | | | {why} |");
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
        Line($"- load average (1/5/15 min) at start: {startLoad}; at end: {LoadAverage()}. A load above the thread count means other jobs " +
             "competed for the CPUs: llama.cpp's worker threads spin at barriers and lose far more than SeekSharp then, so such runs favour SeekSharp; " +
             "compare engines only on runs made at low load.");
        Line();
        Line("Ratios are SeekSharp / llama.cpp of the medians: above 1 is faster for t/s; below 1 is better for load time and RSS.");
        if (outFile is not null) File.WriteAllText(outFile, report.ToString());
        return 0;
    }

    // F16 is written by the tests' model builder (GgufWriter); the other types by seek's quantizer, whose output the
    // conformance tests prove byte-identical to llama.cpp's quantizer for these mixes.
    private static string EnsureModel(string cache, int layers, string type)
    {
        string path = Path.Combine(cache, $"r1-distill-qwen-1.5b-shape-L{layers}-{type}.gguf");
        if (File.Exists(path)) return path;
        string f16 = Path.Combine(cache, $"r1-distill-qwen-1.5b-shape-L{layers}-F16.gguf");
        var clock = Stopwatch.StartNew();
        if (!File.Exists(f16))
        {
            Console.Error.WriteLine($"writing {f16} ...");
            TinyModelBuilder.Build(PeerShape.R1DistillQwen15B(layers), f16 + ".tmp");
            File.Move(f16 + ".tmp", f16);
            Console.Error.WriteLine($"  {clock.Elapsed.TotalSeconds:F0} s");
        }
        if (type == "F16") return path;
        var mix = QuantizationRecipe.Parse(type);
        Console.Error.WriteLine($"writing {path} ...");
        clock.Restart();
        GgufQuantizer.Quantize(f16, path + ".tmp", mix);
        File.Move(path + ".tmp", path);
        Console.Error.WriteLine($"  {clock.Elapsed.TotalSeconds:F0} s");
        return path;
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

    private static EngineRun RunLlama(string model, int p, int n, int threads) =>
        Child(Environment.ProcessPath!, [Path.Combine(AppContext.BaseDirectory, "SeekSharp.PeerBenchmark.dll"), "llama-child", model, $"{p}", $"{n}", $"{threads}"], null, dll: true);

    private static EngineRun RunSeek(string model, int p, int n, int threads) =>
        Child("dotnet", [Path.Combine(AppContext.BaseDirectory, "seek.dll"), "bench", "-m", model, "-p", $"{p}", "-n", $"{n}", "-r", "1", "--json"],
              threads, dll: false);

    private static PairedGeneration.Result RunPaired(string model, int threads, int rounds, int block) =>
        JsonSerializer.Deserialize<PairedGeneration.Result>(ChildOutput("dotnet",
            [Path.Combine(AppContext.BaseDirectory, "SeekSharp.PeerBenchmark.dll"), "paired-child", model, $"{threads}", $"{rounds}", $"{block}"], threads))!;

    private static EngineRun Child(string exe, string[] args, int? processorCount, bool dll) =>
        JsonSerializer.Deserialize<EngineRun>(ChildOutput(dll ? "dotnet" : exe, args, processorCount))!;

    /// <summary>Runs a child process and returns the last line it printed on stdout.</summary>
    private static string ChildOutput(string exe, string[] args, int? processorCount)
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
        return stdout.Result.Trim().Split('\n')[^1];
    }

    private static string Row(string type, string mib, string engine, List<EngineRun> runs, double weightsGb, double bandwidthGbps)
    {
        double moved = Median(runs, r => r.GenerationTps) * weightsGb;
        return $"| {type} | {mib} | {engine} | {Stat(runs, r => r.PromptTps, "F1")} | {Stat(runs, r => r.GenerationTps, "F2")} | " +
               $"{moved.ToString("F1", CultureInfo.InvariantCulture)} | {(moved / bandwidthGbps * 100).ToString("F0", CultureInfo.InvariantCulture)} % | " +
               $"{Stat(runs, r => r.LoadSeconds, "F2")} | {Stat(runs, r => r.PeakRssMb, "F0")} |";
    }

    // A decode step reads every weight once, except the token embedding, of which it reads one row; a model without
    // an output matrix reads the whole embedding again as its output (tied weights).
    private static long WeightsReadPerToken(string model)
    {
        using var f = GgufFile.Open(model);
        bool tied = f.FindTensor("output.weight") is null;
        return f.Tensors.Where(t => tied || t.Name != "token_embd.weight").Sum(t => t.ByteSize);
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

    private static string Show(EngineRun r) =>
        string.Create(CultureInfo.InvariantCulture, $"pp {r.PromptTps:F1} tg {r.GenerationTps:F2} t/s, load {r.LoadSeconds:F2} s, RSS {r.PeakRssMb:F0} MiB");

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ')[..3]) : "?";

    private static string CpuName() =>
        File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':')[1].Trim() ?? "?" : "?";

    private static int IntArg(string[] args, string name, int dflt) => StringArg(args, name) is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : dflt;

    private static string? StringArg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}

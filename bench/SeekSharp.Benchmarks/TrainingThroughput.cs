using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using System.Text.RegularExpressions;
using SeekSharp.Kernels;
using SeekSharp.Kernels.Simd;
using SeekSharp.Training.Model;
using SeekSharp.Training.Optim;
using SeekSharp.Training.Recipes.Common;

namespace SeekSharp.Benchmarks;

/// <summary>
/// The machine a training-throughput figure belongs to: CPU model, processor count and the vector tier the GEMM and
/// the peak probe run at. MFU divides by a peak that depends on all three, so a figure is only meaningful beside them.
/// </summary>
/// <param name="CpuModel"><c>/proc/cpuinfo</c>'s "model name" (or "unknown CPU").</param>
/// <param name="CpuId">x86 family and model (which tell CPU generations apart that share a model name), or empty.</param>
/// <param name="Processors">Logical processors the process sees, which is also how many threads it trains and probes with.</param>
/// <param name="Tile">The GEMM register tile <see cref="SimdCapabilities.Best"/> selects here.</param>
internal sealed record TrainingMachine(string CpuModel, string CpuId, int Processors, GemmTileKind Tile)
{
    public static TrainingMachine Current()
    {
        string model = "unknown CPU", family = "", cpuModel = "";
        if (File.Exists("/proc/cpuinfo"))
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
            {
                int colon = line.IndexOf(':');
                if (colon < 0) continue;
                string key = line[..colon].Trim(), value = line[(colon + 1)..].Trim();
                if (key == "model name" && model == "unknown CPU") model = value;
                else if (key == "cpu family" && family.Length == 0) family = value;
                else if (key == "model" && cpuModel.Length == 0) cpuModel = value;
            }
        }
        string id = family.Length > 0 && cpuModel.Length > 0 ? $"family {family} model {cpuModel}" : "";
        return new TrainingMachine(model, id, Environment.ProcessorCount, GemmTiles.For(SimdCapabilities.Best));
    }

    /// <summary>Short tier name for the results folder: two machines with one model name but different tiers have different peaks.</summary>
    public string TierSlug => Tile switch
    {
        GemmTileKind.Vector512 => "avx512",
        GemmTileKind.Vector256 => Avx2.IsSupported ? "avx2" : "vector256",
        GemmTileKind.Vector128 => AdvSimd.IsSupported ? "neon" : "vector128",
        _ => "scalar",
    };

    /// <summary>Vector width in bits of the tier in use (32 for scalar floats).</summary>
    public int VectorBits => Tile switch
    {
        GemmTileKind.Vector512 => 512,
        GemmTileKind.Vector256 => 256,
        GemmTileKind.Vector128 => 128,
        _ => 32,
    };

    public string TierDescription => Tile switch
    {
        GemmTileKind.Vector512 => "AVX-512 (Vector512, 12 × 16 GEMM tile)",
        GemmTileKind.Vector256 => Avx2.IsSupported ? "AVX2 + FMA (Vector256, 6 × 16 GEMM tile)" : "Vector256 (6 × 16 GEMM tile)",
        GemmTileKind.Vector128 => AdvSimd.IsSupported ? "NEON (Vector128, 6 × 8 GEMM tile)" : "Vector128 (6 × 8 GEMM tile)",
        _ => "scalar (4 × 4 GEMM tile)",
    };

    /// <summary>The runtime's own checks, which show why a tier was chosen (AVX-512F present but Vector512 off, say).</summary>
    public static string RuntimeChecks =>
        $"Vector512.IsHardwareAccelerated {Vector512.IsHardwareAccelerated}, Avx512F.IsSupported {Avx512F.IsSupported}, " +
        $"Avx2.IsSupported {Avx2.IsSupported}, Fma.IsSupported {Fma.IsSupported}";

    /// <summary>"AMD EPYC", AVX-512, 2 processors -> "amd-epyc-avx512-2cpu": the folder under bench/results/.</summary>
    public string Slug => $"{Regex.Replace(CpuModel.ToLowerInvariant(), "[^a-z0-9]+", "-").Trim('-')}-{TierSlug}-{Processors}cpu";
}

/// <summary>
/// <c>--train</c>: training throughput of the bundled model's shape (models/seeksharp-r1-tiny.gguf, with the batch
/// and sequence length of models/configs/pretrain.json) and its model FLOPs utilisation,
/// MFU = 6 · N · tokens/s ÷ peak FP32 FLOP/s (6 = forward 2 + backward 4 FLOPs per parameter and token, Kaplan et al.
/// 2020), with N the parameters that take part in a matrix product: all of them but the input token embedding, a row
/// lookup (nanoGPT's and PaLM's convention). The peak is <c>Gemm.MeasurePeakFlops</c> on every processor, measured
/// in the same process just before the timed steps.
/// </summary>
/// <remarks>
/// A console mode rather than a BenchmarkDotNet class: one optimizer step takes about a second, so BenchmarkDotNet's
/// pilot and warmup stages would take minutes for no better figure. Steps run on random tokens (the cost of a dense
/// model does not depend on which tokens it sees) with the run's batch and sequence length. Wall time is the headline;
/// tokens per CPU-second × processors is reported beside it, which shows how much other processes on a shared machine took.
/// </remarks>
internal static class TrainingThroughput
{
    public static string Run(string configPath, string bundledModel, int steps, TrainingMachine machine)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        var config = TrainConfig.Load(configPath);
        // The bundled model's own shape when it exists: its trained tokenizer may stop below the configured vocabulary.
        var shape = File.Exists(bundledModel) ? TransformerGguf.ReadConfig(bundledModel) : config.Model with { VocabSize = config.Tokenizer.VocabSize };
        string source = File.Exists(bundledModel) ? $"`{Path.GetFileName(bundledModel)}`, batch and length from `{Path.GetFileName(configPath)}`" : $"`{Path.GetFileName(configPath)}`";
        int b = config.BatchSize, t = config.SeqLen, n = b * t;
        var model = new Transformer(shape, b, t);
        model.InitializeWeights(new TrainingRandom(1));
        var trainer = new Trainer(model, new AdamWOptions { LearningRate = 1e-4f }, new LearningRateSchedule(), 1);
        var rng = new Random(1);
        var tokens = new int[n];
        var targets = new int[n];
        var weights = new float[n];
        Array.Fill(weights, 1f);
        for (int i = 0; i < n; i++) { tokens[i] = rng.Next(shape.VocabSize); targets[i] = rng.Next(shape.VocabSize); }

        string loadBefore = LoadAverage();
        for (int i = 0; i < 2; i++) trainer.TrainStep(tokens, targets, weights, b, t); // warm-up: JIT tiers, page faults

        // The denominator, probed here rather than read from a file: the tier the runtime picked in this process (and
        // the clock the cores run at now) is what the timed steps get. Best of 3: the probe keeps each thread's
        // fastest 2 ms window, so other load can only lower a run, never raise it.
        int cores = machine.Processors;
        var probes = Enumerable.Range(0, 3).Select(_ => Gemm.MeasurePeak(cores, TimeSpan.FromMilliseconds(500))).ToList();
        double peak = probes.Max(r => r.PerCoreSum), peakTogether = probes.Max(r => r.Concurrent);

        var seconds = new double[steps];
        var process = Process.GetCurrentProcess();
        process.Refresh();
        var cpuStart = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++)
        {
            long start = Stopwatch.GetTimestamp();
            trainer.TrainStep(tokens, targets, weights, b, t);
            seconds[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        double wallSeconds = wall.Elapsed.TotalSeconds;
        process.Refresh();
        double cpuSeconds = (process.TotalProcessorTime - cpuStart).TotalSeconds;
        string loadAfter = LoadAverage();

        Array.Sort(seconds);
        double median = steps % 2 == 1 ? seconds[steps / 2] : (seconds[steps / 2 - 1] + seconds[steps / 2]) / 2, best = seconds[0];
        double tpsMedian = n / median, tpsBest = n / best, tpsMean = (double)n * steps / wallSeconds;
        double tpsCpu = (double)n * steps / cpuSeconds * cores;

        long all = model.ParameterCount;
        // The input embedding only selects rows, no multiply-adds. Tied, the same matrix is the output projection, a
        // [D, V] product per token, so it stays in once (ParameterCount already holds it once).
        long embedding = shape.TiedEmbeddings ? 0 : (long)shape.VocabSize * shape.EmbeddingLength;
        long p = all - embedding;
        // PaLM (Chowdhery et al. 2022, appendix B): 12 · L · H · Dh · T per token for QKᵀ and AV, forward and backward,
        // over the full T × T score matrix (the causal mask's skipped half is not subtracted). H · Dh = D here.
        double attention = 12.0 * shape.BlockCount * shape.HeadCount * shape.HeadDim * t;
        double Mfu(double tps) => 6.0 * p * tps / peak;
        double MfuAttention(double tps) => (6.0 * p + attention) * tps / peak;

        // Above ~0.75 of the processors, other processes held a good part of a core during the run (1.5 on 2 cores).
        bool loaded = LoadOne(loadBefore) > 0.75 * cores || LoadOne(loadAfter) > 0.75 * cores;
        string loadNote = loaded
            ? $"**Loaded machine**: the 1-minute load average was above {0.75 * cores:F1} on {cores} processors, so other processes took CPU time during the run and the wall-clock rows are below what this code reaches alone. The per-CPU-second row moves with the load too (a thread waiting for a descheduled one uses no CPU time, and sharing changes caches and clocks): read it as a hint, not a bound."
            : "The load average stayed below 0.75 per processor.";
        string cpuId = machine.CpuId.Length > 0 ? $" ({machine.CpuId})" : "";
        string tied = shape.TiedEmbeddings ? "tied (the shared matrix counted once, as the output projection)" : "untied";
        return $"""
            # Training throughput and MFU (`--train`)

            Machine: **{machine.CpuModel}**{cpuId}, {cores} processors, SIMD tier **{machine.TierDescription}**, {machine.VectorBits}-bit vectors
            ({TrainingMachine.RuntimeChecks}).
            Peak FP32: **{peak / 1e9:F1} GFLOP/s**, measured in this process just before the timed steps
            (`Gemm.MeasurePeakFlops` FMA loop at the same tier, {cores} threads, best of 3 × 0.5 s; the fastest 2 ms with all
            threads at once: {peakTogether / 1e9:F1} GFLOP/s).

            Model: the bundled model's shape from {source}: V {shape.VocabSize}, D {shape.EmbeddingLength}, L {shape.BlockCount},
            H {shape.HeadCount} / Hkv {shape.HeadCountKv}, F {shape.FeedForwardLength}, {tied}: {all:N0} parameters, of which
            **N = {p:N0}** count for MFU (all but the {embedding:N0}-parameter input token embedding, a lookup without
            matrix products; the output projection stays in). One optimizer step = forward, backward, clipping and AdamW on
            B {b} × T {t} = {n:N0} tokens, {cores} threads (shared pool). {steps} timed steps after 2 warm-up steps.

            MFU (6N) = 6 · N · tokens/s ÷ peak. MFU (6N + attention) adds PaLM's 12 · L · H · Dh · T =
            {attention:N0} FLOPs per token for the attention scores and their weighted sum (full T × T, forward and backward).

            | Measure | Step time (s) | Tokens/s | MFU (6N) | MFU (6N + attention) |
            |---|---:|---:|---:|---:|
            | median step | {median:F3} | {tpsMedian:F0} | {Mfu(tpsMedian):P1} | {MfuAttention(tpsMedian):P1} |
            | fastest step | {best:F3} | {tpsBest:F0} | {Mfu(tpsBest):P1} | {MfuAttention(tpsBest):P1} |
            | mean over the run (wall) | {wallSeconds / steps:F3} | {tpsMean:F0} | {Mfu(tpsMean):P1} | {MfuAttention(tpsMean):P1} |
            | per CPU-second × {cores} processors | | {tpsCpu:F0} | {Mfu(tpsCpu):P1} | {MfuAttention(tpsCpu):P1} |

            CPU time used by the process over the timed steps: {cpuSeconds:F1} s in {wallSeconds:F1} s wall ({cpuSeconds / wallSeconds:F2} of {cores} processors).
            Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; load average (1, 5, 15 min) before the run: {loadBefore}, after it: {loadAfter}.
            {loadNote}

            """;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    private static double LoadOne(string load) =>
        double.TryParse(load.Split(' ')[0], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v) ? v : 0;
}

using System.Diagnostics;
using SeekSharp.Training.Model;
using SeekSharp.Training.Optim;
using SeekSharp.Training.Recipes.Common;

namespace SeekSharp.Benchmarks;

/// <summary>
/// <c>--train</c>: training throughput of the bundled model's shape (models/seeksharp-r1-tiny.gguf, with the batch
/// and sequence length of models/configs/pretrain.json) and its model
/// FLOPs utilisation, MFU = 6 · N · tokens/s ÷ peak FP32 FLOP/s (N parameters; 6 = forward 2 + backward 4 FLOPs per
/// parameter and token, Kaplan et al. 2020), the peak from <c>Gemm.MeasurePeakFlops</c> on every core.
/// </summary>
/// <remarks>
/// A console mode rather than a BenchmarkDotNet class: one optimizer step takes about a second, so BenchmarkDotNet's
/// pilot and warmup stages would take minutes for no better figure. Steps run on random tokens (the cost of a dense
/// model does not depend on which tokens it sees) with the run's batch and sequence length. Wall time is the headline;
/// tokens per CPU-second × cores is reported beside it, which shows how much other processes on a shared machine took.
/// The 6N figure leaves out attention scores (12 · L · T · D per token, listed separately), as the issue defines MFU.
/// </remarks>
internal static class TrainingThroughput
{
    public static string Run(string configPath, string bundledModel, int steps)
    {
        var config = TrainConfig.Load(configPath);
        // The bundled model's own shape when it exists: its trained tokenizer may stop below the configured vocabulary.
        var shape = File.Exists(bundledModel) ? TransformerGguf.ReadConfig(bundledModel) : config.Model.ToTransformerConfig(config.Tokenizer.VocabSize);
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

        for (int i = 0; i < 2; i++) trainer.TrainStep(tokens, targets, weights, b, t); // warm-up: JIT tiers, page faults
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

        int cores = Environment.ProcessorCount;
        double peak = Enumerable.Range(0, 3).Max(_ => SeekSharp.Kernels.Gemm.MeasurePeakFlops(cores, TimeSpan.FromMilliseconds(500)));
        Array.Sort(seconds);
        double median = seconds[steps / 2], best = seconds[0];
        double tpsMedian = n / median, tpsBest = n / best, tpsMean = (double)n * steps / wallSeconds;
        double tpsCpu = (double)n * steps / cpuSeconds * cores;
        long p = model.ParameterCount;
        double attention = 12.0 * shape.Layers * t * shape.Dim; // QKᵀ and AV, forward and backward, per token
        double Mfu(double tps) => 6.0 * p * tps / peak;
        double MfuAttention(double tps) => (6.0 * p + attention) * tps / peak;
        string load = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
        return $"""
            # Training throughput and MFU (`--train`)

            Model: the bundled model's shape from {source}: V {shape.VocabSize}, D {shape.Dim}, L {shape.Layers},
            H {shape.Heads} / Hkv {shape.KvHeads}, F {shape.FfnDim}, untied: **{p:N0} parameters**. One optimizer step = forward,
            backward, clipping and AdamW on B {b} × T {t} = {n:N0} tokens, {cores} threads (shared pool). {steps} timed steps after 2 warm-up steps.
            Peak FP32: {peak / 1e9:F1} GFLOP/s (`Gemm.MeasurePeakFlops`, {cores} threads, best of 3 × 0.5 s).

            | Measure | Step time (s) | Tokens/s | MFU (6N) | MFU (6N + attention) |
            |---|---:|---:|---:|---:|
            | median step | {median:F3} | {tpsMedian:F0} | {Mfu(tpsMedian):P1} | {MfuAttention(tpsMedian):P1} |
            | fastest step | {best:F3} | {tpsBest:F0} | {Mfu(tpsBest):P1} | {MfuAttention(tpsBest):P1} |
            | mean over the run (wall) | {wallSeconds / steps:F3} | {tpsMean:F0} | {Mfu(tpsMean):P1} | {MfuAttention(tpsMean):P1} |
            | per CPU-second × {cores} cores | | {tpsCpu:F0} | {Mfu(tpsCpu):P1} | {MfuAttention(tpsCpu):P1} |

            CPU time used by the process over the timed steps: {cpuSeconds:F1} s in {wallSeconds:F1} s wall ({cpuSeconds / wallSeconds:F2} of {cores} cores).
            Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; load average before the run: {load}.

            """;
    }
}

using System.Diagnostics;
using System.Text.Json.Serialization;
using LLama.Native;
using SeekSharp.Inference;
using SeekSharp.Models;

namespace SeekSharp.PeerBenchmark;

/// <summary>
/// Generation of both engines measured in pairs inside one process: each round runs a block of single-token decodes
/// from an empty cache on one engine and then the same block on the other (the order alternates), both on the same
/// mapped file, and the figure is the median of the per-round ratios.
/// </summary>
/// <remarks>
/// Decode streams every weight once per token, so its speed follows the memory bandwidth of the moment, and on a
/// shared VM that moves by ±30 % within minutes. The main table compares medians of runs made tens of seconds apart in
/// separate processes; here the two halves of a pair are a few seconds apart, so most of that drift cancels in the
/// ratio. What it cannot show: load time and RSS (one process holds both engines), and each engine's idle threads
/// (llama.cpp's polling workers, SeekSharp's 50 µs spin) may take a little from the other just after a hand-over,
/// which the alternating order spreads over both.
/// </remarks>
internal static class PairedGeneration
{
    public sealed record Result(
        [property: JsonPropertyName("llama_tps")] double LlamaTps,
        [property: JsonPropertyName("seek_tps")] double SeekTps,
        [property: JsonPropertyName("ratio")] double MedianRatio,
        [property: JsonPropertyName("ratio_q1")] double LowerQuartile,
        [property: JsonPropertyName("ratio_q3")] double UpperQuartile,
        [property: JsonPropertyName("seek_ahead")] int SeekAhead,
        [property: JsonPropertyName("rounds")] int Rounds);

    public static Result Run(string model, int threads, int rounds, int block)
    {
        LlamaCppChild.Initialize();
        using var weights = LlamaCppChild.LoadWeights(model);
        using var llama = LlamaCppChild.CreateContext(weights, block + 16, threads);
        using var seekModel = Model.Load(model);
        using var seek = seekModel.CreateContext(new ContextOptions { ContextLength = block + 16, BatchSize = 1, Threads = threads });

        var rng = new Random(42);
        int vocab = seekModel.Config.VocabSize;
        var llamaBatch = new LLamaBatch();
        var seekBatch = new Batch(1);
        double Llama(int count) => LlamaCppChild.Generate(llama, weights, llamaBatch, rng, count);
        double Seek(int count)
        {
            seek.Cache.Clear(0);
            var c = Stopwatch.StartNew();
            for (int i = 0; i < count; i++)
            {
                seekBatch.Clear();
                seekBatch.Add(rng.Next(vocab), i, 0, wantLogits: true);
                seek.Decode(seekBatch);
            }
            return count / c.Elapsed.TotalSeconds;
        }

        // The same warm-up as the main table's: at least a second of each engine, tiered JIT included.
        var warmUp = Stopwatch.StartNew();
        while (warmUp.Elapsed.TotalSeconds < 2)
        {
            Llama(4);
            Seek(4);
        }
        var llamaTps = new List<double>();
        var seekTps = new List<double>();
        var ratios = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            double l, s;
            if (r % 2 == 0) { l = Llama(block); s = Seek(block); }
            else { s = Seek(block); l = Llama(block); }
            llamaTps.Add(l);
            seekTps.Add(s);
            ratios.Add(s / l);
        }
        double Quantile(List<double> v, double q) => v.Order().ElementAt((int)(q * (v.Count - 1) + 0.5));
        return new Result(Quantile(llamaTps, 0.5), Quantile(seekTps, 0.5), Quantile(ratios, 0.5), Quantile(ratios, 0.25), Quantile(ratios, 0.75),
                          ratios.Count(x => x > 1), rounds);
    }
}

using System.Diagnostics;
using System.Text.Json;
using LLama.Native;

namespace SeekSharp.PeerBenchmark;

/// <summary>
/// The llama.cpp side, run in its own process so its peak RSS is its own: llama-bench's pp and tg tests through
/// LLamaSharp with llama-bench's defaults (memory-mapped weights, CPU repacking on, n_batch 2048, n_ubatch 512,
/// F16 KV cache) except flash attention, which is off as in SeekSharp.
/// </summary>
internal static class LlamaCppChild
{
    public static int Run(string model, int p, int n, int threads)
    {
        Initialize();
        var clock = Stopwatch.StartNew();
        using var weights = LoadWeights(model);
        using var context = CreateContext(weights, Math.Max(p, n) + 16, threads);
        double load = clock.Elapsed.TotalSeconds;

        var rng = new Random(42);
        int vocab = weights.Vocab.Count;
        var batch = new LLamaBatch();
        double Prompt(int count)
        {
            context.MemoryClear(true);
            var c = Stopwatch.StartNew();
            for (int start = 0; start < count; start += 2048)
            {
                batch.Clear();
                for (int i = start; i < Math.Min(count, start + 2048); i++)
                    batch.Add(rng.Next(vocab), i, LLamaSeqId.Zero, logits: i == count - 1);
                Decode(context, batch);
            }
            return count / c.Elapsed.TotalSeconds;
        }
        double Generate(int count) => LlamaCppChild.Generate(context, weights, batch, rng, count);

        // Warm-up as in seek bench: a ubatch, and then a few tokens, each repeated for at least a second.
        if (p > 0)
        {
            var warmUp = Stopwatch.StartNew();
            do Prompt(Math.Min(p, 512));
            while (warmUp.Elapsed.TotalSeconds < 1);
        }
        if (n > 0)
        {
            var warmUp = Stopwatch.StartNew();
            do Generate(Math.Min(n, 4));
            while (warmUp.Elapsed.TotalSeconds < 1);
        }
        double pp = p > 0 ? Prompt(p) : 0, tg = n > 0 ? Generate(n) : 0;
        Console.Out.WriteLine(JsonSerializer.Serialize(new EngineRun(pp, tg, load, PeakRssMb())));
        return 0;
    }

    /// <summary>tg: <paramref name="count"/> single-token decodes from an empty cache (BOS, then random ids), in tokens per second.</summary>
    public static double Generate(SafeLLamaContextHandle context, SafeLlamaModelHandle weights, LLamaBatch batch, Random rng, int count)
    {
        context.MemoryClear(true);
        int token = weights.Vocab.BOS is { } bos ? (int)bos : 0;
        var c = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            batch.Clear();
            batch.Add(token, i, LLamaSeqId.Zero, logits: true);
            Decode(context, batch);
            token = rng.Next(weights.Vocab.Count);
        }
        return count / c.Elapsed.TotalSeconds;
    }

    private static void Decode(SafeLLamaContextHandle context, LLamaBatch batch)
    {
        var r = context.Decode(batch);
        if (r != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode failed: {r}");
    }

    /// <summary>Loads the native library with its logging silenced.</summary>
    public static void Initialize()
    {
        NativeLibraryConfig.All.WithLogCallback((_, _) => { });
        NativeApi.llama_empty_call();
        NativeLogConfig.llama_log_set((_, _) => { });
    }

    public static SafeLlamaModelHandle LoadWeights(string model)
    {
        var mp = LLamaModelParams.Default();
        mp.n_gpu_layers = 0;
        return SafeLlamaModelHandle.LoadFromFile(model, mp);
    }

    /// <summary>A context with llama-bench's defaults but flash attention off, <paramref name="positions"/> long.</summary>
    public static SafeLLamaContextHandle CreateContext(SafeLlamaModelHandle weights, int positions, int threads)
    {
        var cp = LLamaContextParams.Default();
        cp.n_ctx = (uint)positions;
        cp.n_batch = 2048;
        cp.n_ubatch = 512;
        cp.n_seq_max = 1;
        cp.n_threads = threads;
        cp.n_threads_batch = threads;
        cp.llama_flash_attn_type = LLamaFlashAttentionType.LLAMA_FLASH_ATTENTION_TYPE_DISABLED;
        cp.no_perf = true;
        return SafeLLamaContextHandle.Create(weights, cp);
    }

    private static double PeakRssMb()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line[6..].Trim().Split(' ')[0]) / 1024.0;
        return 0;
    }
}

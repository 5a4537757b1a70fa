using System.Diagnostics;
using System.Text.Json;
using LLama.Native;

namespace SeekSharp.PeerBenchmark;

/// <summary>
/// The llama.cpp side, run in its own process so its peak RSS is its own: llama-bench's pp and tg tests through
/// LLamaSharp with llama-bench's defaults (memory-mapped weights, CPU repacking on, n_batch 2048, n_ubatch 512,
/// F16 KV cache) except flash attention, which is off as in SeekSharp. With depths (llama-bench's -d) each depth's
/// random tokens are decoded once, untimed, and the cache is cut back to them before each measured test, as
/// <c>seek bench -d</c> does; one JSON line per depth.
/// </summary>
internal static class LlamaCppChild
{
    public static int Run(string model, int p, int n, int threads, int[] depths)
    {
        Initialize();
        var clock = Stopwatch.StartNew();
        using var weights = LoadWeights(model);
        using var context = CreateContext(weights, depths.Max() + Math.Max(p, n) + 16, threads);
        double load = clock.Elapsed.TotalSeconds;

        var rng = new Random(42);
        int vocab = weights.Vocab.Count;
        var batch = new LLamaBatch();
        // Random tokens at positions depth..depth+count-1, in batches of n_batch as llama-bench's test_prompt.
        void Fill(int depth, int count)
        {
            for (int start = 0; start < count; start += 2048)
            {
                batch.Clear();
                for (int i = start; i < Math.Min(count, start + 2048); i++)
                    batch.Add(rng.Next(vocab), depth + i, LLamaSeqId.Zero, logits: i == count - 1);
                Decode(context, batch);
            }
        }
        // Each test starts with the cache cut back to `depth` positions (0: empty).
        double Prompt(int count, int depth = 0)
        {
            CutBack(context, depth);
            var c = Stopwatch.StartNew();
            Fill(depth, count);
            return count / c.Elapsed.TotalSeconds;
        }
        double Generate(int count, int depth = 0) => LlamaCppChild.Generate(context, weights, batch, rng, count, depth);

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
        var runs = new List<EngineRun>();
        foreach (int depth in depths)
        {
            context.MemoryClear(true);
            if (depth > 0) Fill(0, depth);
            double pp = p > 0 ? Prompt(p, depth) : 0, tg = n > 0 ? Generate(n, depth) : 0;
            runs.Add(new EngineRun(pp, tg, load, 0, depth));
        }
        // The peak covers every depth, as seek bench's does.
        double rss = PeakRssMb();
        foreach (var run in runs)
            Console.Out.WriteLine(JsonSerializer.Serialize(run with { PeakRssMb = rss }));
        return 0;
    }

    /// <summary>
    /// tg: <paramref name="count"/> single-token decodes after <paramref name="depth"/> cached positions (from an empty
    /// cache: BOS first; then random ids), in tokens per second.
    /// </summary>
    public static double Generate(SafeLLamaContextHandle context, SafeLlamaModelHandle weights, LLamaBatch batch, Random rng, int count, int depth = 0)
    {
        CutBack(context, depth);
        int token = depth == 0 && weights.Vocab.BOS is { } bos ? (int)bos : rng.Next(weights.Vocab.Count);
        var c = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            batch.Clear();
            batch.Add(token, depth + i, LLamaSeqId.Zero, logits: true);
            Decode(context, batch);
            token = rng.Next(weights.Vocab.Count);
        }
        return count / c.Elapsed.TotalSeconds;
    }

    // Forgets positions >= depth of sequence 0 (all of them for depth 0).
    private static void CutBack(SafeLLamaContextHandle context, int depth)
    {
        if (depth == 0)
            context.MemoryClear(true);
        else
            context.MemorySequenceRemove(LLamaSeqId.Zero, depth, -1);
    }

    private static void Decode(SafeLLamaContextHandle context, LLamaBatch batch)
    {
        var r = context.Decode(batch);
        if (r != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode failed: {r}");
    }

    private static bool _initialized;

    /// <summary>Loads the native library with its logging silenced (once per process: its configuration is then frozen).</summary>
    public static void Initialize()
    {
        if (_initialized) return;
        _initialized = true;
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

using System.Globalization;

namespace SeekSharp.ServeBenchmark;

/// <summary>The command line, with the defaults of a full run and of <c>--quick</c> (about two minutes on 2 cores).</summary>
internal sealed class Options
{
    public Options(string[] args)
    {
        Args = args;
        Quick = args.Contains("--quick");
        Url = String(args, "--url") is { } url ? new Uri(url) : null;
        Endpoint = String(args, "--endpoint") ?? "/v1/completions";
        ServedModel = String(args, "--served-model");
        ApiKey = String(args, "--api-key");
        Model = String(args, "--model") ?? "tiny";
        Engines = (String(args, "--engines") ?? "seek,llama").Split(',');
        if (Engines.Any(e => e is not ("seek" or "llama"))) throw new ArgumentException("--engines takes seek and/or llama");
        Sweep = (String(args, "--max-concurrency") ?? String(args, "--sweep") ?? (Quick ? "1,8" : "1,2,4,8,16"))
            .Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        string rate = String(args, "--request-rate") ?? "inf";
        RequestRate = rate is "inf" or "infinity" ? double.PositiveInfinity : double.Parse(rate, CultureInfo.InvariantCulture);
        PromptsPerSlot = Int(args, "--prompts-per-slot", 2);
        MinPrompts = Int(args, "--min-prompts", 4);
        InputLength = Int(args, "--input-len", Quick ? 64 : 128);
        RangeRatio = String(args, "--range-ratio") is { } r ? double.Parse(r, CultureInfo.InvariantCulture) : 0.25;
        OutputLength = Int(args, "--output-len", Quick ? 32 : 64);
        PrefixLength = Int(args, "--prefix-len", 1000);
        PrefixSuffix = Int(args, "--prefix-suffix", 32);
        PrefixOutput = Int(args, "--prefix-output", 4);
        PrefixTrials = Int(args, "--prefix-trials", Quick ? 1 : 3);
        Reps = Int(args, "--reps", 1);
        SaveItl = args.Contains("--save-itl");
        Threads = Int(args, "-t", 2);
        BatchSize = Int(args, "--batch-size", 0);
        Seed = Int(args, "--seed", 0);
        Out = String(args, "--out") ?? Path.Combine(Program.RepoRoot(), "bench", "results", "serve");
        Cache = String(args, "--cache") ?? Path.Combine(Path.GetTempPath(), "seeksharp-peer-models");
    }

    public string[] Args { get; }
    public bool Quick { get; }
    public Uri? Url { get; }
    public string Endpoint { get; }
    public string? ServedModel { get; }
    public string? ApiKey { get; }
    /// <summary>tiny (the bundled model), qwen2-1.5b (R1-Distill-Qwen-1.5B's shape, random weights, Q4_K_M) or a GGUF path; over HTTP, the tokenizer prompts are built with.</summary>
    public string Model { get; }
    public string[] Engines { get; }
    public int[] Sweep { get; }
    public double RequestRate { get; }
    /// <summary>Requests per run = max(MinPrompts, PromptsPerSlot × concurrency), so every slot serves a few requests in turn.</summary>
    public int PromptsPerSlot { get; }
    public int MinPrompts { get; }
    public int InputLength { get; }
    public double RangeRatio { get; }
    public int OutputLength { get; }
    public int PrefixLength { get; }
    public int PrefixSuffix { get; }
    public int PrefixOutput { get; }
    public int PrefixTrials { get; }
    /// <summary>In process: the sweep is run this many times over (the same requests), the engines alternating; the ratios take each engine's median.</summary>
    public int Reps { get; }
    /// <summary>Write every ITL sample into the JSON file, not only the aggregates.</summary>
    public bool SaveItl { get; }
    public int Threads { get; }
    /// <summary>The scheduler's token budget per step; 0 keeps its default.</summary>
    public int BatchSize { get; }
    public int Seed { get; }
    public string Out { get; }
    public string Cache { get; }

    public string Mode => Url is null ? "in process" : "HTTP";

    public Workload WorkloadFor(int concurrency) =>
        new(Math.Max(MinPrompts, PromptsPerSlot * concurrency), InputLength, RangeRatio, OutputLength, RequestRate, Seed + concurrency);

    private static int Int(string[] args, string name, int dflt) => String(args, name) is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : dflt;

    private static string? String(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}

using System.CommandLine;
using SeekSharp.Inference;
using SeekSharp.Models;

namespace SeekSharp.Cli.Commands;

/// <summary>How the commands size their inference context: <c>--ctx</c> and <c>--threads</c>.</summary>
internal static partial class Common
{
    /// <summary><c>--ctx/-c</c>: the context length, 0 for the model's own (perplexity's chunk length is also its context).</summary>
    public static Option<int> ContextOption(string description = "Context length (0: the model's, at most 4096)", int defaultValue = 0)
        => new("--ctx", "-c") { Description = description, DefaultValueFactory = _ => defaultValue };

    /// <summary>
    /// Refuses a negative <c>--ctx</c> before the model is loaded; the rest of the check needs the model
    /// (<see cref="CheckContext"/>).
    /// </summary>
    public static void CheckContextLength(long ctx, string flag = "--ctx")
    {
        if (ctx < 0)
            throw new ArgumentException($"{flag} must be a positive number of tokens (or 0 for the model's own length), got {ctx}");
    }

    /// <summary>
    /// Checks <c>--ctx</c> against the model before any memory is committed: 0 means the model's own length (at most
    /// 4096); negative is an error; longer than the model was trained for is allowed with a warning on stderr (as
    /// llama.cpp does; see <see cref="WarnIfBeyondTraining"/>); a KV cache that cannot fit in memory is refused with
    /// its estimated size. Returns the context length the context will have.
    /// </summary>
    public static int CheckContext(Model model, long ctx, string flag = "--ctx", bool warnBeyondTraining = true, int sequences = 1)
    {
        CheckContextLength(ctx, flag);
        var c = model.Config;
        // The commands' contexts take ContextOptions' defaults (length rule, F16 cache), so the sizes are theirs.
        var defaults = new ContextOptions();
        long n = ctx > 0 ? ctx : defaults.LengthFor(c);
        double kvBytes = KvCache.Bytes(c, sequences, n, defaults.KvCacheType);
        long available = AvailableMemoryBytes();
        if (kvBytes > available)
            throw new ArgumentException(
                $"{flag} {n} needs a KV cache of about {FormatBytes(kvBytes)} ({c.BlockCount} layers x {n} positions x {c.CacheLayout.ElementsPerPosition} values in F16), " +
                $"more than the {FormatBytes(available)} of memory available; choose a smaller {flag} (the model was trained on {c.ContextLength})");
        if (n > int.MaxValue)
            throw new ArgumentException($"{flag} {n} is more positions than a context can hold ({int.MaxValue})");
        if (warnBeyondTraining) WarnIfBeyondTraining(c, n, flag);
        return (int)n;
    }

    /// <summary>
    /// Running past the trained context is a warning, not an error: llama.cpp (<c>n_ctx_per_seq &gt; n_ctx_train --
    /// possible training context overflow</c>) and Ollama both run anyway, scripts move flags between these tools, and
    /// the output only degrades once the conversation actually grows past the trained length. Silence is what was wrong.
    /// </summary>
    private static void WarnIfBeyondTraining(ModelConfig c, long n, string flag)
    {
        if (n > c.ContextLength)
            Console.Error.WriteLine($"seek: warning: {flag} {n} is more than the {c.ContextLength} tokens the model was trained on; " +
                                    $"output past token {c.ContextLength} is likely to degrade");
    }

    /// <summary>Memory the process may use: the GC's view of physical memory or the container's limit.</summary>
    private static long AvailableMemoryBytes()
    {
        long total = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return total > 0 ? total : long.MaxValue;
    }

    private static string FormatBytes(double bytes) => bytes switch
    {
        >= 1L << 40 => $"{bytes / (1L << 40):F1} TiB",
        >= 1L << 30 => $"{bytes / (1L << 30):F1} GiB",
        >= 1L << 20 => $"{bytes / (1L << 20):F1} MiB",
        _ => $"{bytes / 1024:F1} KiB",
    };

    /// <summary>
    /// <c>--threads/-t</c> of the commands that decode (<see cref="ContextOptions.Threads"/>; 0 shares the process-wide
    /// pool). seek train's <c>-t</c> is an optional override of its config file's value instead.
    /// </summary>
    public static Option<int> ThreadsOption(string description) => new("--threads", "-t") { Description = description, DefaultValueFactory = _ => 0 };

    /// <summary>Refuses a negative <c>-t</c> before the model is loaded.</summary>
    public static void CheckThreads(int threads)
    {
        if (threads < 0) throw new ArgumentException($"-t must be 0 or more, got {threads}");
    }
}

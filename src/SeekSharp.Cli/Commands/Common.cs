using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using SeekSharp.Gguf;
using SeekSharp.Inference;
using SeekSharp.Inference.Sampling;
using SeekSharp.Models;

namespace SeekSharp.Cli.Commands;

/// <summary>Options and error handling shared by the commands.</summary>
internal static partial class Common
{
    public static Option<bool> JsonOption() => new("--json") { Description = "Print one JSON value on stdout, for scripts" };

    public static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Exit code of a failure the user can act on (bad input, missing file, too little memory...).</summary>
    public const int ExitFailure = 1;
    /// <summary>Exit code of a bug in seek (sysexits.h EX_SOFTWARE, "internal software error").</summary>
    public const int ExitInternalError = 70;
    /// <summary>Exit code after Ctrl+C (128 + SIGINT), as shells report it.</summary>
    public const int ExitCancelled = 130;

    /// <summary>
    /// Runs a command body. Every failure ends as ONE line on stderr and an exit code, never a .NET stack trace:
    /// <list type="bullet">
    /// <item>Expected failures (<see cref="IsUserError"/>: bad or missing files, malformed JSON/GGUF/checkpoints/templates,
    /// out-of-range values, not enough memory for what was asked) print <c>seek: error: MESSAGE</c> and exit 1.</item>
    /// <item>Anything else is a bug in seek (a NullReferenceException or IndexOutOfRangeException cannot be caused by
    /// "wrong input" in correct code: input is validated where it is read, with a message that names it). It prints
    /// <c>seek: internal error: ...</c> with a request to report it and exits 70 (EX_SOFTWARE), so that scripts and
    /// tests can tell "you gave me something wrong" (1) from "seek is broken" (70). The stack trace is useful only to
    /// us, so it is printed only when SEEK_DEBUG is set.</item>
    /// </list>
    /// </summary>
    public static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception caught)
        {
            var e = Unwrap(caught);
            if (e is OperationCanceledException)
            {
                Console.Error.WriteLine("seek: cancelled");
                return ExitCancelled;
            }
            if (IsUserError(e))
            {
                Console.Error.WriteLine($"seek: error: {Describe(e)}");
                return ExitFailure;
            }
            Console.Error.WriteLine($"seek: internal error: {e.GetType().Name}: {OneLine(e.Message)}. This is a bug in seek; please report it " +
                                    "with the command line (run with SEEK_DEBUG=1 for details)");
            if (Environment.GetEnvironmentVariable("SEEK_DEBUG") is { Length: > 0 })
                Console.Error.WriteLine(caught);
            return ExitInternalError;
        }
    }

    /// <summary>
    /// True for exceptions that report a problem with what the user gave or with the machine, not a bug in seek.
    /// ArgumentNullException is excluded on purpose: user input never reaches a method as null, so it is a bug.
    /// OutOfMemoryException counts because the allocations that can fail are the ones the user sized (model, --ctx);
    /// OverflowException because it comes from checked size arithmetic on file metadata.
    /// </summary>
    public static bool IsUserError(Exception e) =>
        e is ArgumentException and not ArgumentNullException
        || e is IOException or UnauthorizedAccessException or InvalidDataException or NotSupportedException or FormatException
        || e is JsonException // includes System.Text.Json's internal JsonReaderException (malformed JSON, nesting too deep)
        || e is GgufFormatException or ModelLoadException or ContextOverflowException
        || e is SeekSharp.Chat.Templates.TemplateException or SeekSharp.Tokenization.TokenizerFormatException
        || e is SeekSharp.Training.Checkpoints.CheckpointException
        || e is OutOfMemoryException or InsufficientExecutionStackException or OverflowException;

    /// <summary>The user-facing text of an expected failure: one line, without .NET's " (Parameter 'x')" suffix.</summary>
    public static string Describe(Exception e) => e switch
    {
        OutOfMemoryException => "out of memory: the model or the requested context does not fit in this machine's memory (try a smaller --ctx)",
        InsufficientExecutionStackException => "the input is nested too deeply to process",
        OverflowException => $"a size in the input is too large to compute with ({OneLine(e.Message)})",
        _ => OneLine(e.Message),
    };

    /// <summary>Collapses a message to one line and drops .NET's parameter-name suffix.</summary>
    public static string OneLine(string message)
    {
        string s = ParameterSuffix().Replace(message, "");
        s = string.Join("; ", s.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return s.Length == 0 ? "(no message)" : s;
    }

    [GeneratedRegex(@" ?\(Parameter '[^']*'\)")]
    private static partial Regex ParameterSuffix();

    private static Exception Unwrap(Exception e)
    {
        while (true)
        {
            if (e is AggregateException { InnerExceptions.Count: 1 } a) e = a.InnerExceptions[0];
            else if (e is System.Reflection.TargetInvocationException { InnerException: { } inner }) e = inner;
            else if (e is TypeInitializationException { InnerException: { } init }) e = init;
            else return e;
        }
    }

    /// <summary>
    /// Checks <c>--ctx</c> against the model before any memory is committed: 0 means the model's own length (at most
    /// 4096); negative is an error; longer than the model was trained for is allowed with a warning on stderr (as
    /// llama.cpp does; see <see cref="WarnIfBeyondTraining"/>); a KV cache that cannot fit in memory is refused with
    /// its estimated size. Returns the context length the context will have.
    /// </summary>
    public static int CheckContext(Model model, long ctx, string flag = "--ctx", bool warnBeyondTraining = true, int sequences = 1)
    {
        if (ctx < 0)
            throw new ArgumentException($"{flag} must be a positive number of tokens (or 0 for the model's own length), got {ctx}");
        var c = model.Config;
        // The commands' contexts take ContextOptions' defaults (length rule, F16 cache), so the sizes are theirs.
        var defaults = new ContextOptions();
        long n = ctx > 0 ? ctx : defaults.LengthFor(c);
        double kvBytes = KvCache.Bytes(c, sequences, n, defaults.KvCacheType);
        long available = AvailableMemoryBytes();
        if (kvBytes > available)
            throw new ArgumentException(
                $"{flag} {n} needs a KV cache of about {FormatBytes(kvBytes)} ({c.BlockCount} layers x {n} positions x {2 * c.HeadCountKv * c.HeadDim} values in F16), " +
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

    /// <summary>Checks sampling flags once, naming the flag and the value the user gave (see <see cref="SamplingOptions.Validate"/>).</summary>
    public static SamplingOptions CheckSampling(SamplingOptions options, Func<string, string> name)
    {
        options.Validate(name);
        return options;
    }

    /// <summary>The command-line flag of each <see cref="SamplingOptions"/> property.</summary>
    public static string SamplingFlag(string property) => property switch
    {
        nameof(SamplingOptions.Temperature) => "--temp",
        nameof(SamplingOptions.TopK) => "--top-k",
        nameof(SamplingOptions.TopP) => "--top-p",
        nameof(SamplingOptions.MinP) => "--min-p",
        nameof(SamplingOptions.RepeatPenalty) => "--repeat-penalty",
        nameof(SamplingOptions.PresencePenalty) => "--presence-penalty",
        nameof(SamplingOptions.FrequencyPenalty) => "--frequency-penalty",
        nameof(SamplingOptions.PenaltyLastN) => "--repeat-last-n",
        _ => "--" + property.ToLowerInvariant(),
    };

    /// <summary>
    /// The sampling flags shared by <c>seek run</c> and <c>seek chat</c> (same names, defaults and checks):
    /// <c>--temp --top-k --top-p --min-p --repeat-penalty --presence-penalty --frequency-penalty --seed/-s</c>.
    /// </summary>
    public sealed class SamplingFlags
    {
        private static readonly SamplingOptions D = new();
        public readonly Option<float> Temp = new("--temp") { Description = "Temperature; 0 is greedy", DefaultValueFactory = _ => D.Temperature };
        public readonly Option<int> TopK = new("--top-k") { Description = "Top-k (0 disables)", DefaultValueFactory = _ => D.TopK };
        public readonly Option<float> TopP = new("--top-p") { Description = "Top-p (1 disables)", DefaultValueFactory = _ => D.TopP };
        public readonly Option<float> MinP = new("--min-p") { Description = "Min-p (0 disables)", DefaultValueFactory = _ => D.MinP };
        public readonly Option<float> Repeat = new("--repeat-penalty") { Description = "Repetition penalty (1 disables)", DefaultValueFactory = _ => D.RepeatPenalty };
        public readonly Option<float> Presence = new("--presence-penalty") { Description = "Presence penalty", DefaultValueFactory = _ => D.PresencePenalty };
        public readonly Option<float> Frequency = new("--frequency-penalty") { Description = "Frequency penalty", DefaultValueFactory = _ => D.FrequencyPenalty };
        public readonly Option<int> Seed = new("--seed", "-s") { Description = "Random seed", DefaultValueFactory = _ => D.Seed };

        /// <summary>Adds the flags to <paramref name="command"/>.</summary>
        public SamplingFlags AddTo(Command command)
        {
            foreach (var o in new Option[] { Temp, TopK, TopP, MinP, Repeat, Presence, Frequency, Seed }) command.Options.Add(o);
            return this;
        }

        /// <summary>The flags' values (defaults where not given), checked with <see cref="CheckSampling"/>.</summary>
        public SamplingOptions Read(ParseResult r) => CheckSampling(new SamplingOptions
        {
            Temperature = r.GetValue(Temp), TopK = r.GetValue(TopK), TopP = r.GetValue(TopP), MinP = r.GetValue(MinP),
            RepeatPenalty = r.GetValue(Repeat), PresencePenalty = r.GetValue(Presence), FrequencyPenalty = r.GetValue(Frequency),
            Seed = r.GetValue(Seed),
        }, SamplingFlag);

        /// <summary>
        /// Replaces in a base (the model's advised defaults in chat) only the values the user gave on the command line;
        /// the values are checked now, before any model is loaded.
        /// </summary>
        public Func<SamplingOptions, SamplingOptions> Overrides(ParseResult r)
        {
            var given = Read(r);
            bool Given(Option o) => r.GetResult(o) is { Implicit: false };
            return s => s with
            {
                Temperature = Given(Temp) ? given.Temperature : s.Temperature,
                TopK = Given(TopK) ? given.TopK : s.TopK,
                TopP = Given(TopP) ? given.TopP : s.TopP,
                MinP = Given(MinP) ? given.MinP : s.MinP,
                RepeatPenalty = Given(Repeat) ? given.RepeatPenalty : s.RepeatPenalty,
                PresencePenalty = Given(Presence) ? given.PresencePenalty : s.PresencePenalty,
                FrequencyPenalty = Given(Frequency) ? given.FrequencyPenalty : s.FrequencyPenalty,
                Seed = Given(Seed) ? given.Seed : s.Seed,
            };
        }
    }

    /// <summary>Most tokens to generate: at least 1 (null: no limit).</summary>
    public static int? CheckMaxTokens(int? value, string flag)
        => value is < 1 ? throw new ArgumentException($"{flag} must be at least 1, got {value}") : value;

    public static void WriteJson<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, Json));
}

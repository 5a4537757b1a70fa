using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using SeekSharp.Gguf;
using SeekSharp.Inference;
using SeekSharp.Models;

namespace SeekSharp.Cli.Commands;

/// <summary>
/// What the commands share, defined once so that every command takes it in the same words: error reporting, exit
/// codes and JSON output (this file); input files and prompt text (Common.Files.cs); --ctx and --threads
/// (Common.Context.cs); sampling flags (Common.Sampling.cs); chat template flags (Common.Template.cs); SIGINT/SIGTERM
/// (Common.Signals.cs). The model, -m or the first argument, is <see cref="DefaultModel"/>.
/// </summary>
internal static partial class Common
{
    public static Option<bool> JsonOption(string description = "Print one JSON value on stdout, for scripts") => new("--json") { Description = description };

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
                ReportError(e);
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
        || e is GgufFormatException or ModelLoadException or ContextOverflowException or SeekSharp.Safetensors.SafetensorsFormatException
        || e is SeekSharp.Chat.Templates.TemplateException or SeekSharp.Tokenization.TokenizerFormatException
        || e is SeekSharp.Training.Checkpoints.CheckpointException
        || e is SeekSharp.Quantization.ImportanceMatrixMismatchException or SeekSharp.Quantization.ImportanceMatrixRequiredException
        || e is SeekSharp.Quantization.NonFiniteWeightException
        || e is OutOfMemoryException or InsufficientExecutionStackException or OverflowException;

    /// <summary>Prints an expected failure (<see cref="IsUserError"/>) as the one line <c>seek: error: MESSAGE</c> on stderr.</summary>
    public static void ReportError(Exception e) => Console.Error.WriteLine($"seek: error: {Describe(e)}");

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

    /// <summary>True when the user wrote <paramref name="option"/> on the command line (not just its default).</summary>
    public static bool IsGiven(ParseResult r, Option option) => r.GetResult(option) is { Implicit: false };

    public static void WriteJson<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, Json));
}

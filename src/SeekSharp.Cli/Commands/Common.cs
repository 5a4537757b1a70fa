using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using SeekSharp.Gguf;
using SeekSharp.Inference;
using SeekSharp.Models;

namespace SeekSharp.Cli.Commands;

/// <summary>Options and error handling shared by the commands.</summary>
internal static class Common
{
    public static Option<string> ModelOption() => new("--model", "-m") { Description = "Path to a GGUF model file", Required = true };
    public static Option<bool> JsonOption() => new("--json") { Description = "Print one JSON value on stdout, for scripts" };

    public static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Runs a command body; any failure the user can act on becomes one line on stderr and exit code 1, never a stack trace.
    /// </summary>
    public static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or GgufFormatException
                                      or ModelLoadException or ContextOverflowException or ArgumentException
                                      or IOException or UnauthorizedAccessException or NotSupportedException or InvalidDataException
                                      or SeekSharp.Chat.Templates.TemplateException or SeekSharp.Tokenization.TokenizerFormatException)
        {
            Console.Error.WriteLine($"seek: error: {e.Message}");
            return 1;
        }
    }

    public static void WriteJson<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, Json));
}

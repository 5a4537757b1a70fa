using System.CommandLine;

namespace SeekSharp.Cli.Commands;

/// <summary>
/// The bundled model (models/seeksharp-r1-tiny.gguf) that <c>seek run</c>, <c>seek chat</c> and <c>seek eval</c> use
/// when no <c>-m</c> is given: looked up in a <c>models</c> folder next to the app or in any folder above it (a
/// repository checkout), then under the current directory and its parents.
/// </summary>
internal static class DefaultModel
{
    public const string FileName = "seeksharp-r1-tiny.gguf";

    /// <summary>A <c>-m</c> option that may be omitted.</summary>
    public static Option<string?> Option() => new("--model", "-m") { Description = $"Path to a GGUF model file (default: the bundled models/{FileName})" };

    /// <summary><paramref name="given"/> when set (it must exist), else the bundled model.</summary>
    /// <exception cref="FileNotFoundException">The given file or the bundled model is missing.</exception>
    public static string Resolve(string? given)
    {
        if (given is not null) return TokenizeCommand.RequireFile(given);
        var searched = new List<string>();
        foreach (string start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "models", FileName);
                if (File.Exists(candidate)) return candidate;
                searched.Add(Path.Combine(dir.FullName, "models"));
            }
        throw new FileNotFoundException(
            $"No model given and the bundled model models/{FileName} was not found (looked next to the app, in the current directory and their parents). " +
            "Pass -m PATH to a GGUF file, or run scripts/train-default-model.sh to train the bundled model.");
    }
}

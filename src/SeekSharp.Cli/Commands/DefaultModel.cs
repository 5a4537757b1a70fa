using System.CommandLine;
using SeekSharp.Store;

namespace SeekSharp.Cli.Commands;

/// <summary>
/// How every command that reads a model gets it: <c>-m PATH</c> or the first positional argument (<c>seek run MODEL
/// -p …</c>, like <c>ollama run NAME</c>), and when neither is given the bundled model (models/seeksharp-r1-tiny.gguf),
/// looked up in a <c>models</c> folder next to the app or in any folder above it (a repository checkout), then under the
/// current directory and its parents. A given model that is not an existing path may be a pulled model's name
/// (<c>seek run deepseek-r1:1.5b</c>), looked up in the model store (<c>--models-dir</c>, <c>SEEK_MODELS</c>); nothing is
/// downloaded implicitly.
/// </summary>
internal static class DefaultModel
{
    public const string FileName = "seeksharp-r1-tiny.gguf";

    /// <summary>A <c>-m</c> option that may be omitted.</summary>
    public static Option<string?> Option() => new("--model", "-m") { Description = $"Path to a GGUF model file, a Hugging Face model folder or a pulled model's name (default: the bundled models/{FileName})" };

    /// <summary>The model as an optional first positional argument, the same as <c>-m</c>.</summary>
    public static Argument<string?> Argument()
    {
        var argument = new Argument<string?>("model")
        {
            Description = $"Path to a GGUF model file, a Hugging Face model folder or a pulled model's name (seek list), instead of -m (default: the bundled models/{FileName})",
            Arity = ArgumentArity.ZeroOrOne,
        };
        // A word System.CommandLine does not know as a flag lands here; "--foo" is a mistyped flag, not a model path
        // (a file whose name starts with '-' can still be given as ./-name).
        argument.Validators.Add(result =>
        {
            if (result.Tokens is [{ Value: { Length: > 1 } value }] && value[0] == '-')
                result.AddError($"unknown option '{value}'");
        });
        return argument;
    }

    /// <summary>Adds the <c>-m</c> option, the positional model argument and <c>--models-dir</c> to <paramref name="command"/>.</summary>
    public static (Option<string?> Option, Argument<string?> Argument, Option<string?> ModelsDir) AddTo(Command command)
    {
        var option = Option();
        var argument = Argument();
        var modelsDir = Common.ModelsDirOption();
        command.Options.Insert(0, option); // first in --help, as before
        command.Options.Add(modelsDir);
        command.Arguments.Add(argument);
        return (option, argument, modelsDir);
    }

    /// <summary>Opens a model path as GGUF: the file itself, or a Hugging Face folder converted in memory.</summary>
    public static SeekSharp.Gguf.GgufFile OpenGguf(string path) =>
        Directory.Exists(path) ? SeekSharp.HuggingFace.HuggingFaceFolder.Open(path) : SeekSharp.Gguf.GgufFile.Open(path);

    /// <summary>The model given with -m or as the positional argument (both is an error naming both), else null.</summary>
    public static string? Given(ParseResult r, (Option<string?> Option, Argument<string?> Argument, Option<string?> ModelsDir) model)
    {
        string? fromOption = r.GetValue(model.Option), fromArgument = r.GetValue(model.Argument);
        if (fromOption is not null && fromArgument is not null)
            throw new ArgumentException($"the model is given twice, with -m '{fromOption}' and as the argument '{fromArgument}'; give it once");
        return fromOption ?? fromArgument;
    }

    /// <summary>The model given with -m or as the positional argument (a path, or a pulled model's name), else the bundled model.</summary>
    public static string Resolve(ParseResult r, (Option<string?> Option, Argument<string?> Argument, Option<string?> ModelsDir) model) =>
        Resolve(Given(r, model), r.GetValue(model.ModelsDir));

    /// <summary>The pulled model's canonical name when <paramref name="given"/> resolved through the store (not a path), else null.</summary>
    public static string? StoreName(string? given) =>
        given is not null && !File.Exists(given) && !Directory.Exists(given) && ModelName.TryParse(given, out var name, out _) ? name.Canonical : null;

    /// <summary>
    /// <paramref name="given"/> as a path when a file or folder is there, else as a pulled model's name in the store at
    /// <paramref name="modelsDir"/> (default: <c>SEEK_MODELS</c> or the user's data folder); unchanged when it is neither.
    /// </summary>
    /// <exception cref="FileNotFoundException">A model name that is not pulled: the message says <c>seek pull NAME</c>.</exception>
    public static string Locate(string given, string? modelsDir = null) => ModelStore.Open(modelsDir).Locate(given) ?? given;

    /// <summary><paramref name="given"/> when set (an existing file, a Hugging Face model folder holding config.json, or a pulled model's name), else the bundled model.</summary>
    /// <exception cref="FileNotFoundException">The given file, the named model or the bundled model is missing.</exception>
    /// <exception cref="ArgumentException">The given path is a directory.</exception>
    public static string Resolve(string? given, string? modelsDir = null)
    {
        if (given is not null)
            given = Locate(given, modelsDir);
        if (given is not null)
            return Directory.Exists(given)
                ? (SeekSharp.HuggingFace.HuggingFaceFolder.IsModelFolder(given) ? given
                   : throw new ArgumentException($"'{given}' is a directory without a config.json; a GGUF model file or a Hugging Face model folder is expected"))
                : Common.RequireFile(given);
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

using System.CommandLine;
using System.Text.Json;

namespace SeekSharp.Cli.Commands;

/// <summary>The chat template flags of <c>seek run --chat</c>, <c>seek chat</c> and <c>seek template</c>.</summary>
internal static partial class Common
{
    public static Option<string?> TemplateFileOption() => new("--template") { Description = "Jinja chat template file to use instead of the model's (as llama.cpp's --chat-template-file)" };

    /// <summary>The template in <c>--template FILE</c>, or null (no flag) for the model's own.</summary>
    public static string? ReadTemplateFile(string? path) => path is null ? null : ReadTextFile(path);

    public static Option<string[]> VarOption() => new("--var")
    {
        Description = "Template variable NAME=VALUE (VALUE read as JSON when it parses, e.g. enable_thinking=false; else as text); repeatable",
        AllowMultipleArgumentsPerToken = false,
    };

    public static Dictionary<string, object?> ParseVars(string[]? vars)
    {
        var result = new Dictionary<string, object?>();
        foreach (var v in vars ?? [])
        {
            int eq = v.IndexOf('=');
            if (eq <= 0) throw new ArgumentException($"--var expects NAME=VALUE, got '{v}'");
            string name = v[..eq], value = v[(eq + 1)..];
            object? parsed;
            try { parsed = SeekSharp.Chat.Templates.ChatTemplate.FromJson(value); }
            catch (JsonException) { parsed = value; }
            result[name] = parsed;
        }
        return result;
    }
}

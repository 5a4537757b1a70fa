using System.CommandLine;
using System.Text;
using System.Text.Json;
using SeekSharp.Chat;
using SeekSharp.Gguf;
using SeekSharp.Tokenization;

namespace SeekSharp.Cli.Commands;

/// <summary><c>seek template</c>: the exact prompt text a chat template renders, for debugging templates.</summary>
internal static class TemplateCommand
{
    /// <summary>Shown when no --messages file is given.</summary>
    public const string SampleConversation = """
        [
          {"role": "system", "content": "You are a helpful assistant."},
          {"role": "user", "content": "What is 2 + 2?"},
          {"role": "assistant", "content": "2 + 2 = 4."},
          {"role": "user", "content": "And 3 + 3?"}
        ]
        """;

    public static Option<string?> TemplateFileOption() => new("--template") { Description = "Jinja chat template file to use instead of the model's (as llama.cpp's --chat-template-file)" };

    public static Command Create()
    {
        var template = TemplateFileOption();
        var messages = new Option<string?>("--messages") { Description = "OpenAI-style messages JSON file (default: a short sample conversation)" };
        var tools = new Option<string?>("--tools") { Description = "OpenAI-style tools JSON file" };
        var noGen = new Option<bool>("--no-generation-prompt") { Description = "Do not append the assistant's generation prompt" };
        var vars = VarOption();
        var command = new Command("template", "Print exactly the prompt text the chat template renders for a conversation")
            { template, messages, tools, noGen, vars };
        var model = DefaultModel.AddTo(command);
        command.SetAction(r => Common.Guard(() =>
        {
            using var gguf = GgufFile.Open(DefaultModel.Resolve(r, model));
            var formatter = new ChatPromptFormatter(LoadTemplate(gguf, r.GetValue(template)), Tokenizer.FromGguf(gguf));
            string messagesJson = r.GetValue(messages) is string m ? ReadJsonFile("--messages", m) : SampleConversation;
            string? toolsJson = r.GetValue(tools) is string t ? ReadJsonFile("--tools", t) : null;
            string prompt = formatter.RenderJson(messagesJson, !r.GetValue(noGen), toolsJson, ParseVars(r.GetValue(vars)));
            Console.Out.Write(prompt);
            Console.Out.Flush();
            return 0;
        }));
        return command;
    }

    /// <summary>
    /// The text of a JSON file given with <paramref name="flag"/>, checked to be well-formed JSON (a byte order mark is
    /// allowed) so that a syntax error names the flag, the file and the line; nesting deeper than 64 levels is refused.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not well-formed JSON.</exception>
    public static string ReadJsonFile(string flag, string path)
    {
        string text = File.ReadAllText(TokenizeCommand.RequireFile(path), Encoding.UTF8).TrimStart('\uFEFF');
        try
        {
            using var _ = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            string what = e.Message;
            int at = what.IndexOf(" LineNumber:", StringComparison.Ordinal);
            if (at >= 0) what = what[..at];
            string where = e.LineNumber is long line ? $" at line {line + 1}, byte {e.BytePositionInLine + 1}" : "";
            throw new InvalidDataException($"{flag} {path}: not valid JSON{where}: {what}");
        }
        return text;
    }

    public static Option<string[]> VarOption() => new("--var")
    {
        Description = "Template variable NAME=VALUE (VALUE read as JSON when it parses, e.g. enable_thinking=false; else as text); repeatable",
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>The template from --template FILE, else the model's tokenizer.chat_template.</summary>
    public static string LoadTemplate(GgufFile gguf, string? templateFile)
        => templateFile is not null ? File.ReadAllText(TokenizeCommand.RequireFile(templateFile), Encoding.UTF8)
           : gguf.GetStringOrNull("tokenizer.chat_template")
             ?? throw new ArgumentException($"{gguf.Path} has no chat template (tokenizer.chat_template); give one with --template FILE");

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

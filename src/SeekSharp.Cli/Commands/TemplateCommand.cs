using System.CommandLine;
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

    public static Command Create()
    {
        var template = Common.TemplateFileOption();
        var messages = new Option<string?>("--messages") { Description = "OpenAI-style messages JSON file (default: a short sample conversation)" };
        var tools = new Option<string?>("--tools") { Description = "OpenAI-style tools JSON file" };
        var noGen = new Option<bool>("--no-generation-prompt") { Description = "Do not append the assistant's generation prompt" };
        var vars = Common.VarOption();
        var command = new Command("template", "Print exactly the prompt text the chat template renders for a conversation")
            { template, messages, tools, noGen, vars };
        var model = DefaultModel.AddTo(command);
        command.SetAction(r => Common.Guard(() =>
        {
            using var gguf = DefaultModel.OpenGguf(DefaultModel.Resolve(r, model));
            var formatter = new ChatPromptFormatter(LoadTemplate(gguf, r.GetValue(template)), Tokenizer.FromGguf(gguf));
            string messagesJson = r.GetValue(messages) is string m ? Common.ReadJsonFile("--messages", m) : SampleConversation;
            string? toolsJson = r.GetValue(tools) is string t ? Common.ReadJsonFile("--tools", t) : null;
            string prompt = formatter.RenderJson(messagesJson, !r.GetValue(noGen), toolsJson, Common.ParseVars(r.GetValue(vars)));
            Console.Out.Write(prompt);
            Console.Out.Flush();
            return 0;
        }));
        return command;
    }

    /// <summary>The template from --template FILE, else the model's tokenizer.chat_template.</summary>
    public static string LoadTemplate(GgufFile gguf, string? templateFile)
        => Common.ReadTemplateFile(templateFile)
           ?? gguf.GetStringOrNull("tokenizer.chat_template")
           ?? throw new ArgumentException($"{gguf.Path} has no chat template (tokenizer.chat_template); give one with --template FILE");
}

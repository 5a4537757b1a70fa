using System.CommandLine;
using System.Text;
using SeekSharp.Gguf;
using SeekSharp.Tokenization;

namespace SeekSharp.Cli.Commands;

/// <summary><c>seek tokenize</c>: the token ids of a text, as the model's tokenizer produces them.</summary>
internal static class TokenizeCommand
{
    public static Command Create()
    {
        var model = Common.ModelOption();
        var prompt = new Option<string?>("--prompt", "-p") { Description = "Text to tokenize" };
        var file = new Option<string?>("--file", "-f") { Description = "File whose text to tokenize (UTF-8)" };
        var noBos = new Option<bool>("--no-bos") { Description = "Do not add BOS/EOS even if the model's metadata asks for them" };
        var special = new Option<bool>("--special") { Description = "Recognise special-token text such as <｜User｜> as single tokens" };
        var json = Common.JsonOption();
        var command = new Command("tokenize", "Print the token ids of a text") { model, prompt, file, noBos, special, json };
        command.SetAction(r => Common.Guard(() =>
        {
            string text = ReadText(r.GetValue(prompt), r.GetValue(file));
            using var gguf = GgufFile.Open(RequireFile(r.GetValue(model)!));
            var tokenizer = Tokenizer.FromGguf(gguf);
            int[] ids = tokenizer.Encode(text, addSpecial: !r.GetValue(noBos), parseSpecial: r.GetValue(special));
            if (r.GetValue(json))
            {
                Common.WriteJson(ids);
                return 0;
            }
            foreach (int id in ids)
                Console.Out.WriteLine($"{id,6} -> '{Encoding.UTF8.GetString(tokenizer.TokenBytes(id))}'");
            return 0;
        }));
        return command;
    }

    /// <summary>Exactly one of --prompt and --file.</summary>
    public static string ReadText(string? prompt, string? file)
    {
        if ((prompt is null) == (file is null))
            throw new ArgumentException("give the text with exactly one of --prompt/-p and --file/-f");
        return prompt ?? File.ReadAllText(RequireFile(file!), Encoding.UTF8);
    }

    public static string RequireFile(string path)
        => File.Exists(path) ? path : throw new FileNotFoundException($"file '{path}' does not exist", path);
}

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
        var text = new Common.TextFlags("Text to tokenize (- reads standard input)", "File whose text to tokenize (UTF-8)");
        var noBos = new Option<bool>("--no-bos") { Description = "Do not add BOS/EOS even if the model's metadata asks for them" };
        var special = new Option<bool>("--special") { Description = "Recognise special-token text such as <｜User｜> as single tokens" };
        var json = Common.JsonOption();
        var command = new Command("tokenize", "Print the token ids of a text") { text.Prompt, text.File, noBos, special, json };
        var model = DefaultModel.AddTo(command);
        command.SetAction(r => Common.Guard(() =>
        {
            string input = text.Read(r);
            using var gguf = DefaultModel.OpenGguf(DefaultModel.Resolve(r, model));
            var tokenizer = Tokenizer.FromGguf(gguf);
            int[] ids = tokenizer.Encode(input, addSpecial: !r.GetValue(noBos), parseSpecial: r.GetValue(special));
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
}

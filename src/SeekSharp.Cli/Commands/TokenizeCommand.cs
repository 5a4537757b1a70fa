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
        var prompt = new Option<string?>("--prompt", "-p") { Description = "Text to tokenize (- reads standard input)" };
        var file = new Option<string?>("--file", "-f") { Description = "File whose text to tokenize (UTF-8)" };
        var noBos = new Option<bool>("--no-bos") { Description = "Do not add BOS/EOS even if the model's metadata asks for them" };
        var special = new Option<bool>("--special") { Description = "Recognise special-token text such as <｜User｜> as single tokens" };
        var json = Common.JsonOption();
        var command = new Command("tokenize", "Print the token ids of a text") { prompt, file, noBos, special, json };
        var model = DefaultModel.AddTo(command);
        command.SetAction(r => Common.Guard(() =>
        {
            string text = ReadText(r.GetValue(prompt), r.GetValue(file));
            using var gguf = GgufFile.Open(DefaultModel.Resolve(r, model));
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

    /// <summary>Exactly one of --prompt and --file; <c>--prompt -</c> reads standard input.</summary>
    public static string ReadText(string? prompt, string? file)
    {
        if ((prompt is null) == (file is null))
            throw new ArgumentException("give the text with exactly one of --prompt/-p and --file/-f");
        if (prompt == "-")
        {
            using var stdin = Console.OpenStandardInput();
            using var buffer = new MemoryStream();
            stdin.CopyTo(buffer);
            return DecodeUtf8(buffer.ToArray(), "standard input");
        }
        return prompt ?? ReadUtf8File(file!);
    }

    /// <summary>
    /// The text of a UTF-8 file (a byte order mark is skipped), refusing invalid UTF-8 with the file and the byte offset
    /// of the first bad sequence. Refusing rather than encoding the raw bytes: the tokenizer takes text (a .NET string),
    /// so the bytes cannot reach it unchanged without a second, byte-based path through the pre-tokenizers, and llama.cpp
    /// does not keep them either (unicode_cpts_from_utf8 turns each invalid byte into U+FFFD). What was wrong was the
    /// silent replacement: a prompt or a perplexity text that is not what the file holds.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not valid UTF-8.</exception>
    public static string ReadUtf8File(string path) => DecodeUtf8(File.ReadAllBytes(RequireFile(path)), path);

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static string DecodeUtf8(byte[] bytes, string source)
    {
        int start = bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        try
        {
            return StrictUtf8.GetString(bytes, start, bytes.Length - start);
        }
        catch (DecoderFallbackException e)
        {
            // Index is relative to the bytes decoded, which start after the byte order mark.
            string offset = e.Index >= 0 ? $" at byte offset {start + e.Index}" : "";
            throw new InvalidDataException($"{source} is not valid UTF-8{offset}; seek reads prompts and texts as UTF-8 (convert it, for example with iconv)");
        }
    }

    /// <summary><paramref name="path"/> when it is an existing file; a missing path or a directory is a one-line error.</summary>
    public static string RequireFile(string path)
        => File.Exists(path) ? path
           : Directory.Exists(path) ? throw new ArgumentException($"'{path}' is a directory, not a file")
           : throw new FileNotFoundException($"file '{path}' does not exist", path);
}

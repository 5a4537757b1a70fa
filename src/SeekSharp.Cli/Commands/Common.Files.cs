using System.CommandLine;
using System.Text;
using System.Text.Json;

namespace SeekSharp.Cli.Commands;

/// <summary>How the commands read what the user gives them: files, prompt text, JSON files.</summary>
internal static partial class Common
{
    /// <summary><paramref name="path"/> when it is an existing file; a missing path or a directory is a one-line error.</summary>
    public static string RequireFile(string path)
        => File.Exists(path) ? path
           : Directory.Exists(path) ? throw new ArgumentException($"'{path}' is a directory, not a file")
           : throw new FileNotFoundException($"file '{path}' does not exist", path);

    /// <summary>
    /// The text of an existing file that seek parses (chat template, JSON), as <see cref="File.ReadAllText(string, Encoding)"/>
    /// reads UTF-8: a byte order mark is skipped and invalid bytes become U+FFFD. Prompts and scored texts are read
    /// strictly instead (<see cref="ReadUtf8File"/>).
    /// </summary>
    public static string ReadTextFile(string path) => File.ReadAllText(RequireFile(path), Encoding.UTF8);

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

    /// <summary>
    /// The text a command works on (<c>seek run</c>'s prompt, <c>seek tokenize</c>'s input): <c>--prompt/-p TEXT</c>,
    /// where <c>-</c> reads standard input, or <c>--file/-f FILE</c>; exactly one of them. Each command words the help.
    /// </summary>
    public sealed class TextFlags(string promptDescription, string fileDescription)
    {
        public readonly Option<string?> Prompt = new("--prompt", "-p") { Description = promptDescription };
        public readonly Option<string?> File = new("--file", "-f") { Description = fileDescription };

        /// <summary>The text given with exactly one of the two flags.</summary>
        public string Read(ParseResult r)
        {
            string? prompt = r.GetValue(Prompt), file = r.GetValue(File);
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
    }

    /// <summary>
    /// The text of a JSON file given with <paramref name="flag"/>, checked to be well-formed JSON (a byte order mark is
    /// allowed) so that a syntax error names the flag, the file and the line; nesting deeper than 64 levels is refused.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not well-formed JSON.</exception>
    public static string ReadJsonFile(string flag, string path)
    {
        string text = ReadTextFile(path).TrimStart('\uFEFF');
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
}

using System.Text;
using SeekSharp.Chat.Reasoning;

namespace SeekSharp.Tests.Chat.Reasoning;

/// <summary>
/// Whole-text oracle, written apart from the streaming parser: llama.cpp's final (non-partial) parse of
/// common/chat-parser.cpp try_parse_reasoning (commit 05e5139a) for --reasoning-format deepseek, with SeekSharp's two
/// documented differences: a repeated opening tag in a prefilled message is not echoed into the reasoning, and an
/// unfinished tag at the very end stays text instead of being dropped.
/// </summary>
internal static class ReasoningReference
{
    public static (string? Reasoning, string Content) Split(string text, bool prefilled, ReasoningFormat format)
    {
        if (!format.HasTags)
            return (null, text);
        string open = format.OpenTag!, close = format.CloseTag!;

        int ws = SkipSpaces(text, 0);
        if (ws == text.Length)
            return prefilled ? (null, "") : (null, text);

        var reasoning = new StringBuilder();
        var content = new StringBuilder();
        string rest = text[ws..];
        int cursor;
        if (rest.StartsWith(open, StringComparison.Ordinal))
        {
            content.Append(text, 0, ws);
            cursor = ws + open.Length;
        }
        else if (open.StartsWith(rest, StringComparison.Ordinal))
        {
            return prefilled ? (NullIfEmpty(Strip(text)), "") : (null, text);
        }
        else if (prefilled)
        {
            cursor = ws;
        }
        else
        {
            return (null, text);
        }

        while (true)
        {
            int end = text.IndexOf(close, cursor, StringComparison.Ordinal);
            if (end < 0)
            {
                reasoning.Append(Strip(text[cursor..]));
                break;
            }
            reasoning.Append(Strip(text[cursor..end]));
            cursor = SkipSpaces(text, end + close.Length);
            string after = text[cursor..];
            if (after.StartsWith(open, StringComparison.Ordinal))
            {
                cursor += open.Length;
                continue;
            }
            content.Append(after);
            break;
        }
        return (NullIfEmpty(reasoning.ToString()), content.ToString());
    }

    static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';

    static int SkipSpaces(string s, int i)
    {
        while (i < s.Length && IsSpace(s[i]))
            i++;
        return i;
    }

    static string Strip(string s)
    {
        int a = SkipSpaces(s, 0), b = s.Length;
        while (b > a && IsSpace(s[b - 1]))
            b--;
        return s[a..b];
    }

    static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;
}

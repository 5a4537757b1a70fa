using System.Text;

namespace SeekSharp.Tokenization;

/// <summary>A piece of input: either raw text still to tokenize or an already recognised added token.</summary>
internal readonly record struct Fragment(int TokenId, int Start, int Length)
{
    public bool IsToken => TokenId >= 0;
    public static Fragment Text(int start, int length) => new(-1, start, length);
}

/// <summary>
/// Cuts added tokens out of the input before pre-tokenization, as llama.cpp's tokenizer_st_partition does:
/// tokens are tried longest first (by UTF-8 length), each one splitting every remaining text fragment at all
/// of its occurrences. Control and unknown tokens take part only when special-token parsing is requested;
/// user-defined tokens always do (Hugging Face also always extracts its added tokens).
/// </summary>
internal sealed class SpecialTokenPartitioner
{
    readonly (int Id, string Text, TokenAttributes Attr)[] tokens;

    public SpecialTokenPartitioner(string[] texts, TokenAttributes[] attrs)
    {
        var list = new List<(int, string, TokenAttributes, int)>();
        for (int id = 0; id < texts.Length; id++)
            if ((attrs[id] & (TokenAttributes.Control | TokenAttributes.UserDefined | TokenAttributes.Unknown)) != 0
                && texts[id].Length > 0)
                list.Add((id, texts[id], attrs[id], Encoding.UTF8.GetByteCount(texts[id])));
        // llama.cpp's std::sort leaves equal lengths unordered; id order makes ours deterministic.
        tokens = [.. list.OrderByDescending(t => t.Item4).ThenBy(t => t.Item1).Select(t => (t.Item1, t.Item2, t.Item3))];
    }

    public List<Fragment> Partition(string text, bool parseSpecial)
    {
        var fragments = new List<Fragment>();
        if (text.Length == 0) return fragments;
        fragments.Add(Fragment.Text(0, text.Length));

        foreach (var (id, tokenText, attr) in tokens)
        {
            if (!parseSpecial && (attr & (TokenAttributes.Control | TokenAttributes.Unknown)) != 0) continue;
            // Cheap reject: most tokens occur nowhere in the text.
            if (!text.Contains(tokenText, StringComparison.Ordinal)) continue;

            for (int f = 0; f < fragments.Count; f++)
            {
                var frag = fragments[f];
                if (frag.IsToken) continue;
                int match = text.AsSpan(frag.Start, frag.Length).IndexOf(tokenText, StringComparison.Ordinal);
                if (match < 0) continue;

                var replacement = new List<Fragment>();
                int start = frag.Start, end = frag.Start + frag.Length;
                while (match >= 0)
                {
                    int at = start + match;
                    int leftEnd = at;
                    if ((attr & TokenAttributes.LStrip) != 0)
                        while (leftEnd > start && IsCSpace(text[leftEnd - 1])) leftEnd--;
                    if (leftEnd > start) replacement.Add(Fragment.Text(start, leftEnd - start));
                    replacement.Add(new Fragment(id, at, tokenText.Length));
                    start = at + tokenText.Length;
                    if ((attr & TokenAttributes.RStrip) != 0)
                        while (start < end && IsCSpace(text[start])) start++;
                    match = start < end ? text.AsSpan(start, end - start).IndexOf(tokenText, StringComparison.Ordinal) : -1;
                }
                if (start < end) replacement.Add(Fragment.Text(start, end - start));
                fragments.RemoveAt(f);
                fragments.InsertRange(f, replacement);
                f += replacement.Count - 1;
            }
        }
        return fragments;
    }

    /// <summary>C isspace in the "C" locale, which llama.cpp uses for lstrip/rstrip.</summary>
    static bool IsCSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';
}

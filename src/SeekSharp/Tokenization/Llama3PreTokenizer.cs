namespace SeekSharp.Tokenization;

/// <summary>
/// <c>(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,k}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>
/// with k = 3 (Llama 3) or k = 1 (Qwen2; its regex has a bare <c>\p{N}</c>).
/// </summary>
internal sealed class Llama3PreTokenizer(int maxDigits) : PreTokenizer
{
    public override void Split(ReadOnlySpan<int> cps, List<(int Start, int Length)> words)
    {
        int pos = 0;
        while (pos < cps.Length)
        {
            int end = Match(cps, pos);
            words.Add((pos, end - pos));
            pos = end;
        }
    }

    int Match(ReadOnlySpan<int> cps, int pos)
    {
        int n = cps.Length;
        int c = cps[pos];
        var f = CodepointFlags.Of(c);

        // Contractions, case-insensitive. Only ASCII letters can fold to these, so ASCII folding is exact.
        if (c == '\'' && pos + 1 < n)
        {
            int c1 = AsciiLower(cps[pos + 1]);
            if (c1 is 's' or 't' or 'm' or 'd') return pos + 2;
            if (pos + 2 < n)
            {
                int c2 = AsciiLower(cps[pos + 2]);
                if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return pos + 3;
            }
        }

        // [^\r\n\p{L}\p{N}]?\p{L}+ : one optional non-letter prefix (often a space) glued to a letter run.
        if (!IsRN(c) && (f & CodepointClass.Number) == 0)
        {
            bool letter = (f & CodepointClass.Letter) != 0;
            if (letter || (pos + 1 < n && CodepointFlags.IsLetter(cps[pos + 1])))
            {
                int e = pos + 1;
                while (e < n && CodepointFlags.IsLetter(cps[e])) e++;
                return e;
            }
        }

        if ((f & CodepointClass.Number) != 0)
        {
            int e = pos + 1;
            while (e < n && e - pos < maxDigits && CodepointFlags.IsNumber(cps[e])) e++;
            return e;
        }

        // " ?[^\s\p{L}\p{N}]+[\r\n]*"
        int start = c == ' ' && pos + 1 < n && IsOther(CodepointFlags.Of(cps[pos + 1])) ? pos + 1 : pos;
        if (IsOther(CodepointFlags.Of(cps[start])))
        {
            int e = start + 1;
            while (e < n && IsOther(CodepointFlags.Of(cps[e]))) e++;
            while (e < n && IsRN(cps[e])) e++;
            return e;
        }

        return MatchWhitespace(cps, pos, newlineRule: true);
    }

    static bool IsOther(CodepointClass f) =>
        (f & (CodepointClass.Whitespace | CodepointClass.Letter | CodepointClass.Number)) == 0;

    static int AsciiLower(int c) => c is >= 'A' and <= 'Z' ? c + 32 : c;
}

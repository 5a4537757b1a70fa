namespace SeekSharp.Tokenization;

/// <summary><c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c></summary>
internal sealed class Gpt2PreTokenizer : PreTokenizer
{
    public override void Split(ReadOnlySpan<int> cps, List<(int Start, int Length)> words)
    {
        int n = cps.Length;
        int pos = 0;
        while (pos < n)
        {
            int end = Match(cps, pos);
            words.Add((pos, end - pos));
            pos = end;
        }
    }

    static int Match(ReadOnlySpan<int> cps, int pos)
    {
        int n = cps.Length;
        int c = cps[pos];
        if (c == '\'' && pos + 1 < n)
        {
            int c1 = cps[pos + 1];
            if (c1 is 's' or 't' or 'm' or 'd') return pos + 2;
            if (pos + 2 < n)
            {
                int c2 = cps[pos + 2];
                if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return pos + 3;
            }
        }
        // " ?" is a literal space that belongs to the following letter/number/symbol run.
        int start = c == ' ' && pos + 1 < n && !CodepointFlags.IsWhitespace(cps[pos + 1]) ? pos + 1 : pos;
        var f = CodepointFlags.Of(cps[start]);
        if ((f & CodepointClass.Letter) != 0) return Run(cps, start, CodepointClass.Letter);
        if ((f & CodepointClass.Number) != 0) return Run(cps, start, CodepointClass.Number);
        if (IsOther(f))
        {
            int e = start;
            while (e < n && IsOther(CodepointFlags.Of(cps[e]))) e++;
            return e;
        }
        return MatchWhitespace(cps, pos, newlineRule: false);
    }

    static bool IsOther(CodepointClass f) =>
        (f & (CodepointClass.Whitespace | CodepointClass.Letter | CodepointClass.Number)) == 0;

    static int Run(ReadOnlySpan<int> cps, int pos, CodepointClass cls)
    {
        while (pos < cps.Length && (CodepointFlags.Of(cps[pos]) & cls) != 0) pos++;
        return pos;
    }
}

namespace SeekSharp.Tokenization;

/// <summary>
/// DeepSeek-V3's Sequence of three isolating Splits, applied in turn to each piece of the previous one:
/// <list type="number">
/// <item><c>\p{N}{1,3}</c></item>
/// <item><c>[一-龥぀-ゟ゠-ヿ]+</c> (CJK ideographs U+4E00-U+9FA5, hiragana, katakana)</item>
/// <item><c>[!"#$%&amp;'()*+,\-./:;&lt;=&gt;?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c></item>
/// </list>
/// Text that no alternative of a split matches stays one piece of its own (Split behaviour "Isolated").
/// </summary>
/// <param name="llamaCppClasses">
/// llama.cpp runs the third regex through std::regex on category-collapsed text, where ASCII characters keep
/// their own value and the ASCII members of \p{S} are listed by hand as <c>$+&lt;=&gt;^`|</c>: '~' is missing, so
/// there it is neither \p{P} nor \p{S}. True reproduces that; false follows Unicode (Hugging Face).
/// </param>
internal sealed class DeepSeekV3PreTokenizer(bool llamaCppClasses) : PreTokenizer
{
    public override void Split(ReadOnlySpan<int> cps, List<(int Start, int Length)> words)
    {
        // Pass 1: digits in groups of three; the spans between them go on to pass 2.
        int gapStart = 0;
        int pos = 0;
        while (pos < cps.Length)
        {
            if (!CodepointFlags.IsNumber(cps[pos])) { pos++; continue; }
            SplitCjk(cps, gapStart, pos, words);
            int e = pos + 1;
            while (e < cps.Length && e - pos < 3 && CodepointFlags.IsNumber(cps[e])) e++;
            // A digit piece holds no letters, marks, punctuation or spaces, so pass 3 leaves it whole.
            words.Add((pos, e - pos));
            pos = gapStart = e;
        }
        SplitCjk(cps, gapStart, cps.Length, words);
    }

    static bool IsCjk(int c) => c is >= 0x4E00 and <= 0x9FA5 or >= 0x3040 and <= 0x309F or >= 0x30A0 and <= 0x30FF;

    void SplitCjk(ReadOnlySpan<int> cps, int start, int end, List<(int Start, int Length)> words)
    {
        int gapStart = start;
        int pos = start;
        while (pos < end)
        {
            if (!IsCjk(cps[pos])) { pos++; continue; }
            SplitMain(cps[gapStart..pos], gapStart, words);
            int e = pos + 1;
            while (e < end && IsCjk(cps[e])) e++;
            // Not always one word: the kana blocks also hold marks (U+3099), symbols (U+309B) and punctuation (U+30FB).
            SplitMain(cps[pos..e], pos, words);
            pos = gapStart = e;
        }
        SplitMain(cps[gapStart..end], gapStart, words);
    }

    void SplitMain(ReadOnlySpan<int> piece, int offset, List<(int Start, int Length)> words)
    {
        int n = piece.Length;
        int gapStart = -1;
        int pos = 0;
        while (pos < n)
        {
            int end = Match(piece, pos);
            if (end < 0)
            {
                if (gapStart < 0) gapStart = pos;
                pos++;
                continue;
            }
            if (gapStart >= 0) { words.Add((offset + gapStart, pos - gapStart)); gapStart = -1; }
            words.Add((offset + pos, end - pos));
            pos = end;
        }
        if (gapStart >= 0) words.Add((offset + gapStart, n - gapStart));
    }

    /// <summary>End of the leftmost-first match starting at pos, or -1.</summary>
    int Match(ReadOnlySpan<int> s, int pos)
    {
        int n = s.Length;
        int c = s[pos];

        // [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+
        if (IsAsciiPunctOrSymbol(c) && pos + 1 < n && IsAsciiLetter(s[pos + 1]))
        {
            int e = pos + 2;
            while (e < n && IsAsciiLetter(s[e])) e++;
            return e;
        }

        // [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
        var f = Classes(c);
        bool prefix = !IsRN(c) && (f & (CodepointClass.Letter | CodepointClass.Punctuation | CodepointClass.Symbol)) == 0;
        if ((prefix && pos + 1 < n && IsLetterOrMark(Classes(s[pos + 1]))) || IsLetterOrMark(f))
        {
            int e = pos + 1;
            while (e < n && IsLetterOrMark(Classes(s[e]))) e++;
            return e;
        }

        // " ?[\p{P}\p{S}]+[\r\n]*"
        int start = c == ' ' && pos + 1 < n && IsPunctOrSymbol(Classes(s[pos + 1])) ? pos + 1 : pos;
        if (IsPunctOrSymbol(Classes(s[start])))
        {
            int e = start + 1;
            while (e < n && IsPunctOrSymbol(Classes(s[e]))) e++;
            while (e < n && IsRN(s[e])) e++;
            return e;
        }

        if (CodepointFlags.IsWhitespace(c)) return MatchWhitespace(s, pos, newlineRule: true);
        return -1;
    }

    CodepointClass Classes(int c)
    {
        var f = CodepointFlags.Of(c);
        return llamaCppClasses && c == '~' ? f & ~CodepointClass.Symbol : f;
    }

    static bool IsLetterOrMark(CodepointClass f) => (f & (CodepointClass.Letter | CodepointClass.Mark)) != 0;
    static bool IsPunctOrSymbol(CodepointClass f) => (f & (CodepointClass.Punctuation | CodepointClass.Symbol)) != 0;
    static bool IsAsciiLetter(int c) => (uint)((c | 0x20) - 'a') <= 'z' - 'a';
    static bool IsAsciiPunctOrSymbol(int c) => c is >= '!' and <= '/' or >= ':' and <= '@' or >= '[' and <= '`' or >= '{' and <= '~';
}

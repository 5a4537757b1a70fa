using System.Text;

namespace SeekSharp.Tokenization;

/// <summary>
/// Unicode NFC (canonical decomposition, canonical ordering, canonical composition; UAX #15).
/// string.Normalize is a no-op under InvariantGlobalization, which SeekSharp builds with, so Qwen's NFC
/// normalizer needs its own implementation.
/// </summary>
internal static class UnicodeNfc
{
    const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    static readonly Dictionary<int, int> CombiningClass = new();
    static readonly Dictionary<int, (int First, int Second)> Decomposition = new();
    static readonly Dictionary<long, int> Composition = new();
    static readonly HashSet<int> NotQuickYes = new();

    static UnicodeNfc()
    {
        var ccc = UnicodeNormalizationData.CombiningClasses;
        for (int i = 0; i < ccc.Length; i += 2)
        {
            CombiningClass[ccc[i]] = ccc[i + 1];
            NotQuickYes.Add(ccc[i]);
        }
        var d = UnicodeNormalizationData.Decompositions;
        for (int i = 0; i < d.Length; i += 4)
        {
            int cp = d[i], first = d[i + 1], second = d[i + 2];
            Decomposition[cp] = (first, second);
            if (d[i + 3] == 1)
            {
                Composition[((long)first << 21) | (uint)second] = cp;
                NotQuickYes.Add(second);      // may combine with what precedes it
            }
            else NotQuickYes.Add(cp);         // singleton or excluded: never survives NFC
        }
    }

    /// <summary>Returns the NFC form of <paramref name="s"/> (the same instance when already normalized).</summary>
    public static string Normalize(string s)
    {
        if (IsQuickNormalized(s)) return s;

        var buf = new List<int>(s.Length + 8);
        foreach (Rune r in s.EnumerateRunes()) Decompose(r.Value, buf);
        Reorder(buf);
        int n = Compose(buf);

        var sb = new StringBuilder(n);
        for (int i = 0; i < n; i++) sb.Append(new Rune(buf[i]).ToString());
        return sb.ToString();
    }

    static bool IsQuickNormalized(string s)
    {
        foreach (char c in s)
        {
            // Nothing below U+0300 decomposes-and-stays or combines, and surrogates need the slow path.
            if (c < 0x300) continue;
            if (char.IsSurrogate(c)) return false;
            if (NotQuickYes.Contains(c) || c is >= (char)VBase and < (char)(VBase + VCount) or > (char)TBase and < (char)(TBase + TCount)) return false;
        }
        return true;
    }

    static int Ccc(int cp) => CombiningClass.TryGetValue(cp, out int c) ? c : 0;

    static void Decompose(int cp, List<int> output)
    {
        if (cp is >= SBase and < SBase + SCount)
        {
            int s = cp - SBase;
            output.Add(LBase + s / NCount);
            output.Add(VBase + s % NCount / TCount);
            if (s % TCount != 0) output.Add(TBase + s % TCount);
            return;
        }
        if (Decomposition.TryGetValue(cp, out var d))
        {
            Decompose(d.First, output);
            if (d.Second != 0) Decompose(d.Second, output);
            return;
        }
        output.Add(cp);
    }

    /// <summary>Canonical ordering: a stable sort by combining class within each run of non-starters.</summary>
    static void Reorder(List<int> b)
    {
        for (int i = 1; i < b.Count; i++)
        {
            int c = Ccc(b[i]);
            if (c == 0) continue;
            int j = i;
            while (j > 0 && Ccc(b[j - 1]) > c) { (b[j - 1], b[j]) = (b[j], b[j - 1]); j--; }
        }
    }

    static int Compose(List<int> b)
    {
        if (b.Count == 0) return 0;
        int starterPos = 0;
        int lastClass = Ccc(b[0]) == 0 ? 0 : 256;
        int outPos = 1;
        for (int i = 1; i < b.Count; i++)
        {
            int ch = b[i], cls = Ccc(ch);
            // Blocked when a character of equal or higher class sits between the starter and ch.
            if ((lastClass < cls || lastClass == 0) && TryCompose(b[starterPos], ch, out int composite) && (lastClass != 0 || outPos - 1 == starterPos))
            {
                b[starterPos] = composite;
                continue;
            }
            if (cls == 0) starterPos = outPos;
            lastClass = cls;
            b[outPos++] = ch;
        }
        return outPos;
    }

    static bool TryCompose(int a, int b, out int composite)
    {
        if (a is >= LBase and < LBase + LCount && b is >= VBase and < VBase + VCount)
        {
            composite = SBase + ((a - LBase) * VCount + (b - VBase)) * TCount;
            return true;
        }
        if (a is >= SBase and < SBase + SCount && (a - SBase) % TCount == 0 && b is > TBase and < TBase + TCount)
        {
            composite = a + (b - TBase);
            return true;
        }
        return Composition.TryGetValue(((long)a << 21) | (uint)b, out composite);
    }
}

using System.Globalization;

namespace SeekSharp.Training.Tasks;

/// <summary>Reads an integer final answer in canonical form: optional surrounding whitespace, an optional '-', ASCII
/// digits without leading zeros, and at most one trailing period ("1176."). Anything else (words, units, several
/// numbers, "007", "+5", "-0") is not an answer, so a reward cannot be collected by padding a number.</summary>
internal static class IntegerAnswer
{
    // Longer strings cannot be an answer of these tasks and would only cost parsing time.
    const int MaxLength = 40;

    public static bool TryParse(string? text, out long value)
    {
        value = 0;
        if (text is null) return false;
        var s = text.AsSpan().Trim();
        if (s.EndsWith(".")) s = s[..^1];
        if (s.Length == 0 || s.Length > MaxLength) return false;
        int start = s[0] == '-' ? 1 : 0;
        var digits = s[start..];
        if (digits.Length == 0 || (digits[0] == '0' && (digits.Length > 1 || start == 1))) return false;
        foreach (char c in digits) if (!char.IsAsciiDigit(c)) return false;
        return long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    public static bool Matches(string? text, long expected) => TryParse(text, out long v) && v == expected;
}

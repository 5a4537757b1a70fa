using System.Globalization;

namespace SeekSharp.Tokenization;

/// <summary>Unicode general-category classes that the pre-tokenizer regexes ask about.</summary>
[Flags]
internal enum CodepointClass : byte
{
    None = 0,
    Letter = 1,        // \p{L}
    Number = 2,        // \p{N}
    Punctuation = 4,   // \p{P}
    Symbol = 8,        // \p{S}
    Mark = 16,         // \p{M}
    Whitespace = 32,   // White_Space property, the 25 code points that \s matches in Unicode-aware engines
    Other = 64,        // C* (control, format, private use, unassigned, surrogate) and non-space Z*
}

/// <summary>
/// One byte of class flags per code point, built once from the runtime's Unicode tables.
/// Both peers classify the same way (llama.cpp's generated unicode-data table and the Rust regex crates
/// are both derived from UnicodeData.txt), so only code points added in newer Unicode versions can disagree.
/// </summary>
internal static class CodepointFlags
{
    public const int MaxCodepoint = 0x110000;

    static readonly byte[] Table = Build();

    public static CodepointClass Of(int cp) =>
        (uint)cp < MaxCodepoint ? (CodepointClass)Table[cp] : CodepointClass.None;

    public static bool IsLetter(int cp) => (Of(cp) & CodepointClass.Letter) != 0;
    public static bool IsNumber(int cp) => (Of(cp) & CodepointClass.Number) != 0;
    public static bool IsWhitespace(int cp) => (Of(cp) & CodepointClass.Whitespace) != 0;

    static byte[] Build()
    {
        var t = new byte[MaxCodepoint];
        for (int cp = 0; cp < MaxCodepoint; cp++)
        {
            if (cp is >= 0xD800 and <= 0xDFFF) { t[cp] = (byte)CodepointClass.Other; continue; }
            t[cp] = (byte)(CharUnicodeInfo.GetUnicodeCategory(cp) switch
            {
                UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                    or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CodepointClass.Letter,
                UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CodepointClass.Number,
                UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
                    or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
                    or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation => CodepointClass.Punctuation,
                UnicodeCategory.MathSymbol or UnicodeCategory.CurrencySymbol or UnicodeCategory.ModifierSymbol
                    or UnicodeCategory.OtherSymbol => CodepointClass.Symbol,
                UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark => CodepointClass.Mark,
                _ => CodepointClass.Other,
            });
        }
        // White_Space (PropList.txt). It is a property, not a category: tab..CR and NEL are Cc, the rest Z*.
        ReadOnlySpan<int> whitespace =
        [
            0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680,
            0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A,
            0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
        ];
        foreach (int cp in whitespace) t[cp] |= (byte)CodepointClass.Whitespace;
        return t;
    }
}

namespace SeekSharp.Tokenization;

/// <summary>
/// GPT-2's reversible byte-to-character map: printable Latin-1 bytes map to themselves, the other 68 bytes
/// (controls, space, 0x7F-0xA0, 0xAD) to U+0100 upward in byte order. Byte-level BPE vocabularies store
/// every token as a string of these characters, so "Ġ" (U+0120) is the space byte.
/// </summary>
internal static class ByteLevel
{
    /// <summary>[256] byte -> char.</summary>
    public static readonly char[] ByteToChar = BuildByteToChar();

    /// <summary>[0x144] char -> byte, -1 where the char is not in the alphabet.</summary>
    static readonly short[] CharToByteTable = BuildCharToByte();

    public static int CharToByte(char c) => c < CharToByteTable.Length ? CharToByteTable[c] : -1;

    static bool IsPrintable(int b) => b is >= 0x21 and <= 0x7E or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;

    static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 0;
        for (int b = 0; b < 256; b++)
            map[b] = IsPrintable(b) ? (char)b : (char)(256 + next++);
        return map;
    }

    static short[] BuildCharToByte()
    {
        var map = new short[256 + 68];
        Array.Fill(map, (short)-1);
        for (int b = 0; b < 256; b++) map[ByteToChar[b]] = (short)b;
        return map;
    }

    /// <summary>Decodes a byte-level token string to raw bytes; returns false if a char is outside the alphabet.</summary>
    public static bool TryDecode(string text, out byte[] bytes)
    {
        bytes = new byte[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            int b = CharToByte(text[i]);
            if (b < 0) return false;
            bytes[i] = (byte)b;
        }
        return true;
    }
}

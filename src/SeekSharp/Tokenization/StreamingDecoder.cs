using System.Text;

namespace SeekSharp.Tokenization;

/// <summary>
/// Turns a stream of token ids into text without ever splitting a UTF-8 character: a token that ends in
/// the middle of a multi-byte character (byte-level BPE often splits emoji and CJK) yields nothing until
/// the tokens completing it arrive. Not thread-safe; use one per generated sequence.
/// </summary>
/// <remarks>
/// Output is the concatenation of token pieces (llama_token_to_piece), as llama.cpp streams it: the
/// SentencePiece prefix space of the first token is removed, but <see cref="Tokenizer.Decode"/>'s
/// clean-up of spaces before punctuation is not applied.
/// </remarks>
public sealed class StreamingDecoder
{
    readonly Tokenizer tokenizer;
    readonly bool renderSpecial;
    readonly Decoder utf8 = new UTF8Encoding(false, false).GetDecoder();
    readonly byte[] pending = new byte[4];
    int pendingCount;
    bool removeSpace;

    internal StreamingDecoder(Tokenizer tokenizer, bool renderSpecial, bool removeLeadingSpace)
    {
        this.tokenizer = tokenizer;
        this.renderSpecial = renderSpecial;
        removeSpace = removeLeadingSpace;
    }

    /// <summary>Adds one token and returns the text that is now complete (possibly empty).</summary>
    public string Append(int id)
    {
        var piece = tokenizer.Piece(id, renderSpecial);
        if (removeSpace && piece.Length > 0 && piece[0] == (byte)' ') piece = piece[1..];
        removeSpace = false;
        if (piece.IsEmpty) return "";

        // Hold back a trailing incomplete sequence; everything before it, valid or not, is emitted now.
        int total = pendingCount + piece.Length;
        var all = total <= 256 ? stackalloc byte[total] : new byte[total];
        pending.AsSpan(0, pendingCount).CopyTo(all);
        piece.CopyTo(all[pendingCount..]);
        int keep = IncompleteTailLength(all);
        var ready = all[..(total - keep)];
        all[(total - keep)..].CopyTo(pending);
        pendingCount = keep;
        return ready.IsEmpty ? "" : DecodeComplete(ready);
    }

    /// <summary>Returns any held-back bytes (an incomplete character becomes U+FFFD) and resets.</summary>
    public string Flush()
    {
        string rest = pendingCount == 0 ? "" : DecodeComplete(pending.AsSpan(0, pendingCount));
        pendingCount = 0;
        return rest;
    }

    string DecodeComplete(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        int n = utf8.GetChars(bytes, chars, flush: true);
        return new string(chars, 0, n);
    }

    /// <summary>Length of a trailing lead byte plus continuation bytes that still lack bytes to complete a character.</summary>
    static int IncompleteTailLength(ReadOnlySpan<byte> b)
    {
        // Look back over at most 3 continuation bytes for the lead byte of the last character.
        for (int k = 1; k <= Math.Min(4, b.Length); k++)
        {
            byte c = b[^k];
            if ((c & 0xC0) == 0x80) continue;             // continuation byte
            int need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
            return need > k ? k : 0;
        }
        return 0;
    }
}

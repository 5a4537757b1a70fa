using System.Text;

namespace SeekSharp.Tokenization;

/// <summary>
/// SentencePiece-style BPE as llama.cpp runs it for <c>tokenizer.ggml.model = llama</c>: start from one symbol
/// per code point and repeatedly join the adjacent pair whose concatenation is the highest-scoring token
/// (leftmost first on ties). A final symbol that is no token is spelled with byte tokens <c>&lt;0xXX&gt;</c>.
/// The caller has already replaced spaces with U+2581.
/// </summary>
internal sealed class SentencePieceEncoder(Dictionary<string, int> vocab, float[] scores)
{
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> lookup = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
    readonly int[] byteTokens = BuildByteTokens(vocab);

    static int[] BuildByteTokens(Dictionary<string, int> vocab)
    {
        var t = new int[256];
        for (int b = 0; b < 256; b++)
        {
            if (vocab.TryGetValue($"<0x{b:X2}>", out int id)) t[b] = id;
            // llama.cpp falls back to a token spelled as the raw byte itself.
            else t[b] = b < 0x80 && vocab.TryGetValue(((char)b).ToString(), out id) ? id : -1;
        }
        return t;
    }

    public void Encode(string text, List<int> output)
    {
        // Symbols are UTF-16 ranges, one code point each (a surrogate pair is one symbol).
        var start = new List<int>(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            start.Add(i);
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
        }
        int count = start.Count;
        if (count == 0) return;
        var len = new int[count];
        var prev = new int[count];
        var next = new int[count];
        for (int i = 0; i < count; i++)
        {
            len[i] = (i + 1 < count ? start[i + 1] : text.Length) - start[i];
            prev[i] = i - 1;
            next[i] = i + 1 < count ? i + 1 : -1;
        }

        // Max score first, then leftmost: encode as a min-priority over (-score, left).
        var queue = new PriorityQueue<(int Left, int Right, int Size), (float NegScore, int Left)>();
        void TryPush(int left, int right)
        {
            if (left < 0 || right < 0) return;
            int size = len[left] + len[right];
            if (!lookup.TryGetValue(text.AsSpan(start[left], size), out int id)) return;
            queue.Enqueue((left, right, size), (-scores[id], left));
        }
        for (int i = 1; i < count; i++) TryPush(i - 1, i);

        while (queue.TryDequeue(out var bg, out _))
        {
            // Stale when either side was merged away or has grown since the pair was queued.
            if (len[bg.Left] == 0 || len[bg.Right] == 0 || len[bg.Left] + len[bg.Right] != bg.Size) continue;
            len[bg.Left] += len[bg.Right];
            len[bg.Right] = 0;
            next[bg.Left] = next[bg.Right];
            if (next[bg.Right] >= 0) prev[next[bg.Right]] = bg.Left;
            TryPush(prev[bg.Left], bg.Left);
            TryPush(bg.Left, next[bg.Left]);
        }

        Span<byte> utf8 = stackalloc byte[8];
        for (int i = 0; i >= 0; i = next[i])
        {
            var piece = text.AsSpan(start[i], len[i]);
            if (lookup.TryGetValue(piece, out int id)) { output.Add(id); continue; }
            // Byte fallback. Joined symbols are always tokens, so only a single code point gets here.
            int n = Encoding.UTF8.GetBytes(piece, utf8);
            for (int k = 0; k < n; k++)
                if (byteTokens[utf8[k]] >= 0) output.Add(byteTokens[utf8[k]]);
        }
    }
}


using System.Collections.Concurrent;
using System.Diagnostics;

namespace SeekSharp.Tokenization;

/// <summary>
/// Byte-level BPE over one pre-tokenized word: start from one symbol per byte and repeatedly apply the
/// lowest-ranked merge among adjacent pairs, leftmost first on ties (llama.cpp's llm_tokenizer_bpe_session,
/// Hugging Face's BPE::merge_word). Results are cached per word, so common words cost one lookup.
/// </summary>
internal sealed class BytePairEncoder
{
    const int CacheCapacity = 1 << 17;

    readonly Dictionary<long, (int Rank, int Merged)> merges; // (leftId << 32 | rightId) -> (rank, merged id)
    readonly int[] byteTokens;                                  // [256] id of each byte's single-char token, -1 if absent
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> vocabLookup;
    readonly bool ignoreMerges;
    readonly ConcurrentDictionary<string, int[]> cache = new(TokenTextComparer.Instance);
    readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> cacheLookup;

    /// <param name="vocab">Byte-level token text -> id.</param>
    /// <param name="mergeList">Merges in rank order, each "left right".</param>
    /// <param name="ignoreMerges">Emit a word as one token when the whole word is in the vocabulary (Llama 3).</param>
    public BytePairEncoder(Dictionary<string, int> vocab, IReadOnlyList<string> mergeList, bool ignoreMerges)
    {
        vocabLookup = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        cacheLookup = cache.GetAlternateLookup<ReadOnlySpan<char>>();
        this.ignoreMerges = ignoreMerges;

        byteTokens = new int[256];
        for (int b = 0; b < 256; b++)
            byteTokens[b] = vocab.TryGetValue(ByteLevel.ByteToChar[b].ToString(), out int id) ? id : -1;

        merges = new Dictionary<long, (int, int)>(mergeList.Count, PairKeyComparer.Instance);
        for (int rank = 0; rank < mergeList.Count; rank++)
        {
            string m = mergeList[rank];
            // As llama.cpp: split at the first space after position 0, so a merge may start with a space.
            int sp = m.Length > 1 ? m.IndexOf(' ', 1) : -1;
            if (sp < 0) continue;
            if (!vocabLookup.TryGetValue(m.AsSpan(0, sp), out int left) || !vocabLookup.TryGetValue(m.AsSpan(sp + 1), out int right)) continue;
            if (!vocabLookup.TryGetValue(string.Concat(m.AsSpan(0, sp), m.AsSpan(sp + 1)), out int merged)) continue;
            merges.TryAdd(((long)left << 32) | (uint)right, (rank, merged));
        }
    }

    public int MergeCount => merges.Count;

    /// <summary>Appends the ids of one word given as its byte-level string (one char per UTF-8 byte).</summary>
    public void EncodeWord(ReadOnlySpan<char> word, List<int> output)
    {
        if (cacheLookup.TryGetValue(word, out int[]? cached))
        {
            output.AddRange(cached);
            return;
        }
        int[] ids = Merge(word);
        if (cache.Count < CacheCapacity) cacheLookup.TryAdd(word, ids);
        output.AddRange(ids);
    }

    int[] Merge(ReadOnlySpan<char> word)
    {
        if (ignoreMerges && vocabLookup.TryGetValue(word, out int whole)) return [whole];

        int n = word.Length;
        var ids = new int[n];
        int count = 0;
        for (int i = 0; i < n; i++)
        {
            int b = ByteLevel.CharToByte(word[i]);
            Debug.Assert(b >= 0);
            int id = byteTokens[b];
            // A vocabulary without this byte cannot spell it; llama.cpp drops it the same way.
            if (id >= 0) ids[count++] = id;
        }
        if (count <= 1) return ids[..count];

        // Doubly linked symbols; a merge folds the right symbol into the left one.
        var prev = new int[count];
        var next = new int[count];
        for (int i = 0; i < count; i++) { prev[i] = i - 1; next[i] = i + 1 < count ? i + 1 : -1; }

        // Priority: rank, then left position (both peers break ties leftmost first).
        var queue = new PriorityQueue<(int Left, int Right, int LeftId, int RightId), long>();
        void TryPush(int left, int right)
        {
            if (left < 0 || right < 0) return;
            if (merges.TryGetValue(((long)ids[left] << 32) | (uint)ids[right], out var m))
                queue.Enqueue((left, right, ids[left], ids[right]), ((long)m.Rank << 32) | (uint)left);
        }
        for (int i = 0; i + 1 < count; i++) TryPush(i, i + 1);

        const int Dead = -1;
        while (queue.TryDequeue(out var bg, out _))
        {
            // Stale entry: one side has since been merged away or grown into a different token.
            if (ids[bg.Left] != bg.LeftId || ids[bg.Right] != bg.RightId || next[bg.Left] != bg.Right) continue;
            ids[bg.Left] = merges[((long)bg.LeftId << 32) | (uint)bg.RightId].Merged;
            ids[bg.Right] = Dead;
            int after = next[bg.Right];
            next[bg.Left] = after;
            if (after >= 0) prev[after] = bg.Left;
            TryPush(prev[bg.Left], bg.Left);
            TryPush(bg.Left, after);
        }

        var result = new List<int>(count);
        for (int i = 0; i >= 0; i = next[i]) result.Add(ids[i]);
        return [.. result];
    }
}

/// <summary>
/// long.GetHashCode xors the two halves, so (left, right) id pairs collide massively (every a^b == c);
/// a multiplicative mix keeps the merge table's buckets short.
/// </summary>
file sealed class PairKeyComparer : IEqualityComparer<long>
{
    public static readonly PairKeyComparer Instance = new();
    public bool Equals(long x, long y) => x == y;
    public int GetHashCode(long key) => (int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> 32);
}

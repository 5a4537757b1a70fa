using System.Text;
using SeekSharp.Tokenization;

namespace SeekSharp.Training.Tokenizers;

/// <summary>
/// Trains a byte-level BPE vocabulary (GPT-2 style) on text, with the pre-tokenizer of <c>tokenizer.ggml.pre = qwen2</c>
/// (digits stay single tokens, which arithmetic needs).
/// </summary>
/// <remarks>
/// <para>The algorithm (Sennrich et al. 2016, byte-level as GPT-2): cut the added tokens out of the text, split the
/// rest with the same pre-tokenizer the engine's <see cref="Tokenizer"/> uses, count each distinct pre-token once with
/// its frequency, then repeatedly merge the most frequent adjacent pair of symbols. Merges never cross pre-tokens.</para>
/// <para>Ties between pairs of equal count go to the smaller (left id, right id): byte symbols have their byte value
/// as id and learned tokens are numbered in merge order, so older, shorter symbols win. Within a word a merge
/// replaces occurrences left to right without overlap ("aaa" with a+a gives "aa a"), as BPE encoding applies it.</para>
/// <para>Only the words that contain the merged pair are revisited, and a max-heap with lazy deletion finds the next
/// pair, so a merge costs time in proportion to the words it touches, not the corpus.</para>
/// </remarks>
public static class BpeTrainer
{
    /// <summary>Trains a tokenizer on <paramref name="texts"/>.</summary>
    /// <param name="texts">The corpus; each string is pre-tokenized on its own (no pre-token spans two strings).</param>
    /// <param name="options">Vocabulary size, added tokens, chat metadata.</param>
    /// <exception cref="ArgumentException">The options are inconsistent (too small a vocabulary, BOS/EOS not among
    /// the added tokens, duplicate added tokens).</exception>
    public static TrainedTokenizer Train(IEnumerable<string> texts, BpeTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);

        var words = CountPreTokens(texts, options.AddedTokens);
        int learnedBudget = options.VocabSize - options.AddedTokens.Count;
        var (tokens, merges) = LearnMerges(words, learnedBudget, options);
        return new TrainedTokenizer(tokens, merges, options);
    }

    static void Validate(BpeTrainerOptions o)
    {
        int minimum = ByteLevelSymbols + o.AddedTokens.Count;
        if (o.VocabSize < minimum)
            throw new ArgumentException($"VocabSize {o.VocabSize} is below the {ByteLevelSymbols} byte symbols plus {o.AddedTokens.Count} added tokens ({minimum}).", nameof(o));
        if (o.MinPairCount < 1)
            throw new ArgumentException($"MinPairCount must be at least 1, got {o.MinPairCount}.", nameof(o));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in o.AddedTokens)
        {
            if (string.IsNullOrEmpty(t.Content)) throw new ArgumentException("An added token is empty.", nameof(o));
            if (!seen.Add(t.Content)) throw new ArgumentException($"Added token '{t.Content}' is listed twice.", nameof(o));
            // The vocabulary stores byte symbols and added tokens side by side; one text may name only one id.
            if (t.Content.Length == 1 && ByteLevel.CharToByte(t.Content[0]) >= 0)
                throw new ArgumentException($"Added token '{t.Content}' is spelled like a byte symbol of the base vocabulary; choose a longer text.", nameof(o));
        }
        foreach (var (role, content) in new[] { ("BosToken", o.BosToken), ("EosToken", o.EosToken) })
            if (content is not null && !seen.Contains(content))
                throw new ArgumentException($"{role} '{content}' is not one of the added tokens; add it to AddedTokens.", nameof(o));
    }

    const int ByteLevelSymbols = 256;

    /// <summary>Distinct pre-tokens, in the byte-level alphabet, with how often each occurs; sorted for determinism.</summary>
    internal static List<(string Word, long Count)> CountPreTokens(IEnumerable<string> texts, IReadOnlyList<AddedToken> added)
    {
        var partitioner = new SpecialTokenPartitioner(
            [.. added.Select(a => a.Content)], [.. added.Select(_ => TokenAttributes.Control)]);
        var preTokenizer = PreTokenizer.Create(PreTokenizerKind.Qwen2, llamaCppClasses: false);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var spans = new List<(int Start, int Length)>();
        var sb = new StringBuilder();
        Span<byte> utf8 = stackalloc byte[4];

        foreach (var text in texts)
        {
            ArgumentNullException.ThrowIfNull(text, nameof(texts));
            foreach (var fragment in partitioner.Partition(text, parseSpecial: true))
            {
                if (fragment.IsToken) continue;
                // Code points as the encoder sees them: unpaired surrogates become U+FFFD.
                var chars = text.AsSpan(fragment.Start, fragment.Length);
                var cps = new int[chars.Length];
                int n = 0;
                for (int i = 0; i < chars.Length;)
                {
                    if (Rune.DecodeFromUtf16(chars[i..], out Rune r, out int used) != System.Buffers.OperationStatus.Done) r = Rune.ReplacementChar;
                    cps[n++] = r.Value;
                    i += used;
                }
                spans.Clear();
                preTokenizer.Split(cps.AsSpan(0, n), spans);
                foreach (var (start, length) in spans)
                {
                    sb.Clear();
                    for (int i = start; i < start + length; i++)
                    {
                        int nb = new Rune(cps[i]).EncodeToUtf8(utf8);
                        for (int k = 0; k < nb; k++) sb.Append(ByteLevel.ByteToChar[utf8[k]]);
                    }
                    string word = sb.ToString();
                    counts[word] = counts.GetValueOrDefault(word) + 1;
                }
            }
        }
        var list = counts.Select(kv => (kv.Key, kv.Value)).ToList();
        list.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return list;
    }

    static long PairKey(int left, int right) => ((long)left << 32) | (uint)right;

    // Max-heap order: higher count first, then smaller key (left id, then right id).
    static readonly Comparer<(long Count, long Key)> HeapOrder = Comparer<(long Count, long Key)>.Create(
        (x, y) => x.Count != y.Count ? y.Count.CompareTo(x.Count) : x.Key.CompareTo(y.Key));

    /// <summary>Returns the learned token texts (bytes first, id = byte value) and the merges in rank order.</summary>
    static (List<string> Tokens, List<string> Merges) LearnMerges(List<(string Word, long Count)> words, int budget, BpeTrainerOptions options)
    {
        var tokens = new List<string>(budget);
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int b = 0; b < ByteLevelSymbols; b++)
        {
            tokens.Add(ByteLevel.ByteToChar[b].ToString());
            ids[tokens[b]] = b;
        }
        // A learned token spelled like an added token would make the vocabulary ambiguous; such pairs are never merged.
        var reserved = new HashSet<string>(options.AddedTokens.Select(a => a.Content), StringComparer.Ordinal);
        var banned = new HashSet<long>();
        var merges = new List<string>();

        int nWords = words.Count;
        var symbols = new int[nWords][];   // [nWords][len] symbol ids, rewritten in place as merges shrink words
        var lengths = new int[nWords];
        var freq = new long[nWords];
        var pairCounts = new Dictionary<long, long>();
        var pairWords = new Dictionary<long, List<int>>();   // pair -> words that contain (or once contained) it
        for (int w = 0; w < nWords; w++)
        {
            string word = words[w].Word;
            symbols[w] = new int[word.Length];
            for (int i = 0; i < word.Length; i++) symbols[w][i] = ByteLevel.CharToByte(word[i]);
            lengths[w] = word.Length;
            freq[w] = words[w].Count;
            for (int i = 0; i + 1 < word.Length; i++)
            {
                long key = PairKey(symbols[w][i], symbols[w][i + 1]);
                pairCounts[key] = pairCounts.GetValueOrDefault(key) + freq[w];
                if (!pairWords.TryGetValue(key, out var list)) pairWords[key] = list = [];
                if (list.Count == 0 || list[^1] != w) list.Add(w);
            }
        }

        var heap = new PriorityQueue<long, (long Count, long Key)>(HeapOrder);
        foreach (var (key, count) in pairCounts) heap.Enqueue(key, (count, key));

        var delta = new Dictionary<long, long>();
        var visited = new int[nWords];   // merge number that last rewrote each word (dedupes pairWords lists)
        int mergeNumber = 0;
        while (tokens.Count < budget && heap.TryDequeue(out long best, out var entry))
        {
            // Lazy deletion: an entry is current only if its count is still the pair's count.
            if (!pairCounts.TryGetValue(best, out long count) || count != entry.Count) continue;
            if (count < options.MinPairCount) break;
            if (banned.Contains(best)) continue;
            int left = (int)(best >> 32), right = (int)(uint)best;
            string merged = tokens[left] + tokens[right];
            if (reserved.Contains(merged))
            {
                banned.Add(best);
                continue;
            }
            if (!ids.TryGetValue(merged, out int newId))
            {
                newId = tokens.Count;
                tokens.Add(merged);
                ids[merged] = newId;
            }
            merges.Add(tokens[left] + " " + tokens[right]);
            mergeNumber++;

            delta.Clear();
            foreach (int w in pairWords[best])
            {
                if (visited[w] == mergeNumber) continue;
                visited[w] = mergeNumber;
                MergeInWord(symbols[w], ref lengths[w], freq[w], left, right, newId, delta, pairWords, w);
            }
            pairWords.Remove(best);
            foreach (var (key, d) in delta)
            {
                long c = pairCounts.GetValueOrDefault(key) + d;
                if (c == 0) pairCounts.Remove(key);
                else
                {
                    pairCounts[key] = c;
                    heap.Enqueue(key, (c, key));
                }
            }
        }
        return (tokens, merges);
    }

    /// <summary>Replaces left+right by <paramref name="newId"/> in one word and records the pair count changes.</summary>
    static void MergeInWord(int[] s, ref int length, long f, int left, int right, int newId,
        Dictionary<long, long> delta, Dictionary<long, List<int>> pairWords, int w)
    {
        int n = length;
        bool found = false;
        for (int i = 0; i + 1 < n; i++)
            if (s[i] == left && s[i + 1] == right) { found = true; break; }
        if (!found) return;   // a stale entry: an earlier merge consumed the pair in this word

        for (int i = 0; i + 1 < n; i++) Add(delta, PairKey(s[i], s[i + 1]), -f);
        int j = 0;
        for (int i = 0; i < n; j++)
        {
            if (i + 1 < n && s[i] == left && s[i + 1] == right) { s[j] = newId; i += 2; }
            else s[j] = s[i++];
        }
        length = j;
        for (int i = 0; i + 1 < j; i++)
        {
            long key = PairKey(s[i], s[i + 1]);
            Add(delta, key, f);
            // Pairs without the new token were in this word before, so the word is already listed for them.
            if (s[i] == newId || s[i + 1] == newId)
            {
                if (!pairWords.TryGetValue(key, out var list)) pairWords[key] = list = [];
                if (list.Count == 0 || list[^1] != w) list.Add(w);
            }
        }
    }

    static void Add(Dictionary<long, long> d, long key, long value) => d[key] = d.GetValueOrDefault(key) + value;
}

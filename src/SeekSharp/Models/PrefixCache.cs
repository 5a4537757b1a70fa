namespace SeekSharp.Models;

/// <summary>
/// Keeps the KV pages of evaluated token sequences in a tree keyed by their tokens, so that a new sequence starting
/// with the same tokens (a system prompt, a conversation's earlier turns, several samples of one prompt) takes those
/// pages instead of evaluating them again. Each tree node is one page: the tokens of its positions and their keys and
/// values, under the node of the page before it (SGLang's radix cache at page granularity; vLLM hashes the same chain).
/// </summary>
/// <remarks>
/// <para>Whole pages are shared: a matching sequence holds the same page. A page that matches only in part (the
/// conversation diverged inside it, or a finished sequence's last, partly filled page) is copied up to the last
/// matching position, so reuse is exact to the token.</para>
/// <para>Pages no sequence holds stay cached until the pool runs short; then the least recently used leaf goes first,
/// so a chain is evicted from its end. A held page's ancestors are always held (sequences hold their pages from the
/// first), so every cached page can eventually be evicted.</para>
/// </remarks>
public sealed class PrefixCache
{
    private sealed class Node
    {
        public int Page = -1;
        public int[] Tokens = [];
        public int Hash;
        public Node? Parent;
        public readonly List<Node> Children = [];
        public LinkedListNode<Node>? Lru;   // set while evictable: unheld and without children
        public bool Full;
    }

    private readonly KvCache _cache;
    private readonly Node _root = new();
    private readonly Node?[] _nodes;              // by page
    private readonly LinkedList<Node> _lru = new(); // evictable leaves, least recently used first

    /// <summary>Attaches a prefix cache to <paramref name="cache"/>.</summary>
    public PrefixCache(KvCache cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        if (cache.Prefix is not null) throw new InvalidOperationException("the KV cache already has a prefix cache");
        _cache = cache;
        _nodes = new Node?[cache.Pages];
        cache.Prefix = this;
    }

    /// <summary>Pages the cache keeps that no sequence holds: all of them can be evicted.</summary>
    public int EvictablePages { get; private set; }
    /// <summary>Pages in the tree, held or not.</summary>
    public int CachedPages { get; private set; }
    /// <summary>Prompt tokens looked up by <see cref="Match"/>.</summary>
    public long QueriedTokens { get; private set; }
    /// <summary>Of those, tokens found (their keys and values reused).</summary>
    public long HitTokens { get; private set; }

    internal bool Contains(int page) => _nodes[page] is not null;

    /// <summary>
    /// Gives the empty <paramref name="sequence"/> the cached keys and values of the longest cached prefix of
    /// <paramref name="tokens"/>, leaving at least the last token to evaluate (its logits are needed); returns the
    /// positions reused.
    /// </summary>
    public int Match(int sequence, ReadOnlySpan<int> tokens)
    {
        if (_cache.Length(sequence) != 0 || _cache.PagesOf(sequence).Length != 0)
            throw new InvalidOperationException($"sequence {sequence} must be empty to take a cached prefix");
        int pageSize = _cache.PageSize, limit = Math.Min(tokens.Length - 1, _cache.ContextLength), matched = 0;
        QueriedTokens += tokens.Length;
        var node = _root;
        while (matched + pageSize <= limit && FindFull(node, tokens.Slice(matched, pageSize)) is { } child)
        {
            _cache.Attach(sequence, child.Page);
            matched += pageSize;
            node = child;
        }
        if (matched < limit)
        {
            // The best partial match among the children: copy its first rows into a page of the sequence's own.
            Node? best = null;
            int common = 0;
            var rest = tokens[matched..limit];
            foreach (var c in node.Children)
            {
                int n = CommonPrefix(c.Tokens, rest);
                if (n > common) { common = n; best = c; }
            }
            if (best is not null)
            {
                // Keep the source out of reach of the eviction that taking a page may cause.
                bool wasEvictable = best.Lru is not null;
                if (wasEvictable) { _lru.Remove(best.Lru!); best.Lru = null; }
                int? page = _cache.TakePage();
                if (wasEvictable) MakeEvictable(best, recent: true);
                if (page is int p)
                {
                    _cache.CopyRows(best.Page, p, common);
                    _cache.AppendTaken(sequence, p);
                    matched += common;
                }
            }
        }
        _cache.SetLength(sequence, matched);
        HitTokens += matched;
        return matched;
    }

    /// <summary>
    /// Records the pages holding <paramref name="tokens"/> (positions 0.. of <paramref name="sequence"/>, all written)
    /// for later <see cref="Match"/>es: every whole page, and the last partly filled one when
    /// <paramref name="includePartial"/> (a finished sequence, which no longer writes into it). A page whose tokens are
    /// cached already is swapped for the cached one, so equal prefixes share one copy.
    /// </summary>
    public void Insert(int sequence, ReadOnlySpan<int> tokens, bool includePartial)
    {
        if (tokens.Length > _cache.Length(sequence))
            throw new ArgumentException($"sequence {sequence} holds {_cache.Length(sequence)} positions, not {tokens.Length}", nameof(tokens));
        int pageSize = _cache.PageSize;
        var node = _root;
        for (int i = 0; i * pageSize < tokens.Length; i++)
        {
            int start = i * pageSize, count = Math.Min(pageSize, tokens.Length - start);
            bool full = count == pageSize;
            if (!full && !includePartial) break;
            int page = _cache.PagesOf(sequence)[i];
            if (_nodes[page] is { } own) { node = own; continue; }
            var block = tokens.Slice(start, count);
            var same = full ? FindFull(node, block) : FindExact(node, block);
            if (same is not null)
            {
                if (!full) break; // the finished sequence releases its copy right after
                _cache.ReplacePage(sequence, i, same.Page);
                node = same;
                continue;
            }
            var added = new Node { Page = page, Tokens = block.ToArray(), Hash = HashOf(block), Parent = node, Full = full };
            if (node.Lru is not null) { _lru.Remove(node.Lru); node.Lru = null; }
            node.Children.Add(added);
            _nodes[page] = added;
            CachedPages++;
            if (_cache.References(page) == 0) { EvictablePages++; MakeEvictable(added, recent: true); }
            if (!full) break;
            node = added;
        }
    }

    /// <summary>A page became held: it is no longer evictable.</summary>
    internal void Held(int page)
    {
        if (_nodes[page] is not { } node) return;
        EvictablePages--;
        if (node.Lru is not null) { _lru.Remove(node.Lru); node.Lru = null; }
    }

    /// <summary>A page is no longer held; true when the cache keeps it (so it must not be freed).</summary>
    internal bool Unheld(int page)
    {
        if (_nodes[page] is not { } node) return false;
        EvictablePages++;
        if (node.Children.Count == 0) MakeEvictable(node, recent: true);
        return true;
    }

    /// <summary>Evicts the least recently used unheld leaf, freeing its page; false when nothing can be evicted.</summary>
    internal bool EvictOne()
    {
        var first = _lru.First;
        if (first is null) return false;
        var node = first.Value;
        _lru.RemoveFirst();
        node.Lru = null;
        var parent = node.Parent!;
        parent.Children.Remove(node);
        _nodes[node.Page] = null;
        CachedPages--;
        EvictablePages--;
        _cache.Free(node.Page);
        // The parent, if now a leaf no one holds, follows soon: it was last used no later than its child.
        if (parent != _root && parent.Children.Count == 0 && _cache.References(parent.Page) == 0) MakeEvictable(parent, recent: false);
        return true;
    }

    /// <summary>Evicts every page no sequence holds.</summary>
    public void EvictAll()
    {
        while (EvictOne()) { }
    }

    private void MakeEvictable(Node node, bool recent)
    {
        if (node.Lru is not null) return;
        node.Lru = recent ? _lru.AddLast(node) : _lru.AddFirst(node);
    }

    private static Node? FindFull(Node node, ReadOnlySpan<int> block)
    {
        int hash = HashOf(block);
        foreach (var c in node.Children)
            if (c.Full && c.Hash == hash && block.SequenceEqual(c.Tokens)) return c;
        return null;
    }

    private static Node? FindExact(Node node, ReadOnlySpan<int> block)
    {
        int hash = HashOf(block);
        foreach (var c in node.Children)
            if (c.Hash == hash && block.SequenceEqual(c.Tokens)) return c;
        return null;
    }

    private static int CommonPrefix(int[] a, ReadOnlySpan<int> b)
    {
        int n = Math.Min(a.Length, b.Length), i = 0;
        while (i < n && a[i] == b[i]) i++;
        return i;
    }

    private static int HashOf(ReadOnlySpan<int> tokens)
    {
        var h = new HashCode();
        h.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(tokens));
        return h.ToHashCode();
    }
}

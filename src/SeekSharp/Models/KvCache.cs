using System.Runtime.InteropServices;
using SeekSharp.Kernels;

namespace SeekSharp.Models;

/// <summary>
/// Keys and values of every evaluated position, in pages: fixed-size blocks of <see cref="PageSize"/> positions taken
/// from one pool as sequences grow, rather than a whole context reserved per sequence (vLLM's PagedAttention layout).
/// Each sequence maps its positions to pages through a page table; a page may be shared by several sequences (a common
/// prompt, forked samples) and by the <see cref="PrefixCache"/>, and is never written while shared: writing into one
/// copies it first.
/// </summary>
/// <remarks>
/// What a position holds is the architecture's <see cref="KvLayout"/>. A page is one block of native memory holding, for
/// every layer, its key rows [PageSize][KeyWidth] and then, unless the values are part of the keys (MLA), its value rows
/// [PageSize][ValueWidth], in elements of <see cref="ElementType"/> (F16 or F32). The pool is allocated once; the
/// operating system commits its memory as pages are first touched, and freed pages are reused most recent first.
/// </remarks>
public sealed unsafe class KvCache : IDisposable
{
    private byte* _pool;
    private int* _tables;              // [Sequences, PagesPerSequence] page ids (valid below _held[seq])
    private readonly int[] _held;      // [Sequences] pages in each table
    private readonly int[] _lengths;   // [Sequences] positions filled
    private readonly int[] _refs;      // [Pages] sequences holding each page
    private readonly Stack<int> _free; // pages neither held nor cached, most recently freed on top
    private readonly int _pageShift;

    internal KvCache(int layers, int sequences, int contextLength, KvLayout layout, GgmlType elementType, int pageSize = 64, long poolPositions = 0)
    {
        if (elementType is not (GgmlType.F32 or GgmlType.F16))
            throw new ArgumentException($"KV cache type {elementType} is not supported; use F16 or F32", nameof(elementType));
        ArgumentOutOfRangeException.ThrowIfLessThan(sequences, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(contextLength, 1);
        if (pageSize < 1 || pageSize > 128 || (pageSize & (pageSize - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(pageSize), pageSize, "the page size must be a power of two from 1 to 128");
        Layers = layers; Sequences = sequences; ContextLength = contextLength; Layout = layout;
        ElementType = elementType;
        ElementBytes = ElementBytesOf(elementType);
        PageSize = pageSize;
        _pageShift = System.Numerics.BitOperations.Log2((uint)pageSize);
        PagesPerSequence = (contextLength + pageSize - 1) / pageSize;
        long positions = poolPositions > 0 ? poolPositions : (long)sequences * PagesPerSequence * pageSize;
        Pages = (int)Math.Min(int.MaxValue / 2, (positions + pageSize - 1) / pageSize);
        if (Pages < PagesPerSequence)
            throw new ArgumentOutOfRangeException(nameof(poolPositions), poolPositions,
                $"the KV pool of {Pages * (long)pageSize} positions cannot hold even one sequence of the context length {contextLength}");
        KeyLayerBytes = (long)pageSize * layout.KeyWidth * ElementBytes;
        ValueLayerBytes = layout.ValuesInKeys ? 0 : (long)pageSize * layout.ValueWidth * ElementBytes;
        PageBytes = layers * (KeyLayerBytes + ValueLayerBytes);
        _pool = (byte*)NativeMemory.AlignedAlloc((nuint)(Pages * PageBytes), 64);
        _tables = (int*)NativeMemory.Alloc((nuint)sequences * (nuint)PagesPerSequence, sizeof(int));
        _held = new int[sequences];
        _lengths = new int[sequences];
        _refs = new int[Pages];
        _free = new Stack<int>(Pages);
        for (int p = Pages - 1; p >= 0; p--) _free.Push(p);
    }

    /// <summary>
    /// Bytes of keys and values a cache for <paramref name="config"/> holding <paramref name="sequences"/> full
    /// contexts allocates, so a caller can size a context before creating it (a double: a mistaken length may not fit a long).
    /// </summary>
    public static double Bytes(ModelConfig config, int sequences, long contextLength, GgmlType elementType)
    {
        ArgumentNullException.ThrowIfNull(config);
        return (double)sequences * contextLength * BytesPerPosition(config, elementType);
    }

    /// <summary>Bytes one position of one sequence takes over all layers: L × the architecture's
    /// <see cref="KvLayout.ElementsPerPosition"/> × the element size.</summary>
    public static long BytesPerPosition(ModelConfig config, GgmlType elementType)
    {
        ArgumentNullException.ThrowIfNull(config);
        return (long)config.BlockCount * config.CacheLayout.ElementsPerPosition * ElementBytesOf(elementType);
    }

    private static int ElementBytesOf(GgmlType elementType) => elementType == GgmlType.F16 ? sizeof(ushort) : sizeof(float);

    /// <summary>Context length: positions each sequence can hold.</summary>
    public int ContextLength { get; }
    /// <summary>Sequences the cache holds independently.</summary>
    public int Sequences { get; }
    /// <summary>How keys and values are stored: <see cref="GgmlType.F16"/> or <see cref="GgmlType.F32"/>.</summary>
    public GgmlType ElementType { get; }
    /// <summary>Positions per page.</summary>
    public int PageSize { get; }
    /// <summary>Pages in the pool.</summary>
    public int Pages { get; }
    /// <summary>Pages no sequence holds and the prefix cache does not keep.</summary>
    public int FreePages => _free.Count;
    /// <summary>Pages at least one sequence holds.</summary>
    public int PagesInUse { get; private set; }
    /// <summary>The prefix cache that keeps finished sequences' pages for reuse, when one is attached.</summary>
    public PrefixCache? Prefix { get; internal set; }
    internal int ElementBytes { get; }
    internal int Layers { get; }
    internal int PagesPerSequence { get; }
    internal long PageBytes { get; }
    internal long KeyLayerBytes { get; }
    internal long ValueLayerBytes { get; }
    /// <summary>What a position holds.</summary>
    public KvLayout Layout { get; }
    /// <summary>Elements between the key rows of consecutive positions of a page.</summary>
    internal int KeyStride => Layout.KeyWidth;
    /// <summary>Elements between the value rows of consecutive positions (the key stride when values live in the keys).</summary>
    internal int ValueStride => Layout.ValuesInKeys ? Layout.KeyWidth : Layout.ValueWidth;
    internal int PageShift => _pageShift;
    internal int* Tables => _tables;

    /// <summary>Positions 0..n-1 of <paramref name="sequence"/> are filled.</summary>
    public int Length(int sequence) => _lengths[sequence];

    /// <summary>Pages the given number of positions occupies.</summary>
    public int PagesFor(long positions) => (int)((positions + PageSize - 1) >> _pageShift);

    /// <summary>Forgets positions ≥ <paramref name="length"/> of a sequence (keep a shared prefix, drop the rest).
    /// Pages past the new length are released; a shared page the new length ends inside is copied first, so that the
    /// sequence's next writes never reach the other holders.</summary>
    public void Truncate(int sequence, int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _lengths[sequence]);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        int keep = PagesFor(length);
        while (_held[sequence] > keep) Release(_tables[sequence * PagesPerSequence + --_held[sequence]]);
        _lengths[sequence] = length;
        if ((length & (PageSize - 1)) != 0) MakePrivate(sequence, keep - 1);
    }

    /// <summary>Forgets a whole sequence, releasing its pages.</summary>
    public void Clear(int sequence) => Truncate(sequence, 0);

    /// <summary>Makes <paramref name="to"/> start with the first <paramref name="length"/> positions of <paramref name="from"/>
    /// (fork a shared prompt): whole pages are shared, not copied; a last partial page is copied.</summary>
    public void Copy(int from, int to, int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _lengths[from]);
        if (from == to) { Truncate(to, length); return; }
        Clear(to);
        int full = length >> _pageShift;
        for (int i = 0; i < full; i++) Attach(to, _tables[from * PagesPerSequence + i]);
        int rest = length - full * PageSize;
        if (rest > 0)
        {
            int page = TakePage() ?? throw Exhausted(to, length);
            CopyRows(_tables[from * PagesPerSequence + full], page, rest);
            _tables[to * PagesPerSequence + _held[to]++] = page;
        }
        _lengths[to] = length;
    }

    /// <summary>
    /// Makes sure positions up to <paramref name="length"/> of <paramref name="sequence"/> have pages, taking free pages
    /// (or evicting the prefix cache's least recently used ones); false, with nothing taken, when the pool cannot.
    /// </summary>
    public bool TryReserve(int sequence, int length)
    {
        if (length > ContextLength) return false;
        int need = PagesFor(length) - _held[sequence];
        if (need <= 0) return true;
        if (!CanTake(need)) return false;
        for (int i = 0; i < need; i++)
            _tables[sequence * PagesPerSequence + _held[sequence]++] = TakePage()!.Value;
        return true;
    }

    /// <summary>True when <paramref name="pages"/> more pages can be taken (free ones, or cached ones the prefix cache can evict).</summary>
    public bool CanTake(int pages) => pages <= _free.Count + (Prefix?.EvictablePages ?? 0);

    /// <summary>Start of the key row [KeyWidth] of one position.</summary>
    internal byte* Key(int layer, int sequence, int position) =>
        PageStart(sequence, position) + layer * KeyLayerBytes + (long)(position & (PageSize - 1)) * KeyStride * ElementBytes;
    /// <summary>Start of the value row [ValueWidth] of one position.</summary>
    internal byte* Value(int layer, int sequence, int position) => Layout.ValuesInKeys
        ? Key(layer, sequence, position)
        : PageStart(sequence, position) + Layers * KeyLayerBytes + layer * ValueLayerBytes + (long)(position & (PageSize - 1)) * ValueStride * ElementBytes;

    /// <summary>Key rows of <paramref name="layer"/> in page 0: page p's are <see cref="PageBytes"/> × p further.</summary>
    internal byte* LayerKeys(int layer) => _pool + layer * KeyLayerBytes;
    /// <summary>Value rows of <paramref name="layer"/> in page 0.</summary>
    internal byte* LayerValues(int layer) => Layout.ValuesInKeys ? LayerKeys(layer) : _pool + Layers * KeyLayerBytes + layer * ValueLayerBytes;

    private byte* PageStart(int sequence, int position)
    {
        int index = position >> _pageShift;
        if ((uint)index >= (uint)_held[sequence])
            throw new InvalidOperationException($"position {position} of sequence {sequence} has no KV page (reserve it first)");
        return _pool + _tables[sequence * PagesPerSequence + index] * PageBytes;
    }

    /// <summary>Records that positions up to <paramref name="position"/> of a sequence are written.</summary>
    internal void MarkFilled(int sequence, int position)
    {
        if (position + 1 > _lengths[sequence]) _lengths[sequence] = position + 1;
    }

    /// <summary>Page ids of a sequence's positions, in order.</summary>
    internal ReadOnlySpan<int> PagesOf(int sequence) => new(_tables + sequence * PagesPerSequence, _held[sequence]);

    /// <summary>Sequences holding <paramref name="page"/>.</summary>
    internal int References(int page) => _refs[page];

    /// <summary>Appends an existing page to a sequence's table and holds it (prefix reuse, forks).</summary>
    internal void Attach(int sequence, int page)
    {
        if (_held[sequence] == PagesPerSequence) throw new InvalidOperationException($"sequence {sequence} already holds a whole context of pages");
        Hold(page);
        _tables[sequence * PagesPerSequence + _held[sequence]++] = page;
    }

    /// <summary>Appends a page just taken (<see cref="TakePage"/>, already held once) to a sequence's table.</summary>
    internal void AppendTaken(int sequence, int page)
    {
        if (_held[sequence] == PagesPerSequence) throw new InvalidOperationException($"sequence {sequence} already holds a whole context of pages");
        _tables[sequence * PagesPerSequence + _held[sequence]++] = page;
    }

    /// <summary>Makes entry <paramref name="index"/> of a sequence's table <paramref name="page"/>, whose rows are equal
    /// to the ones it replaces (the prefix cache deduplicating equal pages).</summary>
    internal void ReplacePage(int sequence, int index, int page)
    {
        int slot = sequence * PagesPerSequence + index, old = _tables[slot];
        if (old == page) return;
        Hold(page);
        _tables[slot] = page;
        Release(old);
    }

    /// <summary>Sets a sequence's length after attaching pages whose rows are already written.</summary>
    internal void SetLength(int sequence, int length)
    {
        if (PagesFor(length) > _held[sequence]) throw new InvalidOperationException($"length {length} needs more pages than sequence {sequence} holds");
        _lengths[sequence] = length;
    }

    /// <summary>A fresh page held once: a free one, or one the prefix cache evicts; null when there is none.</summary>
    internal int? TakePage()
    {
        if (_free.Count == 0 && !(Prefix?.EvictOne() ?? false)) return null;
        int page = _free.Pop();
        _refs[page] = 1;
        PagesInUse++;
        return page;
    }

    /// <summary>Returns a page no one holds or caches to the free stack (the prefix cache evicting it).</summary>
    internal void Free(int page)
    {
        if (_refs[page] != 0) throw new InvalidOperationException($"page {page} is still held");
        _free.Push(page);
    }

    /// <summary>Copies the first <paramref name="rows"/> positions of every layer of one page into another.</summary>
    internal void CopyRows(int source, int destination, int rows)
    {
        byte* s = _pool + source * PageBytes, d = _pool + destination * PageBytes;
        long keyBytes = (long)rows * KeyStride * ElementBytes, valueBytes = (long)rows * ValueStride * ElementBytes;
        for (int l = 0; l < Layers; l++)
        {
            Buffer.MemoryCopy(s + l * KeyLayerBytes, d + l * KeyLayerBytes, keyBytes, keyBytes);
            if (Layout.ValuesInKeys) continue;
            long offset = Layers * KeyLayerBytes + l * ValueLayerBytes;
            Buffer.MemoryCopy(s + offset, d + offset, valueBytes, valueBytes);
        }
    }

    // One more sequence holds the page; the first takes it out of the prefix cache's evictable set.
    private void Hold(int page)
    {
        if (_refs[page]++ > 0) return;
        PagesInUse++;
        Prefix?.Held(page);
    }

    private void Release(int page)
    {
        if (--_refs[page] > 0) return;
        PagesInUse--;
        if (Prefix is null || !Prefix.Unheld(page)) _free.Push(page);
    }

    // A page that other sequences hold or the prefix cache keeps is read-only: give the sequence its own copy.
    private void MakePrivate(int sequence, int index)
    {
        int slot = sequence * PagesPerSequence + index, page = _tables[slot];
        if (_refs[page] == 1 && !(Prefix?.Contains(page) ?? false)) return;
        int copy = TakePage() ?? throw Exhausted(sequence, _lengths[sequence]);
        CopyRows(page, copy, PageSize);
        _tables[slot] = copy;
        Release(page);
    }

    private InvalidOperationException Exhausted(int sequence, int length) =>
        new($"the KV cache has no free page for sequence {sequence} at length {length}: all {Pages} pages of {PageSize} positions are in use");

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_pool is null) return;
        NativeMemory.AlignedFree(_pool);
        NativeMemory.Free(_tables);
        _pool = null; _tables = null;
    }
}

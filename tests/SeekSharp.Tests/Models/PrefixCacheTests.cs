using SeekSharp.Kernels;
using SeekSharp.Models;

namespace SeekSharp.Tests.Models;

/// <summary>The paged KV cache and its prefix cache on their own: sharing, copying, copy-on-write, eviction order.</summary>
public unsafe class PrefixCacheTests
{
    // One layer, a 2-wide key and value per position: a position's key holds (sequence-independent) token and position.
    private static KvCache Cache(int sequences, int pages, int pageSize = 4) =>
        new(1, sequences, Math.Min(64, pages * pageSize), new KvLayout(2, 2, false), GgmlType.F32, pageSize, (long)pages * pageSize);

    private static void Write(KvCache cache, int sequence, ReadOnlySpan<int> tokens)
    {
        int start = cache.Length(sequence);
        Assert.True(cache.TryReserve(sequence, start + tokens.Length));
        for (int i = 0; i < tokens.Length; i++)
        {
            float* k = (float*)cache.Key(0, sequence, start + i), v = (float*)cache.Value(0, sequence, start + i);
            k[0] = tokens[i]; k[1] = start + i; v[0] = -tokens[i]; v[1] = -(start + i);
            cache.MarkFilled(sequence, start + i);
        }
    }

    private static void AssertHolds(KvCache cache, int sequence, ReadOnlySpan<int> tokens)
    {
        Assert.Equal(tokens.Length, cache.Length(sequence));
        for (int i = 0; i < tokens.Length; i++)
        {
            float* k = (float*)cache.Key(0, sequence, i), v = (float*)cache.Value(0, sequence, i);
            Assert.Equal((tokens[i], i, -tokens[i], -i), ((int)k[0], (int)k[1], (int)v[0], (int)v[1]));
        }
    }

    [Fact]
    public void WholePagesAreSharedAndAPartlyMatchingPageIsCopied()
    {
        using var cache = Cache(2, 16);
        var prefix = new PrefixCache(cache);
        int[] first = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        Write(cache, 0, first);
        prefix.Insert(0, first, includePartial: true);
        int[] second = [1, 2, 3, 4, 5, 6, 7, 8, 9, 99, 100];
        int reused = prefix.Match(1, second);
        Assert.Equal(9, reused);   // two whole pages and one row of the third
        Assert.Equal(cache.PagesOf(0)[0], cache.PagesOf(1)[0]);
        Assert.Equal(cache.PagesOf(0)[1], cache.PagesOf(1)[1]);
        Assert.NotEqual(cache.PagesOf(0)[2], cache.PagesOf(1)[2]);
        Assert.Equal(2, cache.References(cache.PagesOf(0)[0]));
        Write(cache, 1, second.AsSpan(9));
        AssertHolds(cache, 1, second);
        AssertHolds(cache, 0, first); // the copy kept the first sequence's third page intact
    }

    [Fact]
    public void AtLeastTheLastTokenIsLeftToEvaluate()
    {
        using var cache = Cache(2, 16);
        var prefix = new PrefixCache(cache);
        int[] tokens = [1, 2, 3, 4, 5, 6, 7, 8];
        Write(cache, 0, tokens);
        prefix.Insert(0, tokens, includePartial: true);
        cache.Clear(0);
        Assert.Equal(7, prefix.Match(1, tokens));
        AssertHolds(cache, 1, tokens.AsSpan(0, 7));
    }

    [Fact]
    public void TruncatingIntoASharedPageCopiesItFirst()
    {
        using var cache = Cache(2, 16);
        int[] tokens = [1, 2, 3, 4, 5, 6];
        Write(cache, 0, tokens);
        cache.Copy(0, 1, 6);   // page 0 shared, the partial page 1 copied
        Assert.Equal(cache.PagesOf(0)[0], cache.PagesOf(1)[0]);
        cache.Truncate(1, 2);  // inside the shared page: sequence 1 gets its own copy
        Assert.NotEqual(cache.PagesOf(0)[0], cache.PagesOf(1)[0]);
        Write(cache, 1, [77, 78]);
        AssertHolds(cache, 0, tokens);
        AssertHolds(cache, 1, [1, 2, 77, 78]);
    }

    [Fact]
    public void UnheldPagesAreEvictedLeastRecentlyUsedFirstWhenThePoolRunsShort()
    {
        using var cache = Cache(2, 6);
        var prefix = new PrefixCache(cache);
        int[] a = [1, 2, 3, 4, 5, 6, 7, 8], b = [9, 10, 11, 12, 13, 14, 15, 16];
        Write(cache, 0, a);
        prefix.Insert(0, a, includePartial: true);
        cache.Clear(0);
        Write(cache, 0, b);
        prefix.Insert(0, b, includePartial: true);
        cache.Clear(0);
        Assert.Equal(0, cache.PagesInUse);
        Assert.Equal(4, prefix.EvictablePages);
        Assert.True(cache.CanTake(6));
        // Four pages for a new sequence: the two free ones, then a's chain (least recently used), end first.
        Assert.True(cache.TryReserve(1, 16));
        Assert.Equal(2, prefix.EvictablePages);
        cache.Clear(1);
        Assert.Equal(7, prefix.Match(0, b)); // b survived
        Assert.Equal(0, prefix.Match(1, a));  // a was evicted
    }

    [Fact]
    public void EqualPagesInsertedTwiceAreKeptOnce()
    {
        using var cache = Cache(2, 16);
        var prefix = new PrefixCache(cache);
        int[] tokens = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        Write(cache, 0, tokens);
        Write(cache, 1, tokens);
        prefix.Insert(0, tokens, includePartial: false);
        prefix.Insert(1, tokens, includePartial: false);
        Assert.Equal(cache.PagesOf(0)[0], cache.PagesOf(1)[0]);
        Assert.Equal(cache.PagesOf(0)[1], cache.PagesOf(1)[1]);
        Assert.Equal(2, prefix.CachedPages);
        AssertHolds(cache, 1, tokens);
    }
}

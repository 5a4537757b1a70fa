using System.Runtime.InteropServices;
using SeekSharp.Kernels;

namespace SeekSharp.Models;

/// <summary>
/// Keys and values of every evaluated position, per layer and sequence, in native memory so that
/// large caches are not limited by array sizes and do not burden the GC.
/// Layout of each of K and V: [L][nSeq][ctx][Hkv · Dh], elements of <see cref="ElementType"/> (F16 or F32).
/// </summary>
public sealed unsafe class KvCache : IDisposable
{
    private byte* _k, _v;
    private readonly int[] _lengths; // [nSeq] positions filled, 0..ctx

    internal KvCache(int layers, int sequences, int contextLength, int kvDim, GgmlType elementType)
    {
        if (elementType is not (GgmlType.F32 or GgmlType.F16))
            throw new ArgumentException($"KV cache type {elementType} is not supported; use F16 or F32", nameof(elementType));
        Layers = layers; Sequences = sequences; ContextLength = contextLength; KvDim = kvDim;
        ElementType = elementType;
        ElementBytes = ElementBytesOf(elementType);
        nuint bytes = (nuint)layers * (nuint)sequences * (nuint)contextLength * (nuint)kvDim * (nuint)ElementBytes;
        _k = (byte*)NativeMemory.AlignedAlloc(bytes, 64);
        _v = (byte*)NativeMemory.AlignedAlloc(bytes, 64);
        _lengths = new int[sequences];
    }

    /// <summary>
    /// Bytes of keys and values together that a cache for <paramref name="config"/> allocates, so a caller can size a
    /// context before creating it (a double: a mistaken length may not fit a long).
    /// </summary>
    public static double Bytes(ModelConfig config, int sequences, long contextLength, GgmlType elementType)
    {
        ArgumentNullException.ThrowIfNull(config);
        return 2.0 * config.BlockCount * sequences * contextLength * config.HeadCountKv * config.HeadDim * ElementBytesOf(elementType);
    }

    private static int ElementBytesOf(GgmlType elementType) => elementType == GgmlType.F16 ? sizeof(ushort) : sizeof(float);

    /// <summary>Context length: positions each sequence can hold.</summary>
    public int ContextLength { get; }
    /// <summary>Sequences the cache holds independently.</summary>
    public int Sequences { get; }
    /// <summary>How keys and values are stored: <see cref="GgmlType.F16"/> or <see cref="GgmlType.F32"/>.</summary>
    public GgmlType ElementType { get; }
    internal int ElementBytes { get; }
    internal int Layers { get; }
    internal int KvDim { get; }

    /// <summary>Positions 0..n-1 of <paramref name="sequence"/> are filled.</summary>
    public int Length(int sequence) => _lengths[sequence];

    /// <summary>Forgets positions ≥ <paramref name="length"/> of a sequence (keep a shared prefix, drop the rest).</summary>
    public void Truncate(int sequence, int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _lengths[sequence]);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _lengths[sequence] = length;
    }

    /// <summary>Forgets a whole sequence.</summary>
    public void Clear(int sequence) => _lengths[sequence] = 0;

    /// <summary>Copies the first <paramref name="length"/> positions of one sequence into another (fork a shared prompt).</summary>
    public void Copy(int from, int to, int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _lengths[from]);
        for (int l = 0; l < Layers; l++)
        {
            long bytes = (long)length * KvDim * ElementBytes;
            Buffer.MemoryCopy(Key(l, from, 0), Key(l, to, 0), bytes, bytes);
            Buffer.MemoryCopy(Value(l, from, 0), Value(l, to, 0), bytes, bytes);
        }
        _lengths[to] = length;
    }

    /// <summary>Start of the key row [Hkv · Dh] of one position.</summary>
    internal byte* Key(int layer, int sequence, int position) => _k + Index(layer, sequence, position) * (nuint)ElementBytes;
    /// <summary>Start of the value row [Hkv · Dh] of one position.</summary>
    internal byte* Value(int layer, int sequence, int position) => _v + Index(layer, sequence, position) * (nuint)ElementBytes;

    internal void MarkFilled(int sequence, int position)
    {
        if (position + 1 > _lengths[sequence]) _lengths[sequence] = position + 1;
    }

    private nuint Index(int layer, int sequence, int position)
        => (((nuint)layer * (nuint)Sequences + (nuint)sequence) * (nuint)ContextLength + (nuint)position) * (nuint)KvDim;

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_k is null) return;
        NativeMemory.AlignedFree(_k); NativeMemory.AlignedFree(_v);
        _k = null; _v = null;
    }
}

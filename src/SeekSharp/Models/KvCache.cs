using System.Runtime.InteropServices;
using SeekSharp.Kernels;

namespace SeekSharp.Models;

/// <summary>
/// Keys and values of every evaluated position, per layer and sequence, in native memory so that
/// large caches are not limited by array sizes and do not burden the GC. What a position holds is the architecture's
/// <see cref="KvLayout"/>: keys [L][nSeq][ctx][KeyWidth] and values [L][nSeq][ctx][ValueWidth], or, when the values are
/// part of the keys (MLA), keys alone; elements of <see cref="ElementType"/> (F16 or F32).
/// </summary>
public sealed unsafe class KvCache : IDisposable
{
    private byte* _k, _v;
    private readonly int[] _lengths; // [nSeq] positions filled, 0..ctx

    internal KvCache(int layers, int sequences, int contextLength, KvLayout layout, GgmlType elementType)
    {
        if (elementType is not (GgmlType.F32 or GgmlType.F16))
            throw new ArgumentException($"KV cache type {elementType} is not supported; use F16 or F32", nameof(elementType));
        Layers = layers; Sequences = sequences; ContextLength = contextLength; Layout = layout;
        ElementType = elementType;
        ElementBytes = ElementBytesOf(elementType);
        nuint positions = (nuint)layers * (nuint)sequences * (nuint)contextLength * (nuint)ElementBytes;
        _k = (byte*)NativeMemory.AlignedAlloc(positions * (nuint)layout.KeyWidth, 64);
        _v = layout.ValuesInKeys ? _k : (byte*)NativeMemory.AlignedAlloc(positions * (nuint)layout.ValueWidth, 64);
        _lengths = new int[sequences];
    }

    /// <summary>
    /// Bytes of keys and values together that a cache for <paramref name="config"/> allocates, so a caller can size a
    /// context before creating it (a double: a mistaken length may not fit a long).
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
    internal int ElementBytes { get; }
    internal int Layers { get; }
    /// <summary>What a position holds.</summary>
    public KvLayout Layout { get; }
    /// <summary>Elements between the key rows of consecutive positions.</summary>
    internal int KeyStride => Layout.KeyWidth;
    /// <summary>Elements between the value rows of consecutive positions (the key stride when values live in the keys).</summary>
    internal int ValueStride => Layout.ValuesInKeys ? Layout.KeyWidth : Layout.ValueWidth;

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
            long keyBytes = (long)length * KeyStride * ElementBytes;
            Buffer.MemoryCopy(Key(l, from, 0), Key(l, to, 0), keyBytes, keyBytes);
            if (Layout.ValuesInKeys) continue;
            long valueBytes = (long)length * ValueStride * ElementBytes;
            Buffer.MemoryCopy(Value(l, from, 0), Value(l, to, 0), valueBytes, valueBytes);
        }
        _lengths[to] = length;
    }

    /// <summary>Start of the key row [KeyWidth] of one position.</summary>
    internal byte* Key(int layer, int sequence, int position) => _k + Index(layer, sequence, position) * (nuint)KeyStride * (nuint)ElementBytes;
    /// <summary>Start of the value row [ValueWidth] of one position.</summary>
    internal byte* Value(int layer, int sequence, int position) => _v + Index(layer, sequence, position) * (nuint)ValueStride * (nuint)ElementBytes;

    internal void MarkFilled(int sequence, int position)
    {
        if (position + 1 > _lengths[sequence]) _lengths[sequence] = position + 1;
    }

    // Position index over all layers and sequences; times a row stride, the element offset of its row.
    private nuint Index(int layer, int sequence, int position)
        => ((nuint)layer * (nuint)Sequences + (nuint)sequence) * (nuint)ContextLength + (nuint)position;

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_k is null) return;
        if (_v != _k) NativeMemory.AlignedFree(_v);
        NativeMemory.AlignedFree(_k);
        _k = null; _v = null;
    }
}

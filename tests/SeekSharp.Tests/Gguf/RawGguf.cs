using System.Buffers.Binary;
using System.Text;

namespace SeekSharp.Tests.Gguf;

/// <summary>Writes GGUF fields by hand so tests can build files the writer refuses to produce.</summary>
internal sealed class RawGguf
{
    readonly List<byte> _bytes = [];

    public int Position => _bytes.Count;

    public RawGguf Bytes(params byte[] bytes) { _bytes.AddRange(bytes); return this; }

    public RawGguf U32(uint v) { var b = new byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); return Bytes(b); }

    public RawGguf U64(ulong v) { var b = new byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); return Bytes(b); }

    public RawGguf Str(string s) { var b = Encoding.UTF8.GetBytes(s); U64((ulong)b.Length); return Bytes(b); }

    /// <summary>Magic, version and the two counts.</summary>
    public static RawGguf Header(ulong tensors, ulong kvs, uint version = 3) =>
        new RawGguf().Bytes("GGUF"u8.ToArray()).U32(version).U64(tensors).U64(kvs);

    /// <summary>One tensor info: name, dims, type id, offset.</summary>
    public RawGguf Tensor(string name, uint type, ulong offset, params long[] shape)
    {
        Str(name).U32((uint)shape.Length);
        foreach (long d in shape) U64((ulong)d);
        return U32(type).U64(offset);
    }

    public RawGguf PadTo(int alignment)
    {
        while (_bytes.Count % alignment != 0) _bytes.Add(0);
        return this;
    }

    public RawGguf Zeros(int n) => Bytes(new byte[n]);

    public byte[] ToArray() => [.. _bytes];
}

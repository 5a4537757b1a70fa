using System.Buffers.Binary;
using System.Text.Json;

namespace SeekSharp.Safetensors;

/// <summary>
/// Builds a safetensors file: an 8-byte little-endian header length, the JSON header (padded with spaces to a
/// multiple of 8 bytes, as the reference writer does, so that the data section is aligned), then each tensor's bytes
/// back to back in the order they were added.
/// </summary>
public sealed class SafetensorsWriter
{
    readonly List<(string Name, SafetensorsDType Type, long[] Shape, ReadOnlyMemory<byte> Data)> _tensors = [];
    readonly HashSet<string> _names = new(StringComparer.Ordinal);
    readonly SortedDictionary<string, string> _metadata = new(StringComparer.Ordinal);

    /// <summary>Sets a <c>__metadata__</c> entry (e.g. <c>format</c> = <c>pt</c>).</summary>
    public void SetMetadata(string key, string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        _metadata[key] = value;
    }

    /// <summary>
    /// Adds a tensor. <paramref name="shape"/> is row-major, outermost first (PyTorch's order); <paramref name="data"/>
    /// holds its elements little-endian and is referenced, not copied, until <see cref="Write(Stream)"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The name is taken or reserved, or the data length does not match the shape.</exception>
    public void Add(string name, SafetensorsDType type, long[] shape, ReadOnlyMemory<byte> data)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        if (name == "__metadata__") throw new ArgumentException("'__metadata__' is reserved for the metadata map", nameof(name));
        if (!_names.Add(name)) throw new ArgumentException($"tensor '{name}' was already added", nameof(name));
        long elements = 1;
        foreach (long d in shape)
        {
            if (d < 0) throw new ArgumentException($"tensor '{name}' has a negative dimension", nameof(shape));
            elements = checked(elements * d);
        }
        long bytes = checked(elements * SafetensorsDTypes.SizeOf(type));
        if (bytes != data.Length)
        {
            _names.Remove(name);
            throw new ArgumentException($"tensor '{name}' [{string.Join(", ", shape)}] of {SafetensorsDTypes.NameOf(type)} needs {bytes} bytes but {data.Length} were given", nameof(data));
        }
        _tensors.Add((name, type, (long[])shape.Clone(), data));
    }

    /// <summary>Adds an F32 tensor from floats.</summary>
    public void Add(string name, long[] shape, ReadOnlySpan<float> values)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(values).CopyTo(bytes);
        Add(name, SafetensorsDType.F32, shape, bytes);
    }

    /// <summary>The JSON header as it will be written, unpadded (tests build corrupt variants from it).</summary>
    public byte[] HeaderJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (_metadata.Count > 0)
            {
                json.WriteStartObject("__metadata__");
                foreach (var (k, v) in _metadata) json.WriteString(k, v);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in _tensors)
            {
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", SafetensorsDTypes.NameOf(t.Type));
                json.WriteStartArray("shape");
                foreach (long d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + t.Data.Length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += t.Data.Length;
            }
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>Writes the file to <paramref name="path"/> through a temporary file, so a failed write leaves no partial file.</summary>
    public void Write(string path) => IO.AtomicFile.Write(path, Write);

    /// <summary>Writes the file to <paramref name="stream"/>.</summary>
    public void Write(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] header = HeaderJson();
        int padded = (header.Length + 7) & ~7;
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
        stream.Write(length);
        stream.Write(header);
        for (int i = header.Length; i < padded; i++) stream.WriteByte((byte)' ');
        foreach (var t in _tensors) stream.Write(t.Data.Span);
        stream.Flush();
    }

    /// <summary>The whole file in memory.</summary>
    public byte[] ToBytes()
    {
        using var buffer = new MemoryStream();
        Write(buffer);
        return buffer.ToArray();
    }
}

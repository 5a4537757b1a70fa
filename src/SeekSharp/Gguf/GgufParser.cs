using System.Buffers.Binary;
using System.Collections.ObjectModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using SeekSharp.Kernels;

namespace SeekSharp.Gguf;

/// <summary>What <see cref="GgufParser"/> learns from a file's header: everything except the tensor data itself.</summary>
internal sealed record GgufHeader(
    uint Version,
    long Alignment,
    long DataOffset,
    IReadOnlyDictionary<string, object> Metadata,
    IReadOnlyList<GgufTensorInfo> Tensors,
    Dictionary<string, GgufTensorInfo> TensorsByName);

/// <summary>
/// Parses and validates a GGUF header (magic, version, counts, key/value pairs, tensor infos) from memory.
/// Every read is bounds-checked against the file length, and nothing is allocated from a count read from the file
/// before checking that the bytes left could hold that many items, so a corrupt file costs at most a small multiple
/// of its own size in memory. Layout follows the GGUF spec (ggml docs/gguf.md); the acceptance rules follow
/// ggml's gguf.cpp reader, plus the stricter tensor checks SeekSharp needs before it maps weights.
/// </summary>
/// <remarks>
/// Deliberate differences from ggml's reader: nested arrays are accepted (the spec allows them; ggml refuses them),
/// tensors may be stored in any order with gaps as long as they are aligned and disjoint (ggml insists on the exact
/// packed order its writer produces), and zero-sized dimensions or zero dimensions are refused (ggml accepts them,
/// but no model weight has them and the model code assumes non-empty tensors).
/// </remarks>
internal sealed unsafe class GgufParser
{
    /// <summary>"GGUF" read as a little-endian uint32.</summary>
    internal const uint Magic = 0x46554747;
    internal const uint DefaultAlignment = 32;
    internal const string AlignmentKey = "general.alignment";
    /// <summary>ggml stores tensor names in a 64-byte buffer including the terminator (GGML_MAX_NAME).</summary>
    internal const int MaxTensorNameBytes = 63;
    /// <summary>ggml tensors have at most 4 dimensions (GGML_MAX_DIMS).</summary>
    internal const int MaxDims = 4;
    /// <summary>Same limits as ggml's reader (GGUF_MAX_STRING_LENGTH, GGUF_MAX_ARRAY_ELEMENTS).</summary>
    const long MaxStringBytes = 1L << 30;
    const long MaxArrayElements = 1L << 30;
    /// <summary>Nested arrays recurse; a bound keeps a crafted file from overflowing the stack.</summary>
    const int MaxArrayDepth = 16;
    /// <summary>Smallest possible encodings: key/value = key length 8 + key 1 + type 4 + u8 value 1;
    /// tensor info = name length 8 + dims count 4 + one dim 8 + type 4 + offset 8.</summary>
    const long MinKvBytes = 14, MinTensorInfoBytes = 32;

    static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    readonly byte* _data;
    readonly long _length;
    readonly string _path;
    long _pos;

    GgufParser(byte* data, long length, string path)
    {
        _data = data;
        _length = length;
        _path = path;
    }

    /// <summary>Parses the header of the <paramref name="length"/> bytes at <paramref name="data"/>.</summary>
    /// <exception cref="GgufFormatException">The header is corrupt, truncated or unsupported.</exception>
    internal static GgufHeader Parse(byte* data, long length, string path)
    {
        // Values are copied straight from the little-endian file into .NET arrays.
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("GGUF is little-endian; SeekSharp only runs on little-endian hosts");
        return new GgufParser(data, length, path).ParseHeader();
    }

    internal static string TooShortForMagic(long length) => $"expected the 4-byte magic 'GGUF' but the file is only {length} bytes long";

    long Remaining => _length - _pos;

    GgufFormatException Error(long offset, string message) => new(_path, offset, message);

    GgufHeader ParseHeader()
    {
        if (_length < 4)
            throw Error(0, TooShortForMagic(_length));
        uint magic = ReadUInt32("magic");
        if (magic != Magic)
            throw Error(0, $"expected the magic 'GGUF' (47 47 55 46) but found {DescribeMagic()}; this is not a GGUF file");

        uint version = ReadUInt32("version");
        if (version == 1)
            throw Error(4, "GGUF version 1 is not supported (it used 32-bit lengths and was retired by llama.cpp); expected version 2 or 3, re-convert the model with a current llama.cpp");
        if (version is not (2 or 3))
        {
            string hint = (version & 0xFFFF) == 0 ? " (this looks byte-swapped: the file may be big-endian, which SeekSharp does not read)" : "";
            throw Error(4, $"expected GGUF version 2 or 3 but found {version}{hint}");
        }

        long tensorCountAt = _pos;
        ulong tensorCount = ReadUInt64("tensor count");
        long kvCountAt = _pos;
        ulong kvCount = ReadUInt64("metadata key/value count");
        if (tensorCount > (ulong)Math.Min(Remaining / MinTensorInfoBytes, Array.MaxLength))
            throw Error(tensorCountAt, $"tensor count {tensorCount} is impossible: each tensor info needs at least {MinTensorInfoBytes} bytes and only {Remaining} bytes follow the header");
        if (kvCount > (ulong)Math.Min(Remaining / MinKvBytes, Array.MaxLength))
            throw Error(kvCountAt, $"metadata key/value count {kvCount} is impossible: each pair needs at least {MinKvBytes} bytes and only {Remaining} bytes follow the header");
        if ((long)tensorCount * MinTensorInfoBytes + (long)kvCount * MinKvBytes > Remaining)
            throw Error(tensorCountAt, $"{tensorCount} tensor infos and {kvCount} key/value pairs cannot fit in the {Remaining} bytes that follow the header");

        var (metadata, keyOffsets) = ReadMetadata((int)kvCount);
        long alignment = ReadAlignment(metadata, keyOffsets);
        var (tensors, byName, offsetFieldAt) = ReadTensorInfos((int)tensorCount, alignment);

        // The data section starts at the first alignment boundary after the tensor infos (writers zero-pad up to it).
        long dataOffset = AlignUp(_pos, alignment);
        if (tensors.Count > 0 && dataOffset > _length)
            throw Error(_pos, $"expected the tensor data section at offset {dataOffset} (after padding to {alignment} bytes) but the file ends at {_length}");
        CheckTensorPlacement(tensors, offsetFieldAt, dataOffset);

        return new GgufHeader(version, alignment, dataOffset,
            new ReadOnlyDictionary<string, object>(metadata), tensors.AsReadOnly(), byName);
    }

    /// <returns>The pairs in file order, and the file offset of each key.</returns>
    (OrderedDictionary<string, object> Metadata, long[] KeyOffsets) ReadMetadata(int count)
    {
        // Presizing is safe: the caller checked count against the bytes left.
        var metadata = new OrderedDictionary<string, object>(count, StringComparer.Ordinal);
        var keyOffsets = new long[count];
        for (int i = 0; i < count; i++)
        {
            long keyAt = keyOffsets[i] = _pos;
            string key = ReadString(new What("key of metadata pair {index}", index: i));
            if (key.Length == 0)
                throw Error(keyAt, $"metadata pair {i} has an empty key; expected a non-empty name such as 'general.architecture'");
            int first = metadata.IndexOf(key);
            if (first >= 0)
                throw Error(keyAt, $"duplicate metadata key '{key}' (first defined at offset {keyOffsets[first]}); expected every key once");

            long typeAt = _pos;
            GgufValueType type = ReadValueType(new What("type of metadata key '{name}'", key), typeAt);
            metadata.Add(key, ReadValue(type, key, depth: 0));
        }
        return (metadata, keyOffsets);
    }

    long ReadAlignment(OrderedDictionary<string, object> metadata, long[] keyOffsets)
    {
        int index = metadata.IndexOf(AlignmentKey);
        if (index < 0)
            return DefaultAlignment;
        object value = metadata.GetAt(index).Value;
        long at = keyOffsets[index];
        // ggml insists on uint32 here; accepting other types would make files that llama.cpp refuses.
        if (value is not uint alignment)
            throw Error(at, $"metadata key '{AlignmentKey}' must be of type uint32 but is {GgufFile.DescribeType(value)}");
        if (alignment == 0 || (alignment & (alignment - 1)) != 0)
            throw Error(at, $"metadata key '{AlignmentKey}' must be a non-zero power of two but is {alignment}");
        return alignment;
    }

    (List<GgufTensorInfo> Tensors, Dictionary<string, GgufTensorInfo> ByName, long[] OffsetFieldAt) ReadTensorInfos(int count, long alignment)
    {
        // Presizing is safe: the caller checked count against the bytes left.
        var tensors = new List<GgufTensorInfo>(count);
        var byName = new Dictionary<string, GgufTensorInfo>(count, StringComparer.Ordinal);
        var offsetFieldAt = new long[count];
        for (int i = 0; i < count; i++)
        {
            long nameAt = _pos;
            ulong nameBytes = PeekUInt64(new What("name length of tensor {index}", index: i));
            if (nameBytes > MaxTensorNameBytes)
                throw Error(nameAt, $"tensor {i} has a name of {nameBytes} bytes; expected at most {MaxTensorNameBytes} (ggml's GGML_MAX_NAME - 1)");
            string name = ReadString(new What("name of tensor {index}", index: i));
            if (byName.ContainsKey(name))
                throw Error(nameAt, $"duplicate tensor name '{name}'; expected every tensor name once");

            long dimsAt = _pos;
            uint nDims = ReadUInt32(new What("dimension count of tensor '{name}'", name));
            if (nDims is 0 or > MaxDims)
                throw Error(dimsAt, $"tensor '{name}' has {nDims} dimensions; expected 1 to {MaxDims}");
            var shape = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++)
            {
                long dimAt = _pos;
                long ne = (long)ReadUInt64(new What("dimension {index} of tensor '{name}'", name, d));
                if (ne <= 0)
                    throw Error(dimAt, $"tensor '{name}' dimension {d} is {ne}; expected a positive size");
                if (elements > long.MaxValue / ne)
                    throw Error(dimAt, $"tensor '{name}' has more than {long.MaxValue} elements (dimension {d} is {ne})");
                elements *= ne;
                shape[d] = ne;
            }

            long typeAt = _pos;
            uint typeId = ReadUInt32(new What("type of tensor '{name}'", name));
            GgmlType type = (GgmlType)typeId;
            if (!Enum.IsDefined(type))
                throw Error(typeAt, $"tensor '{name}' has unknown ggml type id {typeId}; expected one of: {SupportedTypesText()}");
            if (!TensorTypes.IsSupported(type))
                throw Error(typeAt, $"tensor '{name}' has type {type} ({typeId}), which SeekSharp does not support yet (supported: {SupportedTypesText()})");
            int blockSize = TensorTypes.BlockSize(type);
            if (shape[0] % blockSize != 0)
                throw Error(typeAt, $"tensor '{name}' of type {type} has {shape[0]} elements per row; expected a multiple of the block size {blockSize}");
            long rowBytes = TensorTypes.RowBytes(type, shape[0]);
            long rows = elements / shape[0];
            if (rows > long.MaxValue / rowBytes)
                throw Error(typeAt, $"tensor '{name}' of type {type} would need more than {long.MaxValue} bytes");

            offsetFieldAt[i] = _pos;
            ulong offset = ReadUInt64(new What("data offset of tensor '{name}'", name));
            if (offset > long.MaxValue || offset % (ulong)alignment != 0)
                throw Error(offsetFieldAt[i], $"tensor '{name}' has data offset {offset}; expected a multiple of the alignment {alignment}");

            var info = new GgufTensorInfo(name, type, shape, (long)offset, rows * rowBytes);
            tensors.Add(info);
            byName.Add(name, info);
        }
        return (tensors, byName, offsetFieldAt);
    }

    /// <summary>Every tensor must lie inside the file and no two may share bytes.</summary>
    void CheckTensorPlacement(List<GgufTensorInfo> tensors, long[] offsetFieldAt, long dataOffset)
    {
        long dataBytes = _length - dataOffset;
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            if (t.Offset > dataBytes || t.ByteSize > dataBytes - t.Offset)
                throw Error(offsetFieldAt[i], $"tensor '{t.Name}' ({t.Type}, {t.ByteSize} bytes) at data offset {t.Offset} would end at file offset {dataOffset + t.Offset + t.ByteSize}; expected it to end by the end of the file at {_length} (the file is truncated or the offset is wrong)");
        }

        var order = new int[tensors.Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        Array.Sort(order, (a, b) => tensors[a].Offset.CompareTo(tensors[b].Offset));
        for (int k = 1; k < order.Length; k++)
        {
            var prev = tensors[order[k - 1]];
            var cur = tensors[order[k]];
            if (prev.Offset + prev.ByteSize > cur.Offset)
                throw Error(offsetFieldAt[order[k]], $"tensor '{cur.Name}' at data offset {cur.Offset} overlaps tensor '{prev.Name}' which occupies [{prev.Offset}, {prev.Offset + prev.ByteSize}); expected disjoint tensor data");
        }
    }

    object ReadValue(GgufValueType type, string key, int depth)
    {
        switch (type)
        {
            case GgufValueType.UInt8: return ReadFixed<byte>(key);
            case GgufValueType.Int8: return ReadFixed<sbyte>(key);
            case GgufValueType.UInt16: return ReadFixed<ushort>(key);
            case GgufValueType.Int16: return ReadFixed<short>(key);
            case GgufValueType.UInt32: return ReadFixed<uint>(key);
            case GgufValueType.Int32: return ReadFixed<int>(key);
            case GgufValueType.Float32: return ReadFixed<float>(key);
            case GgufValueType.UInt64: return ReadFixed<ulong>(key);
            case GgufValueType.Int64: return ReadFixed<long>(key);
            case GgufValueType.Float64: return ReadFixed<double>(key);
            case GgufValueType.Bool: return ReadFixed<byte>(key) != 0;   // ggml reads any non-zero byte as true
            case GgufValueType.String: return ReadString(new What("string value of '{name}'", key));
            case GgufValueType.Array: return ReadArray(key, depth);
            default: throw new InvalidOperationException($"unreachable: {type} was validated");
        }
    }

    GgufArray ReadArray(string key, int depth)
    {
        long typeAt = _pos;
        if (depth >= MaxArrayDepth)
            throw Error(typeAt, $"array value of '{key}' is nested more than {MaxArrayDepth} levels deep");
        GgufValueType elementType = ReadValueType(new What("element type of array '{name}'", key), typeAt);
        long countAt = _pos;
        ulong count = ReadUInt64(new What("element count of array '{name}'", key));
        long minBytes = MinEncodedBytes(elementType);
        if (count > MaxArrayElements || count > (ulong)(Remaining / minBytes))
            throw Error(countAt, $"array '{key}' claims {count} elements of type {elementType} (at least {minBytes} bytes each) but only {Remaining} bytes are left in the file");
        int n = (int)count;

        switch (elementType)
        {
            case GgufValueType.UInt8: return new GgufArray(elementType, ReadFixedArray<byte>(n));
            case GgufValueType.Int8: return new GgufArray(elementType, ReadFixedArray<sbyte>(n));
            case GgufValueType.UInt16: return new GgufArray(elementType, ReadFixedArray<ushort>(n));
            case GgufValueType.Int16: return new GgufArray(elementType, ReadFixedArray<short>(n));
            case GgufValueType.UInt32: return new GgufArray(elementType, ReadFixedArray<uint>(n));
            case GgufValueType.Int32: return new GgufArray(elementType, ReadFixedArray<int>(n));
            case GgufValueType.Float32: return new GgufArray(elementType, ReadFixedArray<float>(n));
            case GgufValueType.UInt64: return new GgufArray(elementType, ReadFixedArray<ulong>(n));
            case GgufValueType.Int64: return new GgufArray(elementType, ReadFixedArray<long>(n));
            case GgufValueType.Float64: return new GgufArray(elementType, ReadFixedArray<double>(n));
            case GgufValueType.Bool:
            {
                var raw = new ReadOnlySpan<byte>(_data + _pos, n);
                var values = new bool[n];
                for (int i = 0; i < n; i++) values[i] = raw[i] != 0;
                _pos += n;
                return new GgufArray(elementType, values);
            }
            case GgufValueType.String:
            {
                var values = new string[n];
                for (int i = 0; i < n; i++) values[i] = ReadString(new What("element {index} of string array '{name}'", key, i));
                return new GgufArray(elementType, values);
            }
            case GgufValueType.Array:
            {
                var values = new GgufArray[n];
                for (int i = 0; i < n; i++) values[i] = ReadArray(key, depth + 1);
                return new GgufArray(elementType, values);
            }
            default: throw new InvalidOperationException($"unreachable: {elementType} was validated");
        }
    }

    static long MinEncodedBytes(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
        GgufValueType.String => 8,          // length prefix of an empty string
        GgufValueType.Array => 12,          // element type + count of an empty array
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    GgufValueType ReadValueType(What what, long at)
    {
        uint id = ReadUInt32(what);
        if (id > (uint)GgufValueType.Float64)
            throw Error(at, $"{what} is {id}; expected a GGUF value type id from 0 to {(uint)GgufValueType.Float64}");
        return (GgufValueType)id;
    }

    void Need(long bytes, What what)
    {
        if (bytes > Remaining)
            throw Error(_pos, $"expected {what} ({bytes} bytes) but the file ends after {Remaining} more bytes (truncated file?)");
    }

    T ReadFixed<T>(string key) where T : unmanaged
    {
        Need(sizeof(T), new What(ValueLabel<T>.Template, key));
        T value = Unsafe.ReadUnaligned<T>(_data + _pos);
        _pos += sizeof(T);
        return value;
    }

    T[] ReadFixedArray<T>(int n) where T : unmanaged
    {
        // The caller checked n * sizeof(T) <= Remaining.
        var values = new T[n];
        new ReadOnlySpan<T>(_data + _pos, n).CopyTo(values);
        _pos += (long)n * sizeof(T);
        return values;
    }

    uint ReadUInt32(What what)
    {
        Need(4, what);
        uint v = BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(_data + _pos, 4));
        _pos += 4;
        return v;
    }

    ulong PeekUInt64(What what)
    {
        Need(8, what);
        return BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(_data + _pos, 8));
    }

    ulong ReadUInt64(What what)
    {
        ulong v = PeekUInt64(what);
        _pos += 8;
        return v;
    }

    string ReadString(What what)
    {
        long lengthAt = _pos;
        ulong length = ReadUInt64(what.Prefixed("length of "));
        if (length > (ulong)Remaining || length > MaxStringBytes)
            throw Error(lengthAt, $"{what} claims {length} bytes but only {Remaining} bytes are left in the file");
        if (length == 0) return string.Empty;
        // GGUF strings are UTF-8; ggml does not validate them, so neither do we: invalid sequences decode to U+FFFD.
        string s = Utf8.GetString(_data + _pos, (int)length);
        _pos += (long)length;
        return s;
    }

    string DescribeMagic()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < 4; i++) sb.Append(_data[i].ToString("X2")).Append(i < 3 ? " " : "");
        sb.Append(" '");
        for (int i = 0; i < 4; i++) sb.Append(_data[i] is >= 0x20 and < 0x7F ? (char)_data[i] : '?');
        return sb.Append('\'').ToString();
    }

    /// <summary>
    /// Names the field being read for error messages. It is formatted only when an error is reported, so reading a
    /// valid file allocates no description strings.
    /// </summary>
    readonly struct What(string template, string? name = null, long index = -1, string? prefix = null)
    {
        public static implicit operator What(string text) => new(text);

        public What Prefixed(string p) => new(template, name, index, p + prefix);

        public override string ToString() => (prefix + template).Replace("{name}", name).Replace("{index}", index.ToString());
    }

    static class ValueLabel<T>
    {
        public static readonly string Template = typeof(T).Name + " value of '{name}'";
    }

    static long AlignUp(long value, long alignment) => (value + alignment - 1) & ~(alignment - 1);

    internal static string SupportedTypesText() =>
        string.Join(", ", Enum.GetValues<GgmlType>().Where(TensorTypes.IsSupported));
}

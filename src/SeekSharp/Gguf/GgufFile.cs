using SeekSharp.IO;
using SeekSharp.Kernels;

namespace SeekSharp.Gguf;

/// <summary>
/// A GGUF file opened for reading. The file is memory-mapped read-only: metadata and tensor infos are parsed and
/// validated once in <see cref="Open"/>, and tensor data is served straight from the mapping, never copied.
/// Dispose the instance to unmap the file; pointers and spans obtained from it are invalid afterwards.
/// </summary>
public sealed unsafe class GgufFile : IDisposable
{
    readonly GgufHeader _header;
    // The file's bytes (mapped, or a pinned array); null for a file assembled in memory.
    readonly MappedMemory? _memory;
    // For a file assembled in memory (FromTensors): each tensor's data lives where the producer put it, and _owner
    // keeps that memory (mappings of other files, native buffers) alive until Dispose.
    readonly Dictionary<string, nint>? _pointers;
    IDisposable? _owner;
    bool _disposed;

    GgufFile(string path, MappedMemory memory)
    {
        Path = path;
        _memory = memory;
        _header = GgufParser.Parse(memory.Pointer, memory.Length, path);
    }

    // Takes ownership of memory, releasing it when the header does not parse.
    static GgufFile Parse(string path, MappedMemory memory)
    {
        try
        {
            return new GgufFile(path, memory);
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    /// <summary>Maps <paramref name="path"/> read-only and validates its header and tensor layout.</summary>
    /// <exception cref="GgufFormatException">The file is corrupt, truncated, or uses an unsupported version or tensor type.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static GgufFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // A zero-length file cannot be mapped at all, so it is reported before trying.
        return Parse(path, MappedMemory.Map(path, 1, length => new GgufFormatException(path, 0, GgufParser.TooShortForMagic(length))));
    }

    GgufFile(string path, GgufHeader header, Dictionary<string, nint> pointers, IDisposable owner)
    {
        Path = path;
        _header = header;
        _pointers = pointers;
        _owner = owner;
    }

    /// <summary>
    /// A GGUF file assembled in memory from metadata and tensors whose data already sits somewhere (a mapped
    /// safetensors shard, a native buffer): what a file written from the same parts and opened again would hold,
    /// without writing it. <paramref name="owner"/> is disposed with the file.
    /// </summary>
    /// <param name="metadata">Values as <see cref="GgufWriter"/> normalizes them.</param>
    /// <param name="tensors">Name, type, ggml shape (innermost first) and the address of the encoded data, or 0 for a
    /// tensor that a conversion computes on demand (<see cref="HasData"/>).</param>
    internal static GgufFile FromTensors(string displayPath, IReadOnlyDictionary<string, object> metadata,
        IReadOnlyList<(string Name, GgmlType Type, long[] Shape, nint Data)> tensors, IDisposable owner)
    {
        var infos = new List<GgufTensorInfo>(tensors.Count);
        var byName = new Dictionary<string, GgufTensorInfo>(StringComparer.Ordinal);
        var pointers = new Dictionary<string, nint>(StringComparer.Ordinal);
        long offset = 0;
        foreach (var (name, type, shape, data) in tensors)
        {
            long rows = 1;
            for (int i = 1; i < shape.Length; i++) rows *= shape[i];
            long bytes = TensorTypes.RowBytes(type, shape[0]) * rows;
            // Offsets as a writer would lay the tensors out, so that infos compare equal to those of the written file.
            var info = new GgufTensorInfo(name, type, (long[])shape.Clone(), offset, bytes);
            offset += (bytes + GgufParser.DefaultAlignment - 1) / GgufParser.DefaultAlignment * GgufParser.DefaultAlignment;
            infos.Add(info);
            byName.Add(name, info);
            pointers.Add(name, data);
        }
        var header = new GgufHeader(3, GgufParser.DefaultAlignment, 0, new System.Collections.ObjectModel.ReadOnlyDictionary<string, object>(
            new OrderedDictionary<string, object>(metadata, StringComparer.Ordinal)), infos.AsReadOnly(), byName);
        return new GgufFile(displayPath, header, pointers, owner);
    }

    /// <summary>Parses a GGUF image held in memory (tests, tools); the array is pinned, not copied.</summary>
    /// <param name="bytes">The whole file.</param>
    /// <param name="displayPath">Name used in error messages and <see cref="Path"/>.</param>
    internal static GgufFile FromBytes(byte[] bytes, string displayPath) => Parse(displayPath, MappedMemory.Pin(bytes));

    /// <summary>Path the file was opened from.</summary>
    public string Path { get; }

    /// <summary>GGUF format version (2 or 3).</summary>
    public uint Version => _header.Version;

    /// <summary>Alignment of tensor data in bytes (<c>general.alignment</c>, default 32).</summary>
    public long Alignment => _header.Alignment;

    /// <summary>Absolute file offset where the tensor data section starts; tensor offsets are relative to it.</summary>
    public long DataOffset => _header.DataOffset;

    /// <summary>Size of the file in bytes; 0 for a file assembled in memory (a Hugging Face folder opened as GGUF).</summary>
    public long Length => _memory?.Length ?? 0;

    /// <summary>All metadata, enumerated in file order. Values are boxed (see <see cref="GgufValueType"/>) or <see cref="GgufArray"/>.</summary>
    public IReadOnlyDictionary<string, object> Metadata => _header.Metadata;

    /// <summary>All tensor infos, in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors => _header.Tensors;

    /// <summary>The tensor named <paramref name="name"/>, or null if the file has none.</summary>
    public GgufTensorInfo? FindTensor(string name) => _header.TensorsByName.GetValueOrDefault(name);

    /// <summary>The tensor named <paramref name="name"/>.</summary>
    /// <exception cref="GgufFormatException">The file has no such tensor.</exception>
    public GgufTensorInfo GetTensor(string name) =>
        FindTensor(name) ?? throw new GgufFormatException(Path, -1, $"expected a tensor named '{name}' but the file has none ({Tensors.Count} tensors present)");

    /// <summary>
    /// Lets the system drop the file's pages of <paramref name="tensor"/> from this process's memory (they stay cached and
    /// come back if read): for a tensor the model has copied (a part-major matrix). Nothing for converted or in-memory files.
    /// </summary>
    internal void ReleaseTensorPages(GgufTensorInfo tensor)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckOwned(tensor);
        if (_pointers is null) _memory!.Release(_memory.Pointer + DataOffset + tensor.Offset, (long)tensor.ByteSize);
    }

    /// <summary>Pointer to the first byte of <paramref name="tensor"/>'s data in the mapping (read-only memory: do not write).</summary>
    /// <exception cref="ArgumentException"><paramref name="tensor"/> does not come from this file.</exception>
    /// <exception cref="InvalidOperationException">The file was assembled for conversion and this tensor is computed on demand (<see cref="HasData"/>).</exception>
    public byte* GetTensorPointer(GgufTensorInfo tensor)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckOwned(tensor);
        if (_pointers is null) return _memory!.Pointer + DataOffset + tensor.Offset;
        nint p = _pointers[tensor.Name];
        if (p == 0)
            throw new InvalidOperationException($"tensor '{tensor.Name}' of '{Path}' is computed on demand by a conversion and has no data in memory");
        return (byte*)p;
    }

    /// <summary>
    /// Whether <paramref name="tensor"/>'s data sits in memory. Always true, except in a file a conversion assembles for
    /// the quantizer, whose computed tensors are produced a piece of rows at a time instead (a whole DeepSeek-V3 would not fit).
    /// </summary>
    internal bool HasData(GgufTensorInfo tensor)
    {
        CheckOwned(tensor);
        return _pointers is null || _pointers[tensor.Name] != 0;
    }

    /// <summary>The <see cref="GgufTensorInfo.ByteSize"/> bytes of <paramref name="tensor"/>'s data, read from the mapping.</summary>
    /// <exception cref="ArgumentException"><paramref name="tensor"/> does not come from this file.</exception>
    /// <exception cref="NotSupportedException">The tensor is 2 GiB or larger; use <see cref="GetTensorPointer"/>.</exception>
    public ReadOnlySpan<byte> GetTensorBytes(GgufTensorInfo tensor)
    {
        byte* p = GetTensorPointer(tensor);
        if (tensor.ByteSize > int.MaxValue)
            throw new NotSupportedException($"tensor '{tensor.Name}' has {tensor.ByteSize} bytes, too many for a span; use GetTensorPointer");
        return new ReadOnlySpan<byte>(p, (int)tensor.ByteSize);
    }

    void CheckOwned(GgufTensorInfo tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        // Offset and size are validated against this file only for its own infos; a foreign one could point anywhere.
        if (FindTensor(tensor.Name) is not { } own || own.Offset != tensor.Offset || own.ByteSize != tensor.ByteSize)
            throw new ArgumentException($"tensor '{tensor.Name}' does not belong to GGUF file '{Path}'", nameof(tensor));
    }

    /// <summary>The string stored under <paramref name="key"/>.</summary>
    /// <exception cref="GgufFormatException">The key is missing or not a string.</exception>
    public string GetString(string key) => GetStringOrNull(key) ?? throw Missing(key, "string");

    /// <summary>The string stored under <paramref name="key"/>, or null if the key is missing.</summary>
    /// <exception cref="GgufFormatException">The key exists but is not a string.</exception>
    public string? GetStringOrNull(string key) => Metadata.TryGetValue(key, out object? v) ? v as string ?? throw WrongType(key, "string", v) : null;

    /// <summary>The integer stored under <paramref name="key"/>; any GGUF integer type is accepted if the value fits in uint32.</summary>
    /// <exception cref="GgufFormatException">The key is missing, not an integer, or out of range.</exception>
    public uint GetUInt32(string key) =>
        Metadata.TryGetValue(key, out object? v) ? ToUInt32(key, v) : throw Missing(key, "uint32");

    /// <summary>Like <see cref="GetUInt32"/> but returns <paramref name="dflt"/> when the key is missing.</summary>
    public uint GetUInt32OrDefault(string key, uint dflt) =>
        Metadata.TryGetValue(key, out object? v) ? ToUInt32(key, v) : dflt;

    /// <summary>The float32 stored under <paramref name="key"/>.</summary>
    /// <exception cref="GgufFormatException">The key is missing or not a float32.</exception>
    public float GetFloat32(string key) =>
        Metadata.TryGetValue(key, out object? v) ? v as float? ?? throw WrongType(key, "float32", v) : throw Missing(key, "float32");

    /// <summary>Like <see cref="GetFloat32"/> but returns <paramref name="dflt"/> when the key is missing.</summary>
    public float GetFloat32OrDefault(string key, float dflt) =>
        Metadata.TryGetValue(key, out object? v) ? v as float? ?? throw WrongType(key, "float32", v) : dflt;

    /// <summary>The bool stored under <paramref name="key"/>, or <paramref name="dflt"/> when the key is missing.</summary>
    /// <exception cref="GgufFormatException">The key exists but is not a bool.</exception>
    public bool GetBoolOrDefault(string key, bool dflt) =>
        Metadata.TryGetValue(key, out object? v) ? v as bool? ?? throw WrongType(key, "bool", v) : dflt;

    /// <summary>A copy of the string array stored under <paramref name="key"/>, or null if the key is missing.</summary>
    /// <exception cref="GgufFormatException">The key exists but is not an array of strings.</exception>
    public string[]? GetStringArrayOrNull(string key) =>
        Metadata.TryGetValue(key, out object? v) ? (v is GgufArray { Values: string[] s } ? (string[])s.Clone() : throw WrongType(key, "array[string]", v)) : null;

    /// <summary>The integer array stored under <paramref name="key"/> as int32 (any GGUF integer element type whose values fit), or null if the key is missing.</summary>
    /// <exception cref="GgufFormatException">The key exists but is not an integer array, or a value does not fit in int32.</exception>
    public int[]? GetInt32ArrayOrNull(string key)
    {
        if (!Metadata.TryGetValue(key, out object? v)) return null;
        if (v is not GgufArray array || !IsInteger(array.ElementType))
            throw WrongType(key, "array of integers", v);
        var result = new int[array.Values.Length];
        for (int i = 0; i < result.Length; i++)
        {
            long? x = AsInt64(array.Values.GetValue(i)!);
            if (x is not { } value || value < int.MinValue || value > int.MaxValue)
                throw new GgufFormatException(Path, -1, $"metadata key '{key}' element {i} is {array.Values.GetValue(i)}; expected a value that fits in int32");
            result[i] = (int)value;
        }
        return result;
    }

    /// <summary>A copy of the float32 array stored under <paramref name="key"/>, or null if the key is missing.</summary>
    /// <exception cref="GgufFormatException">The key exists but is not an array of float32.</exception>
    public float[]? GetFloat32ArrayOrNull(string key) =>
        Metadata.TryGetValue(key, out object? v) ? (v is GgufArray { Values: float[] f } ? (float[])f.Clone() : throw WrongType(key, "array[float32]", v)) : null;

    uint ToUInt32(string key, object v)
    {
        if (!IsIntegerValue(v)) throw WrongType(key, "an integer type (uint32)", v);
        ulong? u = v is ulong big ? big : AsInt64(v) is { } s && s >= 0 ? (ulong)s : null;
        if (u is not { } value || value > uint.MaxValue)
            throw new GgufFormatException(Path, -1, $"metadata key '{key}' is {v} ({DescribeType(v)}); expected a value that fits in uint32");
        return (uint)value;
    }

    static bool IsIntegerValue(object v) => v is byte or sbyte or ushort or short or uint or int or ulong or long;

    static bool IsInteger(GgufValueType t) => t is GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.UInt16 or GgufValueType.Int16
        or GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.UInt64 or GgufValueType.Int64;

    /// <summary>Integer value as int64, or null if it is not an integer or a ulong above long.MaxValue.</summary>
    static long? AsInt64(object v) => v switch
    {
        byte x => x, sbyte x => x, ushort x => x, short x => x, uint x => x, int x => x, long x => x,
        ulong x when x <= long.MaxValue => (long)x,
        _ => null,
    };

    GgufFormatException Missing(string key, string expected) =>
        new(Path, -1, $"expected metadata key '{key}' of type {expected} but the file does not have it");

    GgufFormatException WrongType(string key, string expected, object found) =>
        new(Path, -1, $"metadata key '{key}' has type {DescribeType(found)}; expected {expected}");

    /// <summary>GGUF name of a metadata value's type, e.g. <c>uint32</c> or <c>array[string]</c>.</summary>
    internal static string DescribeType(object value) => value switch
    {
        GgufArray a => $"array[{TypeName(a.ElementType)}]",
        byte => "uint8", sbyte => "int8", ushort => "uint16", short => "int16", uint => "uint32", int => "int32",
        float => "float32", bool => "bool", string => "string", ulong => "uint64", long => "int64", double => "float64",
        _ => value.GetType().Name,
    };

    internal static string TypeName(GgufValueType t) => t switch
    {
        GgufValueType.UInt8 => "uint8", GgufValueType.Int8 => "int8", GgufValueType.UInt16 => "uint16",
        GgufValueType.Int16 => "int16", GgufValueType.UInt32 => "uint32", GgufValueType.Int32 => "int32",
        GgufValueType.Float32 => "float32", GgufValueType.Bool => "bool", GgufValueType.String => "string",
        GgufValueType.Array => "array", GgufValueType.UInt64 => "uint64", GgufValueType.Int64 => "int64",
        GgufValueType.Float64 => "float64", _ => $"type {(uint)t}",
    };

    /// <summary>Unmaps the file. Pointers and spans obtained from this instance must not be used afterwards.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _owner?.Dispose();
        _owner = null;
        _memory?.Dispose();
    }
}

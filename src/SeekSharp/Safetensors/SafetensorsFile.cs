using System.Buffers.Binary;
using System.Collections.ObjectModel;
using System.Text;
using System.Text.Json;
using SeekSharp.IO;

namespace SeekSharp.Safetensors;

/// <summary>
/// A safetensors file opened for reading, memory-mapped read-only. The layout (huggingface/safetensors) is an 8-byte
/// little-endian header length N, N bytes of UTF-8 JSON, then the data section. The JSON maps each tensor name to
/// <c>{"dtype", "shape", "data_offsets": [begin, end]}</c> (offsets relative to the data section) and may hold a
/// <c>__metadata__</c> object of strings. The header is validated once in <see cref="Open"/>: every offset lies inside
/// the file, no two tensors overlap, and each tensor's byte length is its element count times its element size.
/// Dispose the instance to unmap the file; pointers and spans obtained from it are invalid afterwards.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>Largest header accepted, as the reference implementation's MAX_HEADER_SIZE (100 MB): a real header of
    /// a hundred thousand tensors is a few MB, and a larger length read from a corrupt file must not drive allocation.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    const string MetadataKey = "__metadata__";

    readonly MappedMemory _memory;
    readonly Dictionary<string, SafetensorsTensorInfo> _byName;

    SafetensorsFile(string path, MappedMemory memory)
    {
        Path = path;
        _memory = memory;
        var header = ParseHeader(memory.Pointer, memory.Length, path);
        DataOffset = header.DataOffset;
        Tensors = header.Tensors.AsReadOnly();
        Metadata = new ReadOnlyDictionary<string, string>(header.Metadata);
        _byName = header.ByName;
    }

    /// <summary>Maps <paramref name="path"/> read-only and validates its header.</summary>
    /// <exception cref="SafetensorsFormatException">The file is truncated, its header is malformed or inconsistent.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static SafetensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // A file shorter than the length prefix cannot be mapped meaningfully (and an empty one not at all).
        return Parse(path, MappedMemory.Map(path, 8, TooShort(path)));
    }

    static Func<long, Exception> TooShort(string path) =>
        length => new SafetensorsFormatException(path, null, $"expected an 8-byte header length but the file is only {length} bytes long");

    // Takes ownership of memory, releasing it when the header does not parse.
    static SafetensorsFile Parse(string path, MappedMemory memory)
    {
        try
        {
            return new SafetensorsFile(path, memory);
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    /// <summary>Parses a safetensors image held in memory (tests, fuzzing); the array is pinned, not copied.</summary>
    internal static SafetensorsFile FromBytes(byte[] bytes, string displayPath) =>
        bytes.Length < 8 ? throw TooShort(displayPath)(bytes.Length) : Parse(displayPath, MappedMemory.Pin(bytes));

    /// <summary>Path the file was opened from.</summary>
    public string Path { get; }

    /// <summary>Size of the file in bytes.</summary>
    public long Length => _memory.Length;

    /// <summary>Absolute offset of the data section (8 + header length); tensor offsets are relative to it.</summary>
    public long DataOffset { get; }

    /// <summary>All tensors, in header order.</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }

    /// <summary>The <c>__metadata__</c> strings (e.g. <c>format = pt</c>); empty when the header has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensor named <paramref name="name"/>, or null.</summary>
    public SafetensorsTensorInfo? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Pointer to the first byte of <paramref name="tensor"/>'s data in the mapping (read-only memory).</summary>
    /// <exception cref="ArgumentException"><paramref name="tensor"/> does not come from this file.</exception>
    public byte* GetPointer(SafetensorsTensorInfo tensor)
    {
        ObjectDisposedException.ThrowIf(_memory.Pointer == null, this);
        ArgumentNullException.ThrowIfNull(tensor);
        // Only this file's own infos were checked against its length.
        if (Find(tensor.Name) is not { } own || !ReferenceEquals(own, tensor))
            throw new ArgumentException($"tensor '{tensor.Name}' does not belong to safetensors file '{Path}'", nameof(tensor));
        return _memory.Pointer + DataOffset + tensor.Begin;
    }

    /// <summary>The bytes of <paramref name="tensor"/>, read from the mapping.</summary>
    /// <exception cref="NotSupportedException">The tensor is 2 GiB or larger; use <see cref="GetPointer"/>.</exception>
    public ReadOnlySpan<byte> GetBytes(SafetensorsTensorInfo tensor)
    {
        byte* p = GetPointer(tensor);
        if (tensor.ByteSize > int.MaxValue)
            throw new NotSupportedException($"tensor '{tensor.Name}' has {tensor.ByteSize} bytes, too many for a span; use GetPointer");
        return new ReadOnlySpan<byte>(p, (int)tensor.ByteSize);
    }

    /// <summary>Unmaps the file. Pointers and spans obtained from this instance must not be used afterwards.</summary>
    public void Dispose() => _memory.Dispose();

    sealed record Header(long DataOffset, List<SafetensorsTensorInfo> Tensors, Dictionary<string, SafetensorsTensorInfo> ByName, Dictionary<string, string> Metadata);

    /// <summary>
    /// Parses and validates the header with a forward-only JSON reader over the mapped bytes: nothing is allocated
    /// from a count in the file, so a corrupt header costs at most a small multiple of its own size.
    /// </summary>
    static Header ParseHeader(byte* data, long length, string path)
    {
        SafetensorsFormatException Error(string? tensor, string message) => new(path, tensor, message);

        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(data, 8));
        if (n > (ulong)MaxHeaderBytes)
            throw Error(null, $"header length {n} is larger than the {MaxHeaderBytes}-byte limit; this is not a safetensors file or it is corrupt");
        if (n > (ulong)(length - 8))
            throw Error(null, $"header length {n} runs past the end of the file ({length} bytes, so at most {length - 8}); the file is truncated or not safetensors");
        if (n < 2)
            throw Error(null, $"header length {n} is too short for a JSON object");
        long dataOffset = 8 + (long)n;
        long dataLength = length - dataOffset;
        var json = new ReadOnlySpan<byte>(data + 8, (int)n);
        if (json[0] != (byte)'{')
            throw Error(null, $"expected the header to start with '{{' but found byte 0x{json[0]:X2}");

        var tensors = new List<SafetensorsTensorInfo>();
        var byName = new Dictionary<string, SafetensorsTensorInfo>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        bool sawMetadata = false;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 8, CommentHandling = JsonCommentHandling.Disallow });
        try
        {
            Read(ref reader, null);
            if (reader.TokenType != JsonTokenType.StartObject) throw Error(null, "the header is not a JSON object");
            while (true)
            {
                Read(ref reader, null);
                if (reader.TokenType == JsonTokenType.EndObject) break;
                string name = reader.GetString()!;
                if (name == MetadataKey)
                {
                    if (sawMetadata) throw Error(null, $"'{MetadataKey}' appears twice");
                    sawMetadata = true;
                    ReadMetadata(ref reader, metadata);
                    continue;
                }
                if (byName.ContainsKey(name)) throw Error(name, "the tensor is listed twice in the header");
                var info = ReadTensor(ref reader, name, dataLength);
                tensors.Add(info);
                byName.Add(name, info);
            }
            // Only whitespace may follow the object (writers pad the header with spaces to an 8-byte boundary).
            if (reader.Read()) throw Error(null, $"unexpected {reader.TokenType} after the header object");
        }
        catch (JsonException e)
        {
            throw Error(null, $"the header is not valid JSON: {e.Message}");
        }
        catch (InvalidOperationException e)
        {
            // Utf8JsonReader.GetString on malformed UTF-8 or a token of the wrong kind.
            throw Error(null, $"the header is not valid JSON: {e.Message}");
        }

        CheckNoOverlap(tensors, path);
        return new Header(dataOffset, tensors, byName, metadata);

        void ReadMetadata(ref Utf8JsonReader r, Dictionary<string, string> into)
        {
            Read(ref r, MetadataKey);
            if (r.TokenType != JsonTokenType.StartObject) throw Error(null, $"'{MetadataKey}' must be an object of strings, found {r.TokenType}");
            while (true)
            {
                Read(ref r, MetadataKey);
                if (r.TokenType == JsonTokenType.EndObject) return;
                string key = r.GetString()!;
                Read(ref r, MetadataKey);
                if (r.TokenType != JsonTokenType.String) throw Error(null, $"'{MetadataKey}.{key}' must be a string, found {r.TokenType}");
                if (!into.TryAdd(key, r.GetString()!)) throw Error(null, $"'{MetadataKey}.{key}' appears twice");
            }
        }

        SafetensorsTensorInfo ReadTensor(ref Utf8JsonReader r, string name, long dataBytes)
        {
            Read(ref r, name);
            if (r.TokenType != JsonTokenType.StartObject) throw Error(name, $"expected an object with dtype, shape and data_offsets, found {r.TokenType}");
            SafetensorsDType? dtype = null;
            List<long>? shape = null;
            long begin = -1, end = -1;
            while (true)
            {
                Read(ref r, name);
                if (r.TokenType == JsonTokenType.EndObject) break;
                string field = r.GetString()!;
                switch (field)
                {
                    case "dtype":
                        if (dtype is not null) throw Error(name, "'dtype' appears twice");
                        Read(ref r, name);
                        if (r.TokenType != JsonTokenType.String) throw Error(name, $"'dtype' must be a string, found {r.TokenType}");
                        string text = r.GetString()!;
                        dtype = SafetensorsDTypes.Parse(text)
                            ?? throw Error(name, $"dtype '{text}' is not a safetensors type (known: {SafetensorsDTypes.KnownNames})");
                        break;
                    case "shape":
                        if (shape is not null) throw Error(name, "'shape' appears twice");
                        shape = ReadIntegers(ref r, name, "shape", maxCount: 8);
                        break;
                    case "data_offsets":
                        if (begin >= 0) throw Error(name, "'data_offsets' appears twice");
                        var offsets = ReadIntegers(ref r, name, "data_offsets", maxCount: 2);
                        if (offsets.Count != 2) throw Error(name, $"'data_offsets' must hold two numbers [begin, end], found {offsets.Count}");
                        (begin, end) = (offsets[0], offsets[1]);
                        break;
                    default:
                        throw Error(name, $"unexpected field '{field}' (a tensor entry has dtype, shape and data_offsets)");
                }
            }
            if (dtype is null) throw Error(name, "the entry has no 'dtype'");
            if (shape is null) throw Error(name, "the entry has no 'shape'");
            if (begin < 0) throw Error(name, "the entry has no 'data_offsets'");
            if (begin > end) throw Error(name, $"data_offsets [{begin}, {end}] end before they begin");
            if (end > dataBytes)
                throw Error(name, $"data_offsets [{begin}, {end}] run past the end of the data section ({dataBytes} bytes); the file is truncated");
            long elements = 1;
            foreach (long d in shape)
                if (!TryMultiply(elements, d, out elements))
                    throw Error(name, $"shape [{string.Join(", ", shape)}] has more elements than a file can hold");
            long size = SafetensorsDTypes.SizeOf(dtype.Value);
            if (!TryMultiply(elements, size, out long expected) || expected != end - begin)
                throw Error(name, $"shape [{string.Join(", ", shape)}] of {SafetensorsDTypes.NameOf(dtype.Value)} needs {(decimal)elements * size} bytes but data_offsets [{begin}, {end}] hold {end - begin}");
            return new SafetensorsTensorInfo(name, dtype.Value, shape.ToArray(), begin, end);
        }

        List<long> ReadIntegers(ref Utf8JsonReader r, string name, string field, int maxCount)
        {
            Read(ref r, name);
            if (r.TokenType != JsonTokenType.StartArray) throw Error(name, $"'{field}' must be an array of non-negative integers, found {r.TokenType}");
            var values = new List<long>();
            while (true)
            {
                Read(ref r, name);
                if (r.TokenType == JsonTokenType.EndArray) return values;
                if (r.TokenType != JsonTokenType.Number || !r.TryGetInt64(out long v) || v < 0)
                    throw Error(name, $"'{field}' must hold non-negative integers, found {Describe(ref r)}");
                if (values.Count == maxCount) throw Error(name, $"'{field}' has more than {maxCount} values");
                values.Add(v);
            }
        }

        void Read(ref Utf8JsonReader r, string? tensor)
        {
            if (!r.Read()) throw Error(tensor, "the header JSON ends early");
        }
    }

    static string Describe(ref Utf8JsonReader r) => r.TokenType == JsonTokenType.Number
        ? Encoding.UTF8.GetString(r.ValueSpan.Length > 40 ? r.ValueSpan[..40] : r.ValueSpan)
        : r.TokenType.ToString();

    // Both factors are non-negative (checked where they are read).
    static bool TryMultiply(long a, long b, out long product)
    {
        product = 0;
        if (a != 0 && b > long.MaxValue / a) return false;
        product = a * b;
        return true;
    }

    // Two tensors sharing bytes would alias: a write through one (or a conversion that assumes disjoint inputs) would
    // corrupt the other. Empty tensors occupy nothing and may sit anywhere.
    static void CheckNoOverlap(List<SafetensorsTensorInfo> tensors, string path)
    {
        var sorted = tensors.Where(t => t.End > t.Begin).OrderBy(t => t.Begin).ToArray();
        for (int i = 1; i < sorted.Length; i++)
            if (sorted[i].Begin < sorted[i - 1].End)
                throw new SafetensorsFormatException(path, sorted[i].Name,
                    $"data_offsets [{sorted[i].Begin}, {sorted[i].End}] overlap tensor '{sorted[i - 1].Name}' at [{sorted[i - 1].Begin}, {sorted[i - 1].End}]");
    }
}

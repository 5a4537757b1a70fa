using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using SeekSharp.Kernels;

namespace SeekSharp.Gguf;

/// <summary>
/// Builds a GGUF file: metadata in insertion order, then tensor infos, then tensor data, each tensor's data starting
/// at a multiple of the alignment (<c>general.alignment</c>, default 32) and zero-padded, as ggml's writer lays it out.
/// </summary>
public sealed class GgufWriter
{
    readonly uint _version;
    readonly OrderedDictionary<string, object> _metadata = new(StringComparer.Ordinal);
    readonly List<PendingTensor> _tensors = [];
    readonly HashSet<string> _tensorNames = new(StringComparer.Ordinal);

    /// <summary>Metadata as it will be written (normalized values), for tests.</summary>
    internal IReadOnlyDictionary<string, object> Metadata => _metadata;

    // Data holds the bytes, or Source produces them, or Stream writes them in pieces when Write reaches the tensor;
    // ByteCount is what each must give.
    sealed record PendingTensor(string Name, GgmlType Type, long[] Shape, long ByteCount, ReadOnlyMemory<byte> Data,
        Func<ReadOnlyMemory<byte>>? Source, Action<Stream>? Stream = null);

    /// <summary>Creates an empty writer producing GGUF <paramref name="version"/> (2 or 3; both share one little-endian layout).</summary>
    public GgufWriter(uint version = 3)
    {
        if (version is not (2 or 3))
            throw new ArgumentOutOfRangeException(nameof(version), version, "GGUF version must be 2 or 3");
        _version = version;
    }

    /// <summary>
    /// Sets metadata <paramref name="key"/> (replacing an earlier value in place). Accepted values: byte, sbyte, ushort,
    /// short, uint, int, float, bool, string, ulong, long, double, <see cref="GgufArray"/>, or a typed array of those
    /// scalars (<c>string[]</c>, <c>int[]</c>, <c>float[]</c>, <c>bool[]</c>, ...) or of <see cref="GgufArray"/> (nested), which is wrapped.
    /// Arrays are copied. <c>general.alignment</c> must be a uint32 power of two.
    /// </summary>
    /// <remarks>Nested arrays are valid GGUF, but llama.cpp's reader refuses them; avoid them in files meant for llama.cpp.</remarks>
    public void Set(string key, object value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        object normalized = Normalize(key, value);
        if (key == GgufParser.AlignmentKey && normalized is not uint)
            throw new ArgumentException($"'{key}' must be a uint32 (e.g. 32u), not {GgufFile.DescribeType(normalized)}", nameof(value));
        if (key == GgufParser.AlignmentKey && normalized is uint a && (a == 0 || (a & (a - 1)) != 0))
            throw new ArgumentException($"'{key}' must be a non-zero power of two, not {a}", nameof(value));
        _metadata[key] = normalized;
    }

    /// <summary>
    /// Adds a tensor whose data is already encoded in <paramref name="type"/>'s layout. <paramref name="shape"/> is in
    /// ggml order (innermost first, e.g. { cols, rows }). <paramref name="data"/> is referenced, not copied, until <see cref="Write(Stream)"/>.
    /// </summary>
    public void AddTensor(string name, GgmlType type, long[] shape, ReadOnlyMemory<byte> data)
    {
        long bytes = ValidateTensor(name, type, shape);
        if (data.Length != bytes)
            throw new ArgumentException($"tensor '{name}' ({type}, shape [{string.Join(", ", shape)}]) needs {bytes} bytes but {data.Length} were given", nameof(data));
        _tensors.Add(new PendingTensor(name, type, (long[])shape.Clone(), bytes, data, null));
        _tensorNames.Add(name);
    }

    /// <summary>
    /// Adds a tensor whose encoded data <paramref name="data"/> produces only when <see cref="Write(Stream)"/> reaches it,
    /// so a file larger than memory (a 16 B-parameter F16 model is 31 GB) is written holding one tensor at a time.
    /// Each Write calls <paramref name="data"/> once, in the order the tensors were added, after writing every
    /// header; it must return exactly the bytes <paramref name="type"/> and <paramref name="shape"/> take, or Write throws.
    /// </summary>
    public void AddTensor(string name, GgmlType type, long[] shape, Func<ReadOnlyMemory<byte>> data)
    {
        ArgumentNullException.ThrowIfNull(data);
        long bytes = ValidateTensor(name, type, shape);
        _tensors.Add(new PendingTensor(name, type, (long[])shape.Clone(), bytes, default, data));
        _tensorNames.Add(name);
    }

    /// <summary>
    /// Adds a tensor that <paramref name="write"/> writes to the output in pieces when <see cref="Write(Stream)"/> reaches
    /// it: the only form that takes a tensor of 2 GiB or more (a stacked DeepSeek-V3 expert tensor is 7.5 GB in BF16),
    /// and one that never holds the whole tensor. <paramref name="write"/> is called once per Write, in the order the
    /// tensors were added; it must write exactly the bytes <paramref name="type"/> and <paramref name="shape"/> take
    /// (<see cref="TensorTypes.RowBytes"/> × rows), or Write throws naming the tensor. The stream it gets accepts only writes.
    /// </summary>
    public void AddTensor(string name, GgmlType type, long[] shape, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        long bytes = ValidateTensor(name, type, shape);
        _tensors.Add(new PendingTensor(name, type, (long[])shape.Clone(), bytes, default, null, write));
        _tensorNames.Add(name);
    }

    /// <summary>Adds a tensor given as floats (length = product of <paramref name="shape"/>), encoded to <paramref name="type"/> with the ggml reference quantizer.</summary>
    public void AddTensor(string name, GgmlType type, long[] shape, ReadOnlySpan<float> values)
    {
        long bytes = ValidateTensor(name, type, shape);
        long elements = 1;
        foreach (long d in shape) elements *= d;
        if (values.Length != elements)
            throw new ArgumentException($"tensor '{name}' shape [{string.Join(", ", shape)}] has {elements} elements but {values.Length} values were given", nameof(values));
        var data = new byte[bytes];
        TensorTypes.Quantize(type, values, data);
        AddTensor(name, type, shape, (ReadOnlyMemory<byte>)data);
    }

    long ValidateTensor(string name, GgmlType type, long[] shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        if (Encoding.UTF8.GetByteCount(name) > GgufParser.MaxTensorNameBytes)
            throw new ArgumentException($"tensor name '{name}' is longer than {GgufParser.MaxTensorNameBytes} UTF-8 bytes (ggml's limit)", nameof(name));
        if (_tensorNames.Contains(name))
            throw new ArgumentException($"tensor '{name}' was already added", nameof(name));
        if (shape.Length is 0 or > GgufParser.MaxDims || shape.Any(d => d <= 0))
            throw new ArgumentException($"tensor '{name}' shape [{string.Join(", ", shape)}] must have 1 to {GgufParser.MaxDims} positive dimensions", nameof(shape));
        if (!TensorTypes.IsSupported(type))
            throw new ArgumentException($"tensor '{name}' has type {type}, which SeekSharp does not support yet (supported: {GgufParser.SupportedTypesText()})", nameof(type));
        if (shape[0] % TensorTypes.BlockSize(type) != 0)
            throw new ArgumentException($"tensor '{name}' of type {type} has {shape[0]} elements per row; expected a multiple of the block size {TensorTypes.BlockSize(type)}", nameof(shape));
        long rows = 1;
        for (int i = 1; i < shape.Length; i++) rows = checked(rows * shape[i]);
        return checked(TensorTypes.RowBytes(type, shape[0]) * rows);
    }

    /// <summary>
    /// Writes the file to <paramref name="path"/>, replacing any existing file only once the new one is complete (through
    /// a temporary file in the same folder, <see cref="IO.AtomicFile"/>): a process killed mid-write never leaves a
    /// truncated GGUF under the name, which a loader would take for a model.
    /// </summary>
    public void Write(string path) => IO.AtomicFile.Write(path, Write);

    /// <summary>Writes the file to <paramref name="stream"/> from its current position (the stream need not be seekable).</summary>
    public void Write(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        long alignment = _metadata.TryGetValue(GgufParser.AlignmentKey, out object? a) ? (uint)a : GgufParser.DefaultAlignment;
        var w = new Output(stream);

        w.U32(GgufParser.Magic);
        w.U32(_version);
        w.U64((ulong)_tensors.Count);
        w.U64((ulong)_metadata.Count);
        foreach (var (key, value) in _metadata)
        {
            w.String(key);
            w.U32((uint)TypeOf(value));
            WriteValue(w, value);
        }

        long offset = 0;
        foreach (var t in _tensors)
        {
            w.String(t.Name);
            w.U32((uint)t.Shape.Length);
            foreach (long d in t.Shape) w.U64((ulong)d);
            w.U32((uint)t.Type);
            w.U64((ulong)offset);
            offset += AlignUp(t.ByteCount, alignment);
        }

        w.Pad(alignment);
        foreach (var t in _tensors)
        {
            if (t.Stream is { } write)
            {
                var piece = new TensorStream(w, t);
                write(piece);
                piece.CheckComplete();
                w.Pad(alignment);
                continue;
            }
            var data = t.Source is null ? t.Data : t.Source();
            // The offsets above were computed from ByteCount: a wrong length would shift every later tensor.
            if (data.Length != t.ByteCount)
                throw new InvalidOperationException($"tensor '{t.Name}' ({t.Type}, shape [{string.Join(", ", t.Shape)}]) needs {t.ByteCount} bytes but its data source gave {data.Length}");
            w.Bytes(data.Span);
            w.Pad(alignment);
        }
        stream.Flush();
    }

    static long AlignUp(long value, long alignment) => (value + alignment - 1) & ~(alignment - 1);

    static void WriteValue(Output w, object value)
    {
        switch (value)
        {
            case byte v: w.Bytes([v]); break;
            case sbyte v: w.Bytes([(byte)v]); break;
            case ushort v: w.Fixed(v); break;
            case short v: w.Fixed(v); break;
            case uint v: w.Fixed(v); break;
            case int v: w.Fixed(v); break;
            case float v: w.Fixed(v); break;
            case bool v: w.Bytes([v ? (byte)1 : (byte)0]); break;
            case string v: w.String(v); break;
            case ulong v: w.Fixed(v); break;
            case long v: w.Fixed(v); break;
            case double v: w.Fixed(v); break;
            case GgufArray v: WriteArray(w, v); break;
            default: throw new InvalidOperationException($"unreachable: {value.GetType()} was normalized");
        }
    }

    static void WriteArray(Output w, GgufArray array)
    {
        w.U32((uint)array.ElementType);
        w.U64((ulong)array.Values.Length);
        switch (array.Values)
        {
            case string[] strings: foreach (string s in strings) w.String(s); break;
            case bool[] bools: foreach (bool b in bools) w.Bytes([b ? (byte)1 : (byte)0]); break;
            case GgufArray[] nested: foreach (var n in nested) WriteArray(w, n); break;
            case byte[] x: w.Bytes(x); break;
            case sbyte[] x: w.Bytes(MemoryMarshal.AsBytes(x.AsSpan())); break;
            case ushort[] x: w.Bytes(MemoryMarshal.AsBytes(x.AsSpan())); break;
            case short[] x: w.Bytes(MemoryMarshal.AsBytes(x.AsSpan())); break;
            case uint[] x: w.Bytes(MemoryMarshal.AsBytes(x.AsSpan())); break;
            case int[] x: w.Bytes(MemoryMarshal.AsBytes(x.AsSpan())); break;
            case float[] x: w.Bytes(MemoryMarshal.AsBytes(x.AsSpan())); break;
            case ulong[] x: w.Bytes(MemoryMarshal.AsBytes(x.AsSpan())); break;
            case long[] x: w.Bytes(MemoryMarshal.AsBytes(x.AsSpan())); break;
            case double[] x: w.Bytes(MemoryMarshal.AsBytes(x.AsSpan())); break;
            default: throw new InvalidOperationException($"unreachable: {array.Values.GetType()} was normalized");
        }
    }

    static GgufValueType TypeOf(object value) => value switch
    {
        byte => GgufValueType.UInt8, sbyte => GgufValueType.Int8, ushort => GgufValueType.UInt16, short => GgufValueType.Int16,
        uint => GgufValueType.UInt32, int => GgufValueType.Int32, float => GgufValueType.Float32, bool => GgufValueType.Bool,
        string => GgufValueType.String, ulong => GgufValueType.UInt64, long => GgufValueType.Int64, double => GgufValueType.Float64,
        GgufArray => GgufValueType.Array,
        _ => throw new InvalidOperationException($"unreachable: {value.GetType()} was normalized"),
    };

    /// <summary>The element type a typed .NET array stands for, or null if it is not one GGUF can store.</summary>
    /// <remarks>Compares exact types: the runtime lets an sbyte[] pass as byte[] (and int[] as uint[]) in type tests.</remarks>
    static GgufValueType? ElementTypeOf(Array values) => values.GetType() switch
    {
        var t when t == typeof(byte[]) => GgufValueType.UInt8,
        var t when t == typeof(sbyte[]) => GgufValueType.Int8,
        var t when t == typeof(ushort[]) => GgufValueType.UInt16,
        var t when t == typeof(short[]) => GgufValueType.Int16,
        var t when t == typeof(uint[]) => GgufValueType.UInt32,
        var t when t == typeof(int[]) => GgufValueType.Int32,
        var t when t == typeof(float[]) => GgufValueType.Float32,
        var t when t == typeof(bool[]) => GgufValueType.Bool,
        var t when t == typeof(string[]) => GgufValueType.String,
        var t when t == typeof(ulong[]) => GgufValueType.UInt64,
        var t when t == typeof(long[]) => GgufValueType.Int64,
        var t when t == typeof(double[]) => GgufValueType.Float64,
        var t when t == typeof(GgufArray[]) => GgufValueType.Array,
        _ => null,
    };

    static object Normalize(string key, object value) => value switch
    {
        byte or sbyte or ushort or short or uint or int or float or bool or string or ulong or long or double => value,
        GgufArray array => CopyArray(key, array),
        Array raw when ElementTypeOf(raw) is { } elementType => CopyArray(key, new GgufArray(elementType, raw)),
        _ => throw new ArgumentException($"metadata key '{key}': values of type {value.GetType()} cannot be stored in GGUF", nameof(value)),
    };

    /// <summary>Validates that Values matches ElementType (recursively) and copies it so later caller edits cannot leak in.</summary>
    static GgufArray CopyArray(string key, GgufArray array)
    {
        ArgumentNullException.ThrowIfNull(array.Values);
        if (array.Values.Rank != 1 || ElementTypeOf(array.Values) != array.ElementType)
            throw new ArgumentException($"metadata key '{key}': array declared as {array.ElementType} holds {array.Values.GetType()}", "value");
        switch (array.Values)
        {
            case string[] strings:
                if (Array.IndexOf(strings, null) is var i and >= 0)
                    throw new ArgumentException($"metadata key '{key}': string array element {i} is null", "value");
                return array with { Values = (Array)strings.Clone() };
            case GgufArray[] nested:
                var copies = new GgufArray[nested.Length];
                for (int j = 0; j < nested.Length; j++)
                {
                    if (nested[j] is null) throw new ArgumentException($"metadata key '{key}': nested array element {j} is null", "value");
                    copies[j] = CopyArray(key, nested[j]);
                }
                return array with { Values = copies };
            default:
                return array with { Values = (Array)array.Values.Clone() };
        }
    }

    /// <summary>
    /// The write-only stream a streamed tensor gets: it forwards to the output and refuses a byte beyond the tensor's
    /// size at once (so a faulty producer cannot shift the tensors after it), and a short tensor at the end.
    /// </summary>
    sealed class TensorStream(Output output, PendingTensor tensor) : Stream
    {
        long _written;

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (buffer.Length > tensor.ByteCount - _written)
                throw Wrong($"more than {tensor.ByteCount} bytes");
            output.Bytes(buffer);
            _written += buffer.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void WriteByte(byte value) => Write([value]);

        public void CheckComplete()
        {
            if (_written != tensor.ByteCount) throw Wrong($"{_written}");
        }

        InvalidOperationException Wrong(string gave) =>
            new($"tensor '{tensor.Name}' ({tensor.Type}, shape [{string.Join(", ", tensor.Shape)}]) needs {tensor.ByteCount} bytes but its data source gave {gave}");

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _written; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>Little-endian output that counts bytes, so padding works on non-seekable streams.</summary>
    sealed class Output(Stream stream)
    {
        long _written;

        public void Bytes(ReadOnlySpan<byte> bytes)
        {
            stream.Write(bytes);
            _written += bytes.Length;
        }

        public void Fixed<T>(T value) where T : unmanaged => Bytes(MemoryMarshal.AsBytes(new ReadOnlySpan<T>(ref value)));

        public void U32(uint value)
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(b, value);
            Bytes(b);
        }

        public void U64(ulong value)
        {
            Span<byte> b = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(b, value);
            Bytes(b);
        }

        public void String(string s)
        {
            byte[] utf8 = Encoding.UTF8.GetBytes(s);
            U64((ulong)utf8.Length);
            Bytes(utf8);
        }

        public void Pad(long alignment)
        {
            Span<byte> zeros = stackalloc byte[64];
            zeros.Clear();
            long pad = AlignUp(_written, alignment) - _written;
            while (pad > 0)
            {
                int n = (int)Math.Min(pad, zeros.Length);
                Bytes(zeros[..n]);
                pad -= n;
            }
        }
    }
}

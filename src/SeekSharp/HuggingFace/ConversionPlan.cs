using System.Buffers;
using System.Runtime.InteropServices;
using SeekSharp.Gguf;
using SeekSharp.Kernels;
using SeekSharp.Safetensors;

namespace SeekSharp.HuggingFace;

/// <summary>
/// One tensor of a conversion: its GGUF name, type and shape (ggml order, innermost first) and where its data comes
/// from: straight from a safetensors mapping when the stored bytes already are the GGUF bytes (<paramref name="Direct"/>),
/// otherwise computed as floats by <paramref name="Values"/> (decoded, permuted, stacked or split) and then encoded.
/// </summary>
internal sealed record PlannedTensor(string Name, GgmlType Type, long[] Shape, Func<float[]>? Values,
    (SafetensorsFile File, SafetensorsTensorInfo Info)? Direct)
{
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);

    public long ByteSize => TensorTypes.RowBytes(Type, Shape[0]) * (ElementCount / Shape[0]);

    /// <summary>The GGUF bytes of the tensor: a view of the mapping, or a freshly encoded buffer.</summary>
    public unsafe ReadOnlyMemory<byte> Bytes()
    {
        if (Direct is { } direct)
            return new PointerMemory(direct.File.GetPointer(direct.Info), checked((int)direct.Info.ByteSize)).Memory;
        float[] values = Values!();
        if (values.LongLength != ElementCount)
            throw new InvalidOperationException($"tensor '{Name}' computed {values.LongLength} values for shape [{string.Join(", ", Shape)}]");
        if (Type == GgmlType.F32) return MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        var bytes = new byte[ByteSize];
        TensorTypes.Quantize(Type, values, bytes);
        return bytes;
    }

    /// <summary>Exposes mapped memory to APIs that take <see cref="ReadOnlyMemory{T}"/> without copying it.</summary>
    sealed unsafe class PointerMemory(byte* pointer, int length) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => new(pointer, length);
        public override MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex);
        public override void Unpin() { }
        protected override void Dispose(bool disposing) { }
    }
}

/// <summary>Progress of a conversion: tensor <paramref name="Index"/> (1-based) of <paramref name="Count"/>, named <paramref name="Name"/>, is done.</summary>
public sealed record ConvertProgress(int Index, int Count, string Name);

/// <summary>
/// A Hugging Face folder mapped to GGUF: the metadata and tensor list llama.cpp's converter would write, with lazy data.
/// The same plan is written by <see cref="Write"/> (<c>seek convert</c>) and opened in memory by <see cref="Open"/>
/// (loading a folder), so the two give the same bytes by construction.
/// </summary>
internal sealed class ConversionPlan(string folder, IReadOnlyDictionary<string, object> metadata, IReadOnlyList<PlannedTensor> tensors, IDisposable owner) : IDisposable
{
    public string Folder => folder;
    public IReadOnlyDictionary<string, object> Metadata => metadata;
    public IReadOnlyList<PlannedTensor> Tensors => tensors;

    /// <summary>A writer holding the metadata and every tensor, whose data is produced as the writer reaches it.</summary>
    public GgufWriter ToWriter(IProgress<ConvertProgress>? progress = null)
    {
        var w = new GgufWriter(3);
        foreach (var (k, v) in metadata) w.Set(k, v);
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            int index = i + 1;
            w.AddTensor(t.Name, t.Type, t.Shape, () =>
            {
                var bytes = t.Bytes();
                progress?.Report(new ConvertProgress(index, tensors.Count, t.Name));
                return bytes;
            });
        }
        return w;
    }

    /// <summary>Writes the GGUF to <paramref name="path"/> atomically (a temporary file renamed when complete).</summary>
    public void Write(string path, IProgress<ConvertProgress>? progress = null, CancellationToken cancellationToken = default) =>
        IO.AtomicFile.Write(path, ToWriter(progress).Write, cancellationToken);

    /// <summary>
    /// The plan as an open <see cref="GgufFile"/>: tensors whose bytes are stored as GGUF wants them point into the
    /// safetensors mappings; the others are computed now into native memory that the file owns. Disposing the file
    /// releases both (this plan is no longer needed once opened).
    /// </summary>
    public unsafe GgufFile Open(IProgress<ConvertProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var buffers = new NativeBuffers(owner);
        try
        {
            var list = new List<(string, GgmlType, long[], nint)>(tensors.Count);
            for (int i = 0; i < tensors.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var t = tensors[i];
                nint data;
                if (t.Direct is { } direct)
                    data = (nint)direct.File.GetPointer(direct.Info);
                else
                {
                    var bytes = t.Bytes();
                    data = buffers.Allocate(bytes.Length);
                    bytes.Span.CopyTo(new Span<byte>((void*)data, bytes.Length));
                }
                list.Add((t.Name, t.Type, t.Shape, data));
                progress?.Report(new ConvertProgress(i + 1, tensors.Count, t.Name));
            }
            return GgufFile.FromTensors(folder, metadata, list, buffers);
        }
        catch
        {
            buffers.Dispose();
            throw;
        }
    }

    public void Dispose() => owner.Dispose();

    /// <summary>Native buffers of computed tensors, freed together with the mappings the other tensors point into.</summary>
    sealed unsafe class NativeBuffers(IDisposable mappings) : IDisposable
    {
        readonly List<nint> _blocks = [];

        public nint Allocate(int bytes)
        {
            // 64-byte alignment: the matmul kernels load weight rows with full-width vector loads.
            nint p = (nint)NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, 1), 64);
            _blocks.Add(p);
            return p;
        }

        public void Dispose()
        {
            foreach (nint p in _blocks) NativeMemory.AlignedFree((void*)p);
            _blocks.Clear();
            mappings.Dispose();
        }
    }
}

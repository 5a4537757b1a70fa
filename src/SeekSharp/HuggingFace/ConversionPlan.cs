using System.Runtime.InteropServices;
using SeekSharp.Gguf;
using SeekSharp.Kernels;
using SeekSharp.Quantization;
using SeekSharp.Safetensors;

namespace SeekSharp.HuggingFace;

/// <summary>Writes rows <c>firstRow</c> .. + <c>rows</c> of a computed tensor (ggml rows of Shape[0] values) as floats into <c>destination</c>.</summary>
internal delegate void RowFill(long firstRow, int rows, Span<float> destination);

/// <summary>
/// One tensor of a conversion: its GGUF name, type and shape (ggml order, innermost first) and where its data comes
/// from: straight from a safetensors mapping when the stored bytes already are the GGUF bytes (<paramref name="Direct"/>),
/// otherwise computed row by row as floats by <paramref name="Rows"/> (decoded, permuted, stacked or split) and then
/// encoded. Rows, not the whole tensor: a stacked DeepSeek-V3 expert tensor has 3.7 G values, more than an array holds.
/// </summary>
internal sealed record PlannedTensor(string Name, GgmlType Type, long[] Shape, RowFill? Rows,
    (SafetensorsFile File, SafetensorsTensorInfo Info)? Direct)
{
    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);

    public long RowCount => ElementCount / Shape[0];

    public long RowBytes => TensorTypes.RowBytes(Type, Shape[0]);

    public long ByteSize => RowBytes * RowCount;

    /// <summary>Rows <paramref name="firstRow"/> .. + <paramref name="rows"/> in <see cref="Type"/>'s layout, <paramref name="scratch"/> holding their floats. Thread-safe.</summary>
    public unsafe bool EncodeRows(long firstRow, int rows, Span<float> scratch, Span<byte> destination)
    {
        if (Direct is { } direct)
        {
            new ReadOnlySpan<byte>(direct.File.GetPointer(direct.Info) + firstRow * RowBytes, destination.Length).CopyTo(destination);
            return true;
        }
        Rows!(firstRow, rows, scratch);
        if (Type == GgmlType.F32) MemoryMarshal.AsBytes(scratch).CopyTo(destination);
        else TensorTypes.Quantize(Type, scratch, destination);
        return true;
    }

    /// <summary>Writes the tensor's GGUF bytes to <paramref name="output"/> a piece at a time (<see cref="TensorPieces"/>).</summary>
    public unsafe void WriteTo(Stream output, CancellationToken cancellationToken)
    {
        if (Direct is { } direct) TensorPieces.Copy(output, direct.File.GetPointer(direct.Info), ByteSize, cancellationToken);
        else TensorPieces.Write(output, RowCount, Shape[0], RowBytes, EncodeRows, cancellationToken);
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
    public GgufWriter ToWriter(IProgress<ConvertProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var w = new GgufWriter(3);
        foreach (var (k, v) in metadata) w.Set(k, v);
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            int index = i + 1;
            w.AddTensor(t.Name, t.Type, t.Shape, stream =>
            {
                t.WriteTo(stream, cancellationToken);
                progress?.Report(new ConvertProgress(index, tensors.Count, t.Name));
            });
        }
        return w;
    }

    /// <summary>Writes the GGUF to <paramref name="path"/> atomically (a temporary file renamed when complete).</summary>
    public void Write(string path, IProgress<ConvertProgress>? progress = null, CancellationToken cancellationToken = default) =>
        IO.AtomicFile.Write(path, ToWriter(progress, cancellationToken).Write, cancellationToken);

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
                    // Filled through a stream over native memory, never a span: a tensor may be 2 GiB or more.
                    data = buffers.Allocate(t.ByteSize);
                    using var stream = new UnmanagedMemoryStream((byte*)data, 0, t.ByteSize, FileAccess.Write);
                    t.WriteTo(stream, cancellationToken);
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

    /// <summary>
    /// The plan as a <see cref="GgufFile"/> for <see cref="GgufQuantizer"/> to read without computing anything up front:
    /// tensors stored as GGUF wants them point into the mappings, the others have no data (<see cref="GgufFile.HasData"/>)
    /// and are read a piece of rows at a time through <see cref="EncodeRows"/>. The plan keeps owning the mappings:
    /// dispose the file before the plan.
    /// </summary>
    public unsafe GgufFile OpenRowByRow()
    {
        var list = tensors.Select(t => (t.Name, t.Type, t.Shape, t.Direct is { } d ? (nint)d.File.GetPointer(d.Info) : 0)).ToList();
        return GgufFile.FromTensors(folder, metadata, list, NothingToDispose.Instance);
    }

    /// <summary>Rows of tensor <paramref name="tensor"/> of <see cref="OpenRowByRow"/>'s file, in its GGUF type.</summary>
    public bool EncodeRows(GgufTensorInfo tensor, long firstRow, int rows, Span<float> scratch, Span<byte> destination) =>
        _byName.Value[tensor.Name].EncodeRows(firstRow, rows, scratch, destination);

    readonly Lazy<Dictionary<string, PlannedTensor>> _byName = new(() => tensors.ToDictionary(t => t.Name, StringComparer.Ordinal));

    sealed class NothingToDispose : IDisposable
    {
        public static readonly NothingToDispose Instance = new();
        public void Dispose() { }
    }

    public void Dispose() => owner.Dispose();

    /// <summary>Native buffers of computed tensors, freed together with the mappings the other tensors point into.</summary>
    sealed unsafe class NativeBuffers(IDisposable mappings) : IDisposable
    {
        readonly List<nint> _blocks = [];

        public nint Allocate(long bytes)
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

using SeekSharp.Kernels;

namespace SeekSharp.Gguf;

/// <summary>
/// One tensor's header entry. <paramref name="Shape"/> is in ggml order: Shape[0] = ne0 is the contiguous (innermost)
/// dimension, so a weight matrix with <c>rows = out</c> and <c>cols = in</c> has Shape = { cols, rows }.
/// </summary>
/// <param name="Name">Tensor name, unique within the file (e.g. <c>blk.0.attn_q.weight</c>).</param>
/// <param name="Type">Element type of the stored data.</param>
/// <param name="Shape">1 to 4 dimensions, each &gt; 0, innermost first.</param>
/// <param name="Offset">Byte offset of the data relative to <see cref="GgufFile.DataOffset"/>; a multiple of the alignment.</param>
/// <param name="ByteSize">Bytes of stored data: <c>RowBytes(Type, Shape[0]) * Shape[1] * Shape[2] * Shape[3]</c>.</param>
public sealed record GgufTensorInfo(string Name, GgmlType Type, long[] Shape, long Offset, long ByteSize)
{
    /// <summary>Product of all dimensions.</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Shape) n *= d;
            return n;
        }
    }

    /// <summary>Number of rows, i.e. the product of every dimension except the innermost.</summary>
    public long RowCount => ElementCount / Shape[0];
}

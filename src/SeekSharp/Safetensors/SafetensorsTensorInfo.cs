namespace SeekSharp.Safetensors;

/// <summary>
/// One tensor of a safetensors header. <paramref name="Shape"/> is row-major as PyTorch holds it: the last dimension
/// is contiguous, so a weight [out, in] has Shape = { out, in } (the reverse of GGUF's order).
/// </summary>
/// <param name="Name">Tensor name, unique within the file (e.g. <c>model.layers.0.self_attn.q_proj.weight</c>).</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Dimensions, outermost first; empty for a scalar.</param>
/// <param name="Begin">Byte offset of the data relative to the start of the data section.</param>
/// <param name="End">Byte offset one past the data; <c>End - Begin</c> = elements × element size.</param>
public sealed record SafetensorsTensorInfo(string Name, SafetensorsDType DType, long[] Shape, long Begin, long End)
{
    /// <summary>Product of all dimensions (1 for a scalar).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Shape) n *= d;
            return n;
        }
    }

    /// <summary>Bytes of data.</summary>
    public long ByteSize => End - Begin;

    /// <summary>The shape as text, e.g. <c>[4096, 11008]</c>.</summary>
    public string ShapeText => $"[{string.Join(", ", Shape)}]";
}

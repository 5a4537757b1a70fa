using System.Text;

namespace SeekSharp.Conformance.Tests.Trace;

/// <summary>
/// A read-only view of a native <c>struct ggml_tensor</c> (ggml/include/ggml.h) as ggml's eval callback receives it.
/// </summary>
/// <remarks>
/// Layout on a 64-bit target, with GGML_MAX_DIMS = 4, GGML_MAX_OP_PARAMS = 64, GGML_MAX_SRC = 10, GGML_MAX_NAME = 64:
/// <code>
///   0 enum ggml_type type          (int32)
///   8 ggml_backend_buffer* buffer
///  16 int64_t ne[4]                 elements per dimension, ne[0] innermost
///  48 size_t  nb[4]                 byte strides
///  80 enum ggml_op op               (int32)
///  84 int32_t op_params[16]
/// 148 int32_t flags
/// 152 ggml_tensor* src[10]
/// 232 ggml_tensor* view_src
/// 240 size_t view_offs
/// 248 void* data
/// 256 char name[64]
/// 320 void* extra
/// 328 char padding[8]               (sizeof = 336)
/// </code>
/// The struct is not part of llama.cpp's stable API, so <see cref="Validate"/> checks that each field read holds a
/// plausible value and callers check shapes against the model (see <see cref="LlamaCppTrace"/>): a layout change
/// fails loudly instead of producing garbage.
/// </remarks>
internal readonly unsafe struct GgmlTensor(nint pointer)
{
    private const int TypeOffset = 0, BufferOffset = 8, NeOffset = 16, NbOffset = 48, OpOffset = 80;
    private const int DataOffset = 248, NameOffset = 256, MaxName = 64;
    private const int MaxDims = 4;

    /// <summary>ggml's <c>GGML_TYPE_F32</c>.</summary>
    public const int TypeF32 = 0;

    /// <summary>One past the highest <c>ggml_type</c> id this layout was read from (<c>GGML_TYPE_COUNT</c> is 40);
    /// newer builds may add types, so a margin is allowed.</summary>
    private const int TypeCountUpperBound = 64;

    private byte* Base => (byte*)pointer;

    /// <summary><c>ggml_type</c> id (0 = F32, 1 = F16, ...).</summary>
    public int Type => *(int*)(Base + TypeOffset);

    /// <summary><c>ggml_op</c> id; its numbering changes between ggml versions, so it is only shown, never interpreted.</summary>
    public int Op => *(int*)(Base + OpOffset);

    /// <summary>Whether the tensor lives in a backend buffer (it does once the graph is allocated).</summary>
    public bool HasBuffer => *(nint*)(Base + BufferOffset) != 0;

    /// <summary>Host address of element [0, 0, 0, 0] (the CPU backend computes in host memory).</summary>
    public nint Data => *(nint*)(Base + DataOffset);

    /// <summary>Elements along dimension <paramref name="dim"/> (0 innermost).</summary>
    public long Ne(int dim) => ((long*)(Base + NeOffset))[dim];

    /// <summary>Byte stride of dimension <paramref name="dim"/>.</summary>
    public long Nb(int dim) => ((long*)(Base + NbOffset))[dim];

    /// <summary>ne[0..3] in ggml order.</summary>
    public long[] Shape => [Ne(0), Ne(1), Ne(2), Ne(3)];

    /// <summary>Total element count.</summary>
    public long ElementCount => Ne(0) * Ne(1) * Ne(2) * Ne(3);

    /// <summary>The tensor's name, e.g. <c>Qcur-0</c> (llama.cpp appends <c>-layer</c> to per-layer names).</summary>
    public string Name
    {
        get
        {
            var bytes = new ReadOnlySpan<byte>(Base + NameOffset, MaxName);
            int end = bytes.IndexOf((byte)0);
            return Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
        }
    }

    /// <summary>Throws when the fields do not look like a ggml_tensor of the layout above.</summary>
    public void Validate()
    {
        if (pointer == 0)
            throw new InvalidOperationException("ggml eval callback received a null tensor.");
        var nameBytes = new ReadOnlySpan<byte>(Base + NameOffset, MaxName);
        if (nameBytes.IndexOf((byte)0) < 0)
            throw LayoutError("its name is not NUL-terminated within 64 bytes");
        if ((uint)Type >= TypeCountUpperBound)
            throw LayoutError($"its type id is {Type}");
        for (int d = 0; d < MaxDims; d++)
            if (Ne(d) < 0 || Ne(d) > int.MaxValue || Nb(d) < 0)
                throw LayoutError($"ne[{d}] = {Ne(d)}, nb[{d}] = {Nb(d)}");
    }

    /// <summary>
    /// The F32 elements in ggml order (ne0 fastest, then ne1, ne2, ne3), read through the byte strides so that
    /// permuted or strided views come out as if they were contiguous.
    /// </summary>
    public float[] CopyF32()
    {
        if (Type != TypeF32)
            throw new InvalidOperationException($"tensor '{Name}' has ggml type {Type}, not F32.");
        if (Data == 0)
            throw new InvalidOperationException($"tensor '{Name}' has no data (not allocated on the host).");
        long n0 = Ne(0), n1 = Ne(1), n2 = Ne(2), n3 = Ne(3);
        long nb0 = Nb(0), nb1 = Nb(1), nb2 = Nb(2), nb3 = Nb(3);
        var values = new float[checked((int)ElementCount)];
        byte* data = (byte*)Data;
        bool contiguous = nb0 == sizeof(float) && nb1 == n0 * nb0 && nb2 == n1 * nb1 && nb3 == n2 * nb2;
        if (contiguous)
        {
            new ReadOnlySpan<float>(data, values.Length).CopyTo(values);
            return values;
        }
        int k = 0;
        for (long i3 = 0; i3 < n3; i3++)
            for (long i2 = 0; i2 < n2; i2++)
                for (long i1 = 0; i1 < n1; i1++)
                    for (long i0 = 0; i0 < n0; i0++)
                        values[k++] = *(float*)(data + i0 * nb0 + i1 * nb1 + i2 * nb2 + i3 * nb3);
        return values;
    }

    private InvalidOperationException LayoutError(string what) => new(
        $"The ggml_tensor at 0x{pointer:X} does not match the expected struct layout ({what}). " +
        "The llama.cpp build behind LLamaSharp may have changed ggml.h: update the offsets in GgmlTensor.");
}

using System.Runtime.InteropServices;
using SeekSharp.Kernels.Quants;

namespace SeekSharp.Kernels;

/// <summary>
/// Sizes, encoding and decoding of the ggml tensor types SeekSharp understands, bit-exact with ggml's
/// reference quantizers (quantize_row_*_ref, ggml_fp32_to_fp16/bf16) and dequantize_row_*.
/// </summary>
public static class TensorTypes
{
    /// <summary>Elements per block: 1 for F32/F16/BF16, 32 for the legacy quants (Q8_0, Q4_0, …), 256 (QK_K) for the K-quants.</summary>
    /// <exception cref="NotSupportedException">The type is not supported yet.</exception>
    public static int BlockSize(GgmlType t) => TypeTraits.For(t).BlockSize;

    /// <summary>Bytes per block (ggml-common.h's block structs): F32 4, F16 2, Q8_0 34, Q4_K 144, Q6_K 210, ….</summary>
    /// <exception cref="NotSupportedException">The type is not supported yet.</exception>
    public static int BlockBytes(GgmlType t) => TypeTraits.For(t).BlockBytes;

    /// <summary>True for the types every kernel handles (the rows of the type-traits table).</summary>
    public static bool IsSupported(GgmlType t) => TypeTraits.Find(t) is not null;

    /// <summary>True for the types <see cref="Quantize"/> can write (some types are read only).</summary>
    public static unsafe bool CanEncode(GgmlType t) => TypeTraits.Find(t) is { } traits && traits.Quantize != null;

    /// <summary>Bytes taken by <paramref name="n"/> consecutive elements of type <paramref name="t"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="n"/> is negative or not a multiple of the block size.</exception>
    /// <exception cref="NotSupportedException">The type is not supported yet.</exception>
    public static long RowBytes(GgmlType t, long n)
    {
        int blockSize = BlockSize(t);
        if (n < 0 || n % blockSize != 0)
        {
            throw new ArgumentException(
                $"{t} stores elements in blocks of {blockSize}; a row of {n} elements is not a whole number of blocks. " +
                $"Rows of {t} tensors must have a multiple of {blockSize} elements.", nameof(n));
        }
        return n / blockSize * BlockBytes(t);
    }

    /// <summary>
    /// Encodes <paramref name="src"/> (a whole number of blocks) as <paramref name="t"/> into
    /// <paramref name="dst"/>, which must be exactly <c>RowBytes(t, src.Length)</c> bytes.
    /// Bit-exact with ggml's reference encoders, so files we write equal llama.cpp's.
    /// </summary>
    /// <exception cref="ArgumentException">Sizes do not match.</exception>
    /// <exception cref="NotSupportedException">The type is not supported yet.</exception>
    public static unsafe void Quantize(GgmlType t, ReadOnlySpan<float> src, Span<byte> dst)
    {
        long bytes = RowBytes(t, src.Length);
        if (dst.Length != bytes)
        {
            throw new ArgumentException($"Encoding {src.Length} elements as {t} takes {bytes} bytes, but the destination has {dst.Length}.", nameof(dst));
        }
        var traits = TypeTraits.For(t);
        if (traits.Quantize == null)
        {
            throw new NotSupportedException($"SeekSharp reads {t} tensors but cannot write them yet.");
        }
        traits.Quantize(src, dst);
    }

    /// <summary>True for the types <see cref="Quantize(GgmlType, ReadOnlySpan{float}, Span{byte}, ReadOnlySpan{float})"/>
    /// can write with an importance matrix: those whose ggml quantizer takes one, and those whose quantizer ignores it.</summary>
    public static unsafe bool CanEncodeWithImportance(GgmlType t) =>
        TypeTraits.Find(t) is { } traits && (traits.QuantizeWeighted != null || (traits.IgnoresImportance && traits.Quantize != null));

    /// <summary>
    /// Encodes whole rows of <paramref name="importance"/>.Length elements as ggml's quantizer does with an importance
    /// matrix (ggml_quantize_chunk with imatrix): <paramref name="importance"/> holds one non-negative weight per column,
    /// the mean square of the activations that column meets. Types whose quantizer ignores it encode as
    /// <see cref="Quantize(GgmlType, ReadOnlySpan{float}, Span{byte})"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Sizes do not match.</exception>
    /// <exception cref="NotSupportedException">SeekSharp has no importance-weighted quantizer for the type.</exception>
    public static unsafe void Quantize(GgmlType t, ReadOnlySpan<float> src, Span<byte> dst, ReadOnlySpan<float> importance)
    {
        int cols = importance.Length;
        if (cols == 0 || src.Length % cols != 0)
        {
            throw new ArgumentException($"{src.Length} elements are not whole rows of the importance matrix's {cols} columns.", nameof(importance));
        }
        var traits = TypeTraits.For(t);
        if (traits.QuantizeWeighted == null)
        {
            if (traits.IgnoresImportance)
            {
                Quantize(t, src, dst);
                return;
            }
            throw new NotSupportedException($"SeekSharp cannot write {t} with an importance matrix yet.");
        }
        long rowBytes = RowBytes(t, cols);
        if (dst.Length != rowBytes * (src.Length / cols))
        {
            throw new ArgumentException($"Encoding {src.Length} elements as {t} takes {rowBytes * (src.Length / cols)} bytes, but the destination has {dst.Length}.", nameof(dst));
        }
        for (int r = 0; r < src.Length / cols; r++)
        {
            traits.QuantizeWeighted(src.Slice(r * cols, cols), importance, dst.Slice((int)(r * rowBytes), (int)rowBytes));
        }
    }

    /// <summary>
    /// Decodes <paramref name="src"/>, which must be exactly <c>RowBytes(t, dst.Length)</c> bytes of type
    /// <paramref name="t"/>, into <paramref name="dst"/>. Bit-exact with ggml's dequantize_row_*.
    /// </summary>
    /// <exception cref="ArgumentException">Sizes do not match.</exception>
    /// <exception cref="NotSupportedException">The type is not supported yet.</exception>
    public static unsafe void Dequantize(GgmlType t, ReadOnlySpan<byte> src, Span<float> dst)
    {
        long bytes = RowBytes(t, dst.Length);
        if (src.Length != bytes)
        {
            throw new ArgumentException($"Decoding {dst.Length} elements of {t} needs {bytes} bytes, but the source has {src.Length}.", nameof(src));
        }
        TypeTraits.For(t).Dequantize(src, dst);
    }

    internal static NotSupportedException Unsupported(GgmlType t) =>
        new($"Tensor type {t} (ggml id {(uint)t}) is not supported by SeekSharp yet; supported types are {string.Join(", ", TypeTraits.Supported)}. " +
            "Re-quantize the model to one of these (e.g. llama-quantize ... Q4_K_M).");
}

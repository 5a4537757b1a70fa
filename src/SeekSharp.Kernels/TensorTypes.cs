using System.Runtime.InteropServices;
using SeekSharp.Kernels.Quants;

namespace SeekSharp.Kernels;

/// <summary>
/// Sizes, encoding and decoding of the ggml tensor types SeekSharp understands, bit-exact with ggml's
/// reference quantizers (quantize_row_*_ref, ggml_fp32_to_fp16/bf16) and dequantize_row_*.
/// </summary>
public static class TensorTypes
{
    /// <summary>Elements per block: 1 for F32/F16/BF16, 32 for Q8_0/Q4_0/Q4_1/Q5_0/Q5_1, 256 (QK_K) for Q4_K/Q5_K/Q6_K.</summary>
    /// <exception cref="NotSupportedException">The type is not supported yet.</exception>
    public static int BlockSize(GgmlType t) => t switch
    {
        GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 => 1,
        GgmlType.Q8_0 => Q8_0.BlockSize,
        GgmlType.Q4_0 => Q4_0.BlockSize,
        GgmlType.Q4_1 => Q4_1.BlockSize,
        GgmlType.Q5_0 => Q5_0.BlockSize,
        GgmlType.Q5_1 => Q5_1.BlockSize,
        GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K => Q8_K.BlockSize,
        _ => throw Unsupported(t),
    };

    /// <summary>Bytes per block: F32 4, F16 2, BF16 2, Q8_0 34, Q4_0 18, Q4_1 20, Q5_0 22, Q5_1 24, Q4_K 144, Q5_K 176, Q6_K 210.</summary>
    /// <exception cref="NotSupportedException">The type is not supported yet.</exception>
    public static int BlockBytes(GgmlType t) => t switch
    {
        GgmlType.F32 => sizeof(float),
        GgmlType.F16 => F16.BlockBytes,
        GgmlType.BF16 => BF16.BlockBytes,
        GgmlType.Q8_0 => Q8_0.BlockBytes,
        GgmlType.Q4_0 => Q4_0.BlockBytes,
        GgmlType.Q4_1 => Q4_1.BlockBytes,
        GgmlType.Q5_0 => Q5_0.BlockBytes,
        GgmlType.Q5_1 => Q5_1.BlockBytes,
        GgmlType.Q4_K => Q4_K.BlockBytes,
        GgmlType.Q5_K => Q5_K.BlockBytes,
        GgmlType.Q6_K => Q6_K.BlockBytes,
        _ => throw Unsupported(t),
    };

    /// <summary>True for the types every kernel handles: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K.</summary>
    public static bool IsSupported(GgmlType t) =>
        t is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 or GgmlType.Q8_0 or GgmlType.Q4_0
          or GgmlType.Q4_1 or GgmlType.Q5_0 or GgmlType.Q5_1 or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K;

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
    public static void Quantize(GgmlType t, ReadOnlySpan<float> src, Span<byte> dst)
    {
        long bytes = RowBytes(t, src.Length);
        if (dst.Length != bytes)
        {
            throw new ArgumentException($"Encoding {src.Length} elements as {t} takes {bytes} bytes, but the destination has {dst.Length}.", nameof(dst));
        }
        switch (t)
        {
            case GgmlType.F32: MemoryMarshal.AsBytes(src).CopyTo(dst); break;
            case GgmlType.F16: F16.Quantize(src, dst); break;
            case GgmlType.BF16: BF16.Quantize(src, dst); break;
            case GgmlType.Q8_0: Q8_0.QuantizeReference(src, dst); break;
            case GgmlType.Q4_0: Q4_0.QuantizeReference(src, dst); break;
            case GgmlType.Q4_1: Q4_1.QuantizeReference(src, dst); break;
            case GgmlType.Q5_0: Q5_0.QuantizeReference(src, dst); break;
            case GgmlType.Q5_1: Q5_1.QuantizeReference(src, dst); break;
            case GgmlType.Q4_K: Q4_K.QuantizeReference(src, dst); break;
            case GgmlType.Q5_K: Q5_K.QuantizeReference(src, dst); break;
            case GgmlType.Q6_K: Q6_K.QuantizeReference(src, dst); break;
            default: throw Unsupported(t);
        }
    }

    /// <summary>
    /// Decodes <paramref name="src"/>, which must be exactly <c>RowBytes(t, dst.Length)</c> bytes of type
    /// <paramref name="t"/>, into <paramref name="dst"/>. Bit-exact with ggml's dequantize_row_*.
    /// </summary>
    /// <exception cref="ArgumentException">Sizes do not match.</exception>
    /// <exception cref="NotSupportedException">The type is not supported yet.</exception>
    public static void Dequantize(GgmlType t, ReadOnlySpan<byte> src, Span<float> dst)
    {
        long bytes = RowBytes(t, dst.Length);
        if (src.Length != bytes)
        {
            throw new ArgumentException($"Decoding {dst.Length} elements of {t} needs {bytes} bytes, but the source has {src.Length}.", nameof(src));
        }
        switch (t)
        {
            case GgmlType.F32: src.CopyTo(MemoryMarshal.AsBytes(dst)); break;
            case GgmlType.F16: F16.Dequantize(src, dst); break;
            case GgmlType.BF16: BF16.Dequantize(src, dst); break;
            case GgmlType.Q8_0: Q8_0.Dequantize(src, dst); break;
            case GgmlType.Q4_0: Q4_0.Dequantize(src, dst); break;
            case GgmlType.Q4_1: Q4_1.Dequantize(src, dst); break;
            case GgmlType.Q5_0: Q5_0.Dequantize(src, dst); break;
            case GgmlType.Q5_1: Q5_1.Dequantize(src, dst); break;
            case GgmlType.Q4_K: Q4_K.Dequantize(src, dst); break;
            case GgmlType.Q5_K: Q5_K.Dequantize(src, dst); break;
            case GgmlType.Q6_K: Q6_K.Dequantize(src, dst); break;
            default: throw Unsupported(t);
        }
    }

    internal static NotSupportedException Unsupported(GgmlType t) =>
        new($"Tensor type {t} (ggml id {(uint)t}) is not supported by SeekSharp yet; supported types are F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K. " +
            "Re-quantize the model to one of these (e.g. llama-quantize ... Q4_K_M).");
}

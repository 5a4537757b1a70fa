using System.Buffers;
using System.Diagnostics;
using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels;

/// <summary>
/// Matrix × vector(s) for weights in any supported <see cref="GgmlType"/>, with llama.cpp's CPU numerics.
/// </summary>
/// <remarks>
/// Weights are row-major: row r of a [rows, cols] matrix is <c>TensorTypes.RowBytes(type, cols)</c> bytes
/// at <c>w + r * rowBytes</c> (a GGUF tensor with Shape = {cols, rows}). As in ggml's mul_mat, the activation
/// is first converted once per call to the weight type's vec_dot_type and every row is dotted against it:
/// F32 → float dot; F16 → activation rounded to F16; BF16 → rounded to BF16; Q8_0 and Q4_0 → activation
/// quantized to Q8_0 (x86 CPU backend rounding) and an exact integer dot per 32-block scaled by d_w·d_x.
/// Rows are split across threads; the result does not depend on the split.
/// </remarks>
public static class MatMul
{
    // Below this many multiply-adds a call runs on the calling thread: scheduling would cost more.
    private const long ParallelThreshold = 1L << 16;

    /// <summary><c>y[r] = Σ_c W[r, c] · x[c]</c>.</summary>
    /// <param name="type">Weight type.</param>
    /// <param name="w">Weights [rows, cols], row-major, <c>rows * RowBytes(type, cols)</c> bytes.</param>
    /// <param name="rows">Output size.</param>
    /// <param name="cols">Input size; a multiple of the type's block size.</param>
    /// <param name="x">Input [cols].</param>
    /// <param name="y">Output [rows]; must not overlap <paramref name="x"/>.</param>
    /// <exception cref="ArgumentException">Sizes do not match or cols is not a whole number of blocks.</exception>
    /// <exception cref="NotSupportedException">The weight type is not supported yet.</exception>
    public static unsafe void MatVec(GgmlType type, byte* w, int rows, int cols, ReadOnlySpan<float> x, Span<float> y) =>
        MatMulRows(type, w, rows, cols, x, y, 1);

    /// <summary><c>y[i, r] = Σ_c W[r, c] · x[i, c]</c> for n input rows (a batch of tokens).</summary>
    /// <param name="type">Weight type.</param>
    /// <param name="w">Weights [rows, cols], row-major, <c>rows * RowBytes(type, cols)</c> bytes.</param>
    /// <param name="rows">Output size per input row.</param>
    /// <param name="cols">Input size; a multiple of the type's block size.</param>
    /// <param name="x">Inputs [n, cols].</param>
    /// <param name="y">Outputs [n, rows]; must not overlap <paramref name="x"/>.</param>
    /// <param name="n">Number of input rows.</param>
    /// <exception cref="ArgumentException">Sizes do not match or cols is not a whole number of blocks.</exception>
    /// <exception cref="NotSupportedException">The weight type is not supported yet.</exception>
    public static unsafe void MatMulRows(GgmlType type, byte* w, int rows, int cols, ReadOnlySpan<float> x, Span<float> y, int n)
    {
        if (!TensorTypes.IsSupported(type))
        {
            throw TensorTypes.Unsupported(type);
        }
        if (rows < 0 || cols < 0 || n < 0)
        {
            throw new ArgumentException($"Matrix sizes must be non-negative (rows {rows}, cols {cols}, n {n}).");
        }
        TensorTypes.RowBytes(type, cols);
        if (x.Length != (long)n * cols)
        {
            throw new ArgumentException($"Input holds {x.Length} floats; {n} rows of {cols} need {(long)n * cols}.", nameof(x));
        }
        if (y.Length != (long)n * rows)
        {
            throw new ArgumentException($"Output holds {y.Length} floats; {n} rows of {rows} need {(long)n * rows}.", nameof(y));
        }
        if (w == null && rows > 0 && cols > 0)
        {
            throw new ArgumentNullException(nameof(w));
        }
        Multiply(type, w, rows, cols, x, y, n, SimdCapabilities.Best, parallel: true);
    }

    internal static unsafe void Multiply(GgmlType type, byte* w, int rows, int cols, ReadOnlySpan<float> x, Span<float> y, int n, SimdTier tier, bool parallel)
    {
        Debug.Assert(x.Length == n * cols && y.Length == n * rows);
        if (rows == 0 || n == 0)
        {
            return;
        }
        long rowBytes = TensorTypes.RowBytes(type, cols);
        long actStride = ActivationRowBytes(type, cols);

        byte[] activation = ArrayPool<byte>.Shared.Rent((int)(actStride * n));
        try
        {
            fixed (float* px = x)
            fixed (byte* pa = activation)
            fixed (float* py = y)
            {
                ConvertActivation(type, px, pa, n * cols, tier);

                nint wAddr = (nint)w, aAddr = (nint)pa, yAddr = (nint)py;
                void RunRows(int r0, int r1)
                {
                    byte* wp = (byte*)wAddr;
                    byte* ap = (byte*)aAddr;
                    float* yp = (float*)yAddr;
                    for (int r = r0; r < r1; r++)
                    {
                        byte* wr = wp + r * rowBytes;
                        for (int i = 0; i < n; i++)
                        {
                            yp[(long)i * rows + r] = RowDot(type, wr, ap + i * actStride, cols, tier);
                        }
                    }
                }

                long work = (long)rows * cols * n;
                int threads = Environment.ProcessorCount;
                if (!parallel || threads == 1 || work < ParallelThreshold)
                {
                    RunRows(0, rows);
                }
                else
                {
                    // A few chunks per core so that a core slowed by other work does not hold up the call.
                    int chunkRows = Math.Max(1, (rows + threads * 4 - 1) / (threads * 4));
                    int chunks = (rows + chunkRows - 1) / chunkRows;
                    Parallel.For(0, chunks, c => RunRows(c * chunkRows, Math.Min(rows, (c + 1) * chunkRows)));
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(activation);
        }
    }

    /// <summary>Bytes of one activation row once converted to the vec_dot_type of <paramref name="type"/>.</summary>
    private static long ActivationRowBytes(GgmlType type, int cols) => type switch
    {
        GgmlType.Q8_0 or GgmlType.Q4_0 => TensorTypes.RowBytes(GgmlType.Q8_0, cols),
        GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K => (long)cols / Q8_K.BlockSize * Q8_K.BlockBytes,
        _ => (long)cols * sizeof(float), // F32, and F16/BF16 held as floats carrying half/bf16 values
    };

    private static unsafe void ConvertActivation(GgmlType type, float* x, byte* dst, int count, SimdTier tier)
    {
        var xs = new ReadOnlySpan<float>(x, count);
        var ds = new Span<float>(dst, count);
        switch (type)
        {
            case GgmlType.F32:
                xs.CopyTo(ds);
                break;
            case GgmlType.F16:
                xs.CopyTo(ds);
                Half[] scratch = ArrayPool<Half>.Shared.Rent(count);
                F16.RoundActivation(ds, scratch);
                ArrayPool<Half>.Shared.Return(scratch);
                break;
            case GgmlType.BF16:
                xs.CopyTo(ds);
                BF16.RoundActivation(ds);
                break;
            case GgmlType.Q8_0:
            case GgmlType.Q4_0:
                Q8_0.QuantizeActivation(x, dst, count, tier);
                break;
            case GgmlType.Q4_K:
            case GgmlType.Q5_K:
            case GgmlType.Q6_K:
                Q8_K.QuantizeActivation(x, dst, count, tier);
                break;
            default:
                throw TensorTypes.Unsupported(type);
        }
    }

    private static unsafe float RowDot(GgmlType type, byte* w, byte* a, int cols, SimdTier tier) => type switch
    {
        GgmlType.F32 => VectorOps.Dot((float*)w, (float*)a, cols, tier),
        GgmlType.F16 => F16.Dot((ushort*)w, (float*)a, cols, tier),
        GgmlType.BF16 => BF16.Dot((ushort*)w, (float*)a, cols, tier),
        GgmlType.Q8_0 => Q8_0.Dot(w, a, cols / Q8_0.BlockSize, tier),
        GgmlType.Q4_0 => Q4_0.Dot(w, a, cols / Q4_0.BlockSize, tier),
        GgmlType.Q4_K => Q4_K.Dot(w, a, cols / Q8_K.BlockSize, tier),
        GgmlType.Q5_K => Q5_K.Dot(w, a, cols / Q8_K.BlockSize, tier),
        GgmlType.Q6_K => Q6_K.Dot(w, a, cols / Q8_K.BlockSize, tier),
        _ => throw TensorTypes.Unsupported(type),
    };
}

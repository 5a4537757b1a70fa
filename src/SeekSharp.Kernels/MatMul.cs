using System.Diagnostics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;
using SeekSharp.Kernels.Threading;

namespace SeekSharp.Kernels;

/// <summary>
/// Matrix × vector(s) for weights in any supported <see cref="GgmlType"/>, with llama.cpp's CPU numerics.
/// </summary>
/// <remarks>
/// Weights are row-major: row r of a [rows, cols] matrix is <c>TensorTypes.RowBytes(type, cols)</c> bytes
/// at <c>w + r * rowBytes</c> (a GGUF tensor with Shape = {cols, rows}). As in ggml's mul_mat, the activation
/// is first converted once per call to the weight type's vec_dot_type and every row is dotted against it:
/// F32 → float dot; F16 → activation rounded to F16; BF16 → rounded to BF16; Q8_0, Q4_0 and Q5_0 → activation
/// quantized to Q8_0 (x86 CPU backend rounding) and an exact integer dot per 32-block scaled by d_w·d_x; Q4_1 and
/// Q5_1 → quantized to Q8_1, whose block sums carry the weights' offsets; the K-quants → Q8_K.
/// Rows are split across the threads of a <see cref="WorkerPool"/> (<see cref="WorkerPool.Shared"/> unless one is
/// given); the result does not depend on the split.
/// Batches of <see cref="GemmThreshold"/> tokens or more (prompt processing) take a float GEMM instead, except for
/// Q4_K, Q6_K, Q4_1 and Q5_1: the weights are decoded block by block as the GEMM packs them and multiplied with the converted
/// activation decoded back to float, so each output is the same sum of the same products, rounded in another order
/// (within float summation error of the dot).
/// </remarks>
public static class MatMul
{
    // Below this many multiply-adds a call runs on the calling thread: scheduling would cost more.
    private const long ParallelThreshold = 1L << 16;

    // Converting the activation costs about one pass over it, tiny next to the product; it only pays to share it
    // across threads (one more barrier, costly on a loaded machine) for very large batches.
    private const long ParallelConvertThreshold = 1L << 22;

    // From this many tokens a batch runs as a float GEMM on weights decoded as they are packed (see Gemm): decoding
    // each weight once per batch costs little next to the n multiply-adds it feeds, and the register-tiled float
    // kernel outruns the per-row integer and half dots. Smaller batches (decoding, small server batches) keep the
    // dots, whose results are bit for bit those of a single token. The integer dots of Q8_0, Q4_0 and Q5_K hold out
    // longer than the half and float ones: on 4096 × 4096 (2 threads) the GEMM was level with them at 48-64 tokens
    // and 1.0-1.3× faster at 96 (Q8_0 1.2-1.3×, Q4_0 1.0-1.1×), while F16's GEMM was already ahead at 48.
    internal const int GemmMinTokens = 48;
    internal const int GemmMinTokensQuantized = 96;

    /// <summary>The batch size from which <paramref name="type"/> runs as a GEMM.</summary>
    internal static int GemmThreshold(GgmlType type) => ActivationIsQuantized(type) ? GemmMinTokensQuantized : GemmMinTokens;

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
        Validate(type, w, rows, cols, x, y, n);
        Multiply(type, w, rows, cols, x, y, n, SimdCapabilities.Best, WorkerPool.Shared);
    }

    /// <inheritdoc cref="MatMulRows(GgmlType, byte*, int, int, ReadOnlySpan{float}, Span{float}, int)"/>
    /// <param name="pool">Threads that share the rows (for example a context's pool sized by its thread option).</param>
    public static unsafe void MatMulRows(GgmlType type, byte* w, int rows, int cols, ReadOnlySpan<float> x, Span<float> y, int n, WorkerPool pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        Validate(type, w, rows, cols, x, y, n);
        Multiply(type, w, rows, cols, x, y, n, SimdCapabilities.Best, pool);
    }

    /// <inheritdoc cref="MatMulRows(GgmlType, byte*, int, int, ReadOnlySpan{float}, Span{float}, int)"/>
    /// <remarks>Runs on the calling thread only: for many small products that the caller already spreads over threads
    /// (one per attention head or expert).</remarks>
    public static unsafe void MatMulRowsOnThisThread(GgmlType type, byte* w, int rows, int cols, ReadOnlySpan<float> x, Span<float> y, int n)
    {
        Validate(type, w, rows, cols, x, y, n);
        Multiply(type, w, rows, cols, x, y, n, SimdCapabilities.Best, pool: null);
    }

    internal static unsafe void Multiply(GgmlType type, byte* w, int rows, int cols, ReadOnlySpan<float> x, Span<float> y, int n, SimdTier tier, bool parallel) =>
        Multiply(type, w, rows, cols, x, y, n, tier, parallel ? WorkerPool.Shared : null);

    internal static unsafe void Multiply(GgmlType type, byte* w, int rows, int cols, ReadOnlySpan<float> x, Span<float> y, int n, SimdTier tier, WorkerPool? pool)
    {
        Debug.Assert(x.Length == n * cols && y.Length == n * rows);
        if (rows == 0 || n == 0)
        {
            return;
        }
        long actStride = ActivationRowBytes(type, cols);
        byte[] activation = ActivationScratch(actStride * n);
        long macs = (long)rows * cols * n;
        int threads = pool?.ThreadCount ?? 1;
        bool parallel = pool is not null && threads > 1 && macs >= ParallelThreshold;
        bool gemm = n >= GemmThreshold(type) && PrefersGemm(type);
        bool decode = gemm && ActivationIsQuantized(type);
        float[] decoded = decode ? DecodedScratch((long)n * cols) : [];
        fixed (float* px = x)
        fixed (byte* pa = activation)
        fixed (float* pd = decoded)
        fixed (float* py = y)
        {
            var convert = new ActivationRows
            {
                Type = type, X = px, A = pa, Cols = cols, ActStride = actStride, N = n, Tier = tier, Decoded = decode ? pd : null,
            };
            if (parallel && n * (long)cols >= ParallelConvertThreshold)
            {
                // Each token row converts on its own (blocks never straddle rows), so the split cannot change a bit.
                convert.ChunkRows = (n + threads - 1) / threads;
                pool!.For((n + convert.ChunkRows - 1) / convert.ChunkRows, ref convert);
            }
            else
            {
                convert.ChunkRows = n;
                convert.Run(0);
            }
            if (gemm)
            {
                // The weights go through the float GEMM, decoded block by block; the activation it multiplies holds the
                // values the integer or half dot would see (quantized, or rounded to half, then decoded).
                float* a = decode ? pd : (float*)pa;
                Gemm.MultiplyByWeights(a, type, w, py, n, cols, rows, GemmTiles.For(tier), parallel ? pool : null);
                return;
            }
            long rowBytes = TensorTypes.RowBytes(type, cols);
            int tokenMicro = TokenMicroBlock(type, tier, actStride, n);
            var work = new RowBlocks
            {
                Type = type, W = w, RowBytes = rowBytes, Rows = rows, Cols = cols,
                A = pa, ActStride = actStride, Y = py, N = n, Tier = tier,
                TokenTile = TokenTileFor(tokenMicro, actStride, n),
                RowTile = RowTileFor(type, tier, rowBytes),
                TokenMicro = tokenMicro,
            };
            if (!parallel)
            {
                work.ChunkRows = rows;
                work.Run(0);
            }
            else
            {
                // A few chunks per thread so that a core slowed by other work does not hold up the call; chunks are
                // whole row tiles so that every tile keeps its L1 shape.
                int chunk = Math.Max(1, (rows + threads * 4 - 1) / (threads * 4));
                work.ChunkRows = (chunk + work.RowTile - 1) / work.RowTile * work.RowTile;
                pool!.For((rows + work.ChunkRows - 1) / work.ChunkRows, ref work);
            }
        }
    }

    // Three levels of blocking for a batch (prompt processing), each sized so that its operands stay in one cache
    // level: a tile of activation rows stays in L2 while a chunk of weight rows is swept against it (each weight row
    // is read from memory once per tile); inside it, a few weight rows × a few activation rows together fit L1, so
    // each weight row and each activation row is reused from L1 across the micro-block instead of re-read from L2.
    // Every output is still, bit for bit, the type's single dot of (weight row, activation row), whichever kernel of
    // one, two or four tokens and one or two rows computes it: results do not depend on the tiling.
    private const long TokenTileBytes = 128 * 1024;
    private const long L1TileBytes = 24 * 1024;
    private const int MaxRowTile = 8;
    private const int MaxTokenMicro = 8;

    // The L2 token tile holds whole micro-blocks: wide F32/F16 rows (an FFN down projection's 8960 floats) would
    // otherwise fit fewer than four tokens and never reach the four-token kernel.
    private static int TokenTileFor(int micro, long actStride, int n)
    {
        int fit = (int)Math.Max(1, TokenTileBytes / actStride);
        return Math.Min(n, Math.Max(micro, fit / micro * micro));
    }

    // Types with a two-row kernel take row tiles of whole pairs, as with tokens below: a leftover row would take the
    // one-row kernel.
    private static int RowTileFor(GgmlType type, SimdTier tier, long rowBytes)
    {
        int fit = (int)Math.Clamp(L1TileBytes / 2 / Math.Max(1, rowBytes), 1, MaxRowTile);
        return HasDot2x4(type, tier) ? Math.Max(2, fit / 2 * 2) : fit;
    }

    // Types with a four-token kernel take micro-blocks of whole groups of four, even if that overfills L1 a little:
    // a leftover token would take the slower single-token dot. Types with an eight-token kernel take eight: their
    // activation rows then come from L2, but each weight row is read once for the eight.
    private static int TokenMicroBlock(GgmlType type, SimdTier tier, long actStride, int n)
    {
        if (n < MaxDot8Batch && HasDot8(type, tier))
        {
            return MaxTokenMicro;
        }
        int fit = (int)Math.Clamp(L1TileBytes / 2 / actStride, 1, MaxTokenMicro);
        return HasDot4(type) ? Math.Max(4, fit / 4 * 4) : fit;
    }

    /// <summary>Converts token rows to the vec_dot_type, a chunk of rows per work item.</summary>
    private unsafe struct ActivationRows : IParallelWork
    {
        public GgmlType Type;
        public float* X;         // [N, Cols]
        public byte* A;          // [N, ActStride]
        public int Cols, N, ChunkRows;
        public long ActStride;
        public SimdTier Tier;
        public float* Decoded;   // [N, Cols] the quantized activation decoded back to float, for the GEMM path; or null

        public void Run(int chunk)
        {
            int i0 = chunk * ChunkRows, i1 = Math.Min(N, i0 + ChunkRows);
            // Every vec_dot_type layout packs whole blocks with no row padding, so a run of rows converts as one span.
            ConvertActivation(Type, X + (long)i0 * Cols, A + i0 * ActStride, (i1 - i0) * Cols, Tier);
            if (Decoded != null)
            {
                DecodeActivation(Type, A + i0 * ActStride, Decoded + (long)i0 * Cols, (i1 - i0) * Cols, Tier);
            }
        }
    }

    /// <summary>One chunk of weight rows against all n activation rows, tiled over tokens and rows.</summary>
    private unsafe struct RowBlocks : IParallelWork
    {
        public GgmlType Type;
        public byte* W;          // [Rows, RowBytes]
        public long RowBytes;
        public int Rows, Cols;
        public byte* A;          // [N, ActStride] activation in the vec_dot_type
        public long ActStride;
        public float* Y;         // [N, Rows]
        public int N, ChunkRows, TokenTile, RowTile, TokenMicro;
        public SimdTier Tier;

        public void Run(int chunk)
        {
            int r0 = chunk * ChunkRows, r1 = Math.Min(Rows, r0 + ChunkRows);
            if (N == 1)
            {
                for (int r = r0; r < r1; r++)
                {
                    Y[r] = RowDot(Type, W + r * RowBytes, A, Cols, Tier);
                }
                return;
            }
            for (int i0 = 0; i0 < N; i0 += TokenTile)
            {
                int i1 = Math.Min(N, i0 + TokenTile);
                for (int rb = r0; rb < r1; rb += RowTile)
                {
                    int rb1 = Math.Min(r1, rb + RowTile);
                    for (int ib = i0; ib < i1; ib += TokenMicro)
                    {
                        MicroBlock(rb, rb1, ib, Math.Min(i1, ib + TokenMicro));
                    }
                }
            }
        }

        // Rows [rb, rb1) × tokens [ib, ib1): groups of eight tokens one row at a time where the type has
        // an eight-token kernel, then groups of four, two rows at a time where it has that kernel, then single dots.
        private readonly void MicroBlock(int rb, int rb1, int ib, int ib1)
        {
            if (N < MaxDot8Batch && HasDot8(Type, Tier))
            {
                int i8 = ib + (ib1 - ib) / 8 * 8;
                for (int i = ib; i < i8; i += 8)
                {
                    EightTokens(rb, rb1, i);
                }
                ib = i8;
            }
            int row = rb;
            if (HasDot2x4(Type, Tier))
            {
                for (; row + 2 <= rb1; row += 2)
                {
                    int i = ib;
                    for (; i + 4 <= ib1; i += 4)
                    {
                        RowDot2x4(Type, W + row * RowBytes, RowBytes, A + i * ActStride, ActStride, Cols, Y + (long)i * Rows + row, Rows, Tier);
                    }
                    SingleTokens(row, i, ib1);
                    SingleTokens(row + 1, i, ib1);
                }
            }
            for (; row < rb1; row++)
            {
                byte* wr = W + row * RowBytes;
                int i = ib;
                if (HasDot4(Type))
                {
                    for (; i + 4 <= ib1; i += 4)
                    {
                        RowDot4(Type, wr, A + i * ActStride, ActStride, Cols, Y + (long)i * Rows + row, Rows, Tier);
                    }
                }
                SingleTokens(row, i, ib1);
            }
        }

        // Rows [rb, rb1) against tokens [i, i + 8), a row at a time.
        private readonly void EightTokens(int rb, int rb1, int i)
        {
            for (int r = rb; r < rb1; r++)
            {
                RowDot8(Type, W + r * RowBytes, A + i * ActStride, ActStride, Cols, Y + (long)i * Rows + r, Rows, Tier);
            }
        }

        private readonly void SingleTokens(int r, int i0, int i1)
        {
            for (int i = i0; i < i1; i++)
            {
                Y[(long)i * Rows + r] = RowDot(Type, W + r * RowBytes, A + i * ActStride, Cols, Tier);
            }
        }
    }

    [ThreadStatic] private static byte[]? t_activation;
    [ThreadStatic] private static float[]? t_decoded;

    private static float[] DecodedScratch(long floats)
    {
        float[]? buffer = t_decoded;
        if (buffer is null || buffer.Length < floats)
        {
            buffer = t_decoded = GC.AllocateUninitializedArray<float>(checked((int)floats));
        }
        return buffer;
    }

    /// <summary>A per-thread buffer for the converted activation, grown on demand and then reused: no allocation per call.</summary>
    private static byte[] ActivationScratch(long bytes)
    {
        byte[]? buffer = t_activation;
        if (buffer is null || buffer.Length < bytes)
        {
            buffer = t_activation = new byte[Math.Max(bytes, 64 * 1024)];
        }
        return buffer;
    }

    private static unsafe void Validate(GgmlType type, byte* w, int rows, int cols, ReadOnlySpan<float> x, Span<float> y, int n)
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
    }

    /// <summary>Bytes of one activation row once converted to the vec_dot_type of <paramref name="type"/>.</summary>
    private static long ActivationRowBytes(GgmlType type, int cols) => type switch
    {
        GgmlType.Q8_0 or GgmlType.Q4_0 or GgmlType.Q5_0 => TensorTypes.RowBytes(GgmlType.Q8_0, cols),
        GgmlType.Q4_1 or GgmlType.Q5_1 => (long)cols / Q8_1.BlockSize * Q8_1.BlockBytes,
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
                F16.RoundActivation(ds);
                break;
            case GgmlType.BF16:
                xs.CopyTo(ds);
                BF16.RoundActivation(ds);
                break;
            case GgmlType.Q8_0:
            case GgmlType.Q4_0:
            case GgmlType.Q5_0:
                Q8_0.QuantizeActivation(x, dst, count, tier);
                break;
            case GgmlType.Q4_1:
            case GgmlType.Q5_1:
                Q8_1.QuantizeActivation(x, dst, count, tier);
                break;
            case GgmlType.Q4_K:
                Q8_K.QuantizeActivation(x, dst, count, tier);
                Q4_K.PrepareActivation(dst, count / Q8_K.BlockSize, tier);
                break;
            case GgmlType.Q5_K:
            case GgmlType.Q6_K:
                Q8_K.QuantizeActivation(x, dst, count, tier);
                break;
            default:
                throw TensorTypes.Unsupported(type);
        }
    }

    private static bool ActivationIsQuantized(GgmlType type) =>
        type is GgmlType.Q8_0 or GgmlType.Q4_0 or GgmlType.Q5_0 or GgmlType.Q4_1 or GgmlType.Q5_1 or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K;

    /// <summary>The vec_dot_type blocks back to float: <c>d · q</c> per value, each one rounding, as dequantize_row does.</summary>
    private static unsafe void DecodeActivation(GgmlType type, byte* src, float* dst, int count, SimdTier tier)
    {
        Debug.Assert(PrefersGemm(type));   // Q8_1 activations (Q4_1, Q5_1) never go through the GEMM
        if (type is GgmlType.Q8_0 or GgmlType.Q4_0 or GgmlType.Q5_0)
        {
            Q8_0.Decode(src, dst, count / Q8_0.BlockSize, tier);
        }
        else
        {
            Q8_K.Dequantize(new ReadOnlySpan<byte>(src, count / Q8_K.BlockSize * Q8_K.BlockBytes), new Span<float>(dst, count));
        }
    }

    // Q4_K and Q6_K keep their integer dots at every batch size: those run as fast as the float GEMM on decoded
    // weights (their decoding costs more), and they give llama.cpp's bits. So do Q4_1 and Q5_1: their dot takes the
    // offsets' share from Q8_1's block sum s, rounded to half, which a GEMM on decoded values would not see (it would
    // differ by that rounding, not by float summation error); they are the rare fallback types of a few tensors.
    private static bool PrefersGemm(GgmlType type) => type is not (GgmlType.Q4_K or GgmlType.Q6_K or GgmlType.Q4_1 or GgmlType.Q5_1);

    // Two weight rows at a time share the per-token work that does not depend on the weights (float steps, Q6_K's
    // offset products); Q4_K's dot spent as much on its float steps as on the integer products. Only 512-bit vectors
    // hold two rows' lanes; elsewhere the two-row kernels are two four-token calls, so the tiling stays as it was.
    private static bool HasDot2x4(GgmlType type, SimdTier tier) =>
        type is (GgmlType.Q4_K or GgmlType.Q6_K) && tier == SimdTier.Vector512 && Avx512BW.IsSupported;

    /// <summary>Two weight rows (<c>w</c>, <c>w + wStride</c>) against four activation rows; row r's output for token t at <c>y[t·yStride + r]</c>.</summary>
    private static unsafe void RowDot2x4(GgmlType type, byte* w, long wStride, byte* a, long actStride, int cols, float* y, long yStride, SimdTier tier)
    {
        switch (type)
        {
            case GgmlType.Q4_K: Q4_K.Dot2x4(w, wStride, a, actStride, cols / Q8_K.BlockSize, y, yStride, tier); break;
            case GgmlType.Q6_K: Q6_K.Dot2x4(w, wStride, a, actStride, cols / Q8_K.BlockSize, y, yStride, tier); break;
            default: throw TensorTypes.Unsupported(type);
        }
    }

    // Eight tokens a row: a batch of eight to fifteen sequences (a busy server's decode step) unpacks each weight
    // block once and reads each weight row from memory once, in one pass, rather than two passes of four; with 512-bit
    // vectors only, where 32 registers hold the eight tokens' accumulators. On the FFN and output matrices of
    // R1-Distill-Qwen-1.5B's shape (Q4_K_M, 2 threads, AVX-512) eight tokens took 1.4-2× less time than with the
    // two-row kernel. Larger batches keep the two-row kernel: their weight rows stay in L1 across micro-blocks anyway,
    // and there it shares its float steps between two rows (prompt processing of 128 tokens was 5 % slower with this
    // one). The eight-token dots prefetch their weights as the one-token dots do (StreamPrefetch): the forward pass of
    // eight decode tokens on that shape, with and without, alternated in one process, took 72.4/72.8 ms instead of
    // 82.6/83.8 ms in its FFN (medians of 15 steps). Taking a wide row (an FFN down projection: eight tokens'
    // activations are 80 KiB) in segments so that the activations stay in L1 made that FFN slower (92-132 ms against
    // 84): the weight rows then stream as several short runs at once. The four-token dots prefetch too (the two-row
    // one both rows): at four decode tokens the step took 66 ms instead of 92-107 (AVX-512; FFN 47 against 61-69 ms),
    // and with AVX-512 off 75.5 instead of 78-81 ms, alternated in one process the same way.
    private const int MaxDot8Batch = 16;

    private static bool HasDot8(GgmlType type, SimdTier tier) =>
        type is (GgmlType.Q4_K or GgmlType.Q6_K) && tier == SimdTier.Vector512 && Avx512BW.IsSupported;

    /// <summary>One weight row against eight activation rows; token t's output at <c>y[t·yStride]</c>, each <see cref="RowDot"/>'s bits.</summary>
    private static unsafe void RowDot8(GgmlType type, byte* w, byte* a, long actStride, int cols, float* y, long yStride, SimdTier tier)
    {
        switch (type)
        {
            case GgmlType.Q4_K: Q4_K.Dot8(w, a, actStride, cols / Q8_K.BlockSize, y, yStride, tier); break;
            case GgmlType.Q6_K: Q6_K.Dot8(w, a, actStride, cols / Q8_K.BlockSize, y, yStride, tier); break;
            default: throw TensorTypes.Unsupported(type);
        }
    }

    private static bool HasDot4(GgmlType type) =>
        type is GgmlType.F16 or GgmlType.Q8_0 or GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_0 or GgmlType.Q5_1 or GgmlType.Q4_K or GgmlType.Q6_K;

    /// <summary>
    /// One weight row against four activation rows (<c>a + t·actStride</c>), written to <c>y[t·yStride]</c>; each output
    /// is bit for bit what <see cref="RowDot"/> gives for its pair, so the batch split never changes a result.
    /// </summary>
    private static unsafe void RowDot4(GgmlType type, byte* w, byte* a, long actStride, int cols, float* y, long yStride, SimdTier tier)
    {
        switch (type)
        {
            case GgmlType.F16: F16.Dot4((ushort*)w, (float*)a, actStride / sizeof(float), cols, y, yStride, tier); break;
            case GgmlType.Q8_0: Q8_0.Dot4(w, a, actStride, cols / Q8_0.BlockSize, y, yStride, tier); break;
            case GgmlType.Q4_0: Q4_0.Dot4(w, a, actStride, cols / Q4_0.BlockSize, y, yStride, tier); break;
            case GgmlType.Q4_1: Q4_1.Dot4(w, a, actStride, cols / Q4_1.BlockSize, y, yStride, tier); break;
            case GgmlType.Q5_0: Q5_0.Dot4(w, a, actStride, cols / Q5_0.BlockSize, y, yStride, tier); break;
            case GgmlType.Q5_1: Q5_1.Dot4(w, a, actStride, cols / Q5_1.BlockSize, y, yStride, tier); break;
            case GgmlType.Q4_K: Q4_K.Dot4(w, a, actStride, cols / Q8_K.BlockSize, y, yStride, tier); break;
            case GgmlType.Q6_K: Q6_K.Dot4(w, a, actStride, cols / Q8_K.BlockSize, y, yStride, tier); break;
            default: throw TensorTypes.Unsupported(type);
        }
    }

    private static unsafe float RowDot(GgmlType type, byte* w, byte* a, int cols, SimdTier tier) => type switch
    {
        GgmlType.F32 => VectorOps.Dot((float*)w, (float*)a, cols, tier),
        GgmlType.F16 => F16.Dot((ushort*)w, (float*)a, cols, tier),
        GgmlType.BF16 => BF16.Dot((ushort*)w, (float*)a, cols, tier),
        GgmlType.Q8_0 => Q8_0.Dot(w, a, cols / Q8_0.BlockSize, tier),
        GgmlType.Q4_0 => Q4_0.Dot(w, a, cols / Q4_0.BlockSize, tier),
        GgmlType.Q4_1 => Q4_1.Dot(w, a, cols / Q4_1.BlockSize, tier),
        GgmlType.Q5_0 => Q5_0.Dot(w, a, cols / Q5_0.BlockSize, tier),
        GgmlType.Q5_1 => Q5_1.Dot(w, a, cols / Q5_1.BlockSize, tier),
        GgmlType.Q4_K => Q4_K.Dot(w, a, cols / Q8_K.BlockSize, tier),
        GgmlType.Q5_K => Q5_K.Dot(w, a, cols / Q8_K.BlockSize, tier),
        GgmlType.Q6_K => Q6_K.Dot(w, a, cols / Q8_K.BlockSize, tier),
        _ => throw TensorTypes.Unsupported(type),
    };
}

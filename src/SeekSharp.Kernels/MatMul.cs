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
    internal static int GemmThreshold(GgmlType type) => TypeTraits.For(type).ActivationIsQuantized ? GemmMinTokensQuantized : GemmMinTokens;

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

    /// <summary>
    /// Whether a matrix of <paramref name="type"/> with rows of <paramref name="cols"/> can be stored part-major
    /// (<see cref="StorePartMajor"/>) on this machine: rows longer than <see cref="EightTokenPartBlocks"/> super-blocks of a
    /// type whose dots run over parts of a row, with 512-bit vectors.
    /// </summary>
    public static unsafe bool CanStorePartMajor(GgmlType type, int cols)
    {
        var traits = TypeTraits.For(type);
        return Uses512(SimdCapabilities.Best) && traits.DotPart != null && traits.Dot8 != null && traits.DotsForBatches
            && cols % traits.BlockSize == 0 && cols / traits.BlockSize > EightTokenPartBlocks;
    }

    /// <summary>
    /// Copies a row-major matrix [rows, cols] of <paramref name="type"/> from <paramref name="src"/> to <paramref name="dst"/>
    /// (the same size) part-major: rows go by groups of <see cref="PartGroupRows"/>, and a group holds its rows' first parts
    /// (<see cref="EightTokenPartBlocks"/> super-blocks or so, as the eight-token dots take them), then their second parts,
    /// and so on. The products then read each group's weights front to back, where row-major rows are read as one short
    /// run per row and part. Only for matrices that <see cref="CanStorePartMajor"/>; multiply with <see cref="MatMulRowsPartMajor"/>.
    /// </summary>
    public static unsafe void StorePartMajor(GgmlType type, byte* src, byte* dst, int rows, int cols)
    {
        if (!CanStorePartMajor(type, cols))
            throw new ArgumentException($"a {type} matrix of {cols} columns cannot be stored part-major on this machine");
        var layout = new PartMajor(TypeTraits.For(type), cols);
        for (int r = 0; r < rows; r++)
        {
            for (int p = 0; p < layout.Parts; p++)
            {
                long bytes = layout.PartBytes(p);
                Buffer.MemoryCopy(src + r * layout.RowBytes + layout.PartStart(p), dst + layout.Offset(rows, r, p), bytes, bytes);
            }
        }
    }

    /// <summary>Row <paramref name="row"/> of a part-major matrix (<see cref="StorePartMajor"/>) in its row-major bytes.</summary>
    public static unsafe void ReadPartMajorRow(GgmlType type, byte* w, int rows, int cols, int row, Span<byte> dst)
    {
        var layout = new PartMajor(TypeTraits.For(type), cols);
        if ((uint)row >= (uint)rows || dst.Length < layout.RowBytes)
            throw new ArgumentException($"row {row} of {rows}, or a destination of {dst.Length} bytes for {layout.RowBytes}");
        fixed (byte* d = dst)
        {
            for (int p = 0; p < layout.Parts; p++)
            {
                long bytes = layout.PartBytes(p);
                Buffer.MemoryCopy(w + layout.Offset(rows, row, p), d + layout.PartStart(p), bytes, bytes);
            }
        }
    }

    /// <summary>
    /// <see cref="MatMulRows(GgmlType, byte*, int, int, ReadOnlySpan{float}, Span{float}, int, WorkerPool)"/> for a matrix
    /// stored part-major (<see cref="StorePartMajor"/>): the same outputs, bit for bit.
    /// </summary>
    public static unsafe void MatMulRowsPartMajor(GgmlType type, byte* w, int rows, int cols, ReadOnlySpan<float> x, Span<float> y, int n, WorkerPool pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        Validate(type, w, rows, cols, x, y, n);
        if (!CanStorePartMajor(type, cols))
            throw new ArgumentException($"a {type} matrix of {cols} columns is never stored part-major on this machine");
        Multiply(type, w, rows, cols, x, y, n, SimdCapabilities.Best, pool, partMajor: true);
    }

    /// <summary>Rows per group of a part-major matrix: the eight-token dots' group (<see cref="RowBlocks"/>).</summary>
    public const int PartGroupRows = 32;

    /// <summary>Floats of running sums per row and token of <see cref="TypeTraits.DotPart"/>.</summary>
    internal const int PartStateFloats = 12;

    /// <summary>Where the parts of a long row go: <see cref="Parts"/> parts of <see cref="PartBlocks"/> blocks (the last
    /// one shorter when the blocks do not divide evenly), in groups of <see cref="PartGroupRows"/> rows.</summary>
    private readonly struct PartMajor
    {
        public readonly int Blocks, Parts, PartBlocks;
        public readonly long BlockBytes, RowBytes;

        public PartMajor(TypeTraits traits, int cols)
        {
            Blocks = cols / traits.BlockSize;
            (Parts, PartBlocks) = PartsOf(Blocks);
            BlockBytes = traits.BlockBytes;
            RowBytes = Blocks * BlockBytes;
        }

        public int PartBlocksOf(int p) => Math.Min(PartBlocks, Blocks - p * PartBlocks);
        public long PartBytes(int p) => PartBlocksOf(p) * BlockBytes;
        public long PartStart(int p) => (long)p * PartBlocks * BlockBytes;

        // A group's rows are contiguous as in row-major order; inside it, part p of all its rows follows part p − 1 of all.
        public long Offset(int rows, int r, int p)
        {
            int g = r - r % PartGroupRows, groupRows = Math.Min(PartGroupRows, rows - g);
            return g * RowBytes + groupRows * PartStart(p) + (r - g) * PartBytes(p);
        }
    }

    // Even parts of at most EightTokenPartBlocks blocks: 35 blocks go 7 + 7 + 7 + 7 + 7, not 8 + 8 + 8 + 8 + 3.
    private static (int Parts, int PartBlocks) PartsOf(int blocks)
    {
        int parts = (blocks + EightTokenPartBlocks - 1) / EightTokenPartBlocks;
        return (parts, (blocks + parts - 1) / parts);
    }

    internal static unsafe void Multiply(GgmlType type, byte* w, int rows, int cols, ReadOnlySpan<float> x, Span<float> y, int n, SimdTier tier, bool parallel) =>
        Multiply(type, w, rows, cols, x, y, n, tier, parallel ? WorkerPool.Shared : null);

    internal static unsafe void Multiply(GgmlType type, byte* w, int rows, int cols, ReadOnlySpan<float> x, Span<float> y, int n, SimdTier tier, WorkerPool? pool,
        bool partMajor = false)
    {
        Debug.Assert(x.Length == n * cols && y.Length == n * rows);
        if (rows == 0 || n == 0)
        {
            return;
        }
        var traits = TypeTraits.For(type);
        long actStride = ActivationRowBytes(traits, cols);
        long macs = (long)rows * cols * n;
        int threads = pool?.ThreadCount ?? 1;
        bool parallel = pool is not null && threads > 1 && macs >= ParallelThreshold;
        bool gemm = n >= GemmThreshold(type) && !traits.DotsForBatches;
        // Groups of eight tokens for the eight-token dot, each with its table after the activation rows.
        int eights = !gemm && UsesDot8(traits, tier) ? n / 8 : 0;   // 0 below eight tokens
        byte[] activation = ActivationScratch(ConvertedBytes(traits, cols, n, eights) + ActivationAlignment);
        bool decode = gemm && traits.ActivationIsQuantized;
        float[] decoded = decode ? DecodedScratch((long)n * cols) : [];
        fixed (float* px = x)
        fixed (byte* paRaw = activation)
        fixed (float* pd = decoded)
        fixed (float* py = y)
        {
            byte* pa = Align(paRaw);
            Convert(traits, px, pa, cols, actStride, n, tier, parallel ? pool : null, decode ? pd : null);
            if (gemm)
            {
                // The weights go through the float GEMM, decoded block by block; the activation it multiplies holds the
                // values the integer or half dot would see (quantized, or rounded to half, then decoded).
                float* a = decode ? pd : (float*)pa;
                Gemm.MultiplyByWeights(a, type, w, py, n, cols, rows, GemmTiles.For(tier), parallel ? pool : null);
                return;
            }
            BuildTables(pa, actStride, cols, n, eights);
            var work = Rows(traits, w, rows, cols, pa, actStride, eights, py, n, tier, threads);
            if (partMajor)
            {
                Debug.Assert(Uses512(tier) && traits.DotPart != null);
                work.DotPart = traits.DotPart;
                work.ChunkRows = (work.ChunkRows + PartGroupRows - 1) / PartGroupRows * PartGroupRows;   // chunks of whole groups
            }
            if (!parallel)
            {
                work.ChunkRows = rows;
                work.Run(0);
            }
            else
            {
                pool!.For(work.Chunks, ref work);
            }
        }
    }

    /// <summary>One weight matrix of <see cref="MatMulRowsShared"/>: <c>y[n, Rows] = x · Wᵀ</c>, y pinned.</summary>
    public readonly unsafe struct Product(GgmlType type, byte* w, int rows, float* y)
    {
        public readonly GgmlType Type = type;
        public readonly byte* W = w;
        public readonly int Rows = rows;
        public readonly float* Y = y;
    }

    /// <summary>
    /// Two or three products of one input (an attention block's query, key and value projections; an FFN's gate and
    /// up): each output is what <see cref="MatMulRows(GgmlType, byte*, int, int, ReadOnlySpan{float}, Span{float}, int, WorkerPool)"/>
    /// gives, bit for bit, but the input is converted once per activation layout the weight types share, and the
    /// rows of all the matrices go to the pool as one loop. At eight decoding tokens each product had converted the
    /// same input again on one thread and ended in its own barrier, where a two-thread pool waited for its slower half;
    /// a small key or value projection (256 rows) took 28 µs for 13 µs of dot products.
    /// Batches that take the float GEMM run the products one after another.
    /// </summary>
    public static unsafe void MatMulRowsShared(ReadOnlySpan<float> x, int n, int cols, WorkerPool pool, in Product a, in Product b, in Product c = default)
    {
        ArgumentNullException.ThrowIfNull(pool);
        int count = c.W == null ? 2 : 3;
        Span<Product> products = [a, b, c];
        products = products[..count];
        foreach (var p in products)
        {
            Validate(p.Type, p.W, p.Rows, cols, x, new Span<float>(p.Y, n * p.Rows), n);
        }
        var tier = SimdCapabilities.Best;
        int threads = pool.ThreadCount;
        bool shared = threads > 1 && n > 0;
        long macs = 0;
        foreach (var p in products)
        {
            var t = TypeTraits.For(p.Type);
            shared &= !(n >= GemmThreshold(p.Type) && !t.DotsForBatches) && p.Rows > 0;
            macs += (long)p.Rows * cols * n;
        }
        if (!shared || macs < ParallelThreshold)
        {
            foreach (var p in products)
            {
                Multiply(p.Type, p.W, p.Rows, cols, x, new Span<float>(p.Y, n * p.Rows), n, tier, pool);
            }
            return;
        }
        // One converted activation per layout (vec_dot type and rearrangement), in one scratch buffer, each region
        // aligned as Multiply aligns its own.
        Span<int> layoutOf = stackalloc int[3];
        Span<long> offsets = stackalloc long[3];
        int layouts = 0;
        long total = 0;
        for (int k = 0; k < count; k++)
        {
            var t = TypeTraits.For(products[k].Type);
            int found = -1;
            for (int j = 0; j < k && found < 0; j++)
            {
                var u = TypeTraits.For(products[j].Type);
                // The same layout: the same type, or the same vec_dot type with no rearrangement by either.
                bool same = u.Type == t.Type || (u.DotType == t.DotType && u.PrepareActivation == null && t.PrepareActivation == null);
                if (same && UsesDot8(u, tier) == UsesDot8(t, tier)) found = layoutOf[j];
            }
            if (found < 0)
            {
                found = layouts++;
                offsets[found] = total;
                int eights = UsesDot8(t, tier) ? n / 8 : 0;
                total += ConvertedBytes(t, cols, n, eights) + ActivationAlignment;
            }
            layoutOf[k] = found;
        }
        byte[] activation = ActivationScratch(total + ActivationAlignment);
        fixed (float* px = x)
        fixed (byte* raw = activation)
        {
            var work = new SharedRows();
            for (int k = 0; k < count; k++)
            {
                var t = TypeTraits.For(products[k].Type);
                long actStride = ActivationRowBytes(t, cols);
                int eights = UsesDot8(t, tier) ? n / 8 : 0;
                byte* pa = Align(raw + offsets[layoutOf[k]]);
                if (!layoutOf[..k].Contains(layoutOf[k]))   // the first product of its layout converts it
                {
                    Convert(t, px, pa, cols, actStride, n, tier, pool, null);
                    BuildTables(pa, actStride, cols, n, eights);
                }
                work.Set(k, Rows(t, products[k].W, products[k].Rows, cols, pa, actStride, eights, products[k].Y, n, tier, threads));
            }
            pool.For(work.Chunks, ref work);
        }
    }

    /// <summary>The row loops of up to three products as one: item i is a chunk of the first, then of the second, then the third.</summary>
    private struct SharedRows : IParallelWork
    {
        private RowBlocks _a, _b, _c;
        private int _chunksA, _chunksB, _chunksC;

        public readonly int Chunks => _chunksA + _chunksB + _chunksC;

        public void Set(int k, RowBlocks rows)
        {
            if (k == 0) { _a = rows; _chunksA = rows.Chunks; }
            else if (k == 1) { _b = rows; _chunksB = rows.Chunks; }
            else { _c = rows; _chunksC = rows.Chunks; }
        }

        public void Run(int i)
        {
            if (i < _chunksA) _a.Run(i);
            else if (i < _chunksA + _chunksB) _b.Run(i - _chunksA);
            else _c.Run(i - _chunksA - _chunksB);
        }
    }

    private static unsafe byte* Align(byte* p) => (byte*)(((nint)p + ActivationAlignment - 1) & ~(nint)(ActivationAlignment - 1));

    // Converts the n input rows to the type's vec_dot layout (and, for the GEMM, back to float in decoded).
    private static unsafe void Convert(TypeTraits traits, float* x, byte* a, int cols, long actStride, int n, SimdTier tier, WorkerPool? pool, float* decoded)
    {
        var convert = new ActivationRows
        {
            DotType = traits.DotType, Prepare = traits.PrepareActivation, X = x, A = a, Cols = cols, ActStride = actStride, N = n, Tier = tier, Decoded = decoded,
        };
        int threads = pool?.ThreadCount ?? 1;
        if (threads > 1 && n * (long)cols >= ParallelConvertThreshold)
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
    }

    // Bytes of one group's eight-token table for rows of cols columns.
    private static long TableBytes(int cols) => (long)(cols / Q8_K.BlockSize) * Q8_K.EightTokenTableBytes;

    // Bytes of n input rows converted to the type's layout, with the tables of their eights groups after them.
    private static long ConvertedBytes(TypeTraits traits, int cols, int n, int eights) => ActivationRowBytes(traits, cols) * n + eights * TableBytes(cols);

    // The eight-token tables of each group of eight rows, after the n activation rows.
    private static unsafe void BuildTables(byte* a, long actStride, int cols, int n, int eights)
    {
        long tableBytes = TableBytes(cols);
        byte* tables = a + actStride * n;
        for (int g = 0; g < eights; g++)
        {
            Q8_K.BuildEightTokenTable(a + 8 * g * actStride, actStride, cols / Q8_K.BlockSize, tables + g * tableBytes);
        }
    }

    // The row loop of one product over a converted activation (tables after its n rows), cut into chunks for the pool.
    private static unsafe RowBlocks Rows(TypeTraits traits, byte* w, int rows, int cols, byte* a, long actStride, int eights, float* y, int n,
        SimdTier tier, int threads)
    {
        long rowBytes = TensorTypes.RowBytes(traits.Type, cols);
        int tokenMicro = TokenMicroBlock(traits, tier, actStride, n);
        bool wide = Uses512(tier);
        var work = new RowBlocks
        {
            Blocks = cols / traits.BlockSize, Dot = traits.Dot, Dot4 = traits.Dot4,
            Dot2x4 = wide ? traits.Dot2x4 : null, Dot8 = eights > 0 ? traits.Dot8 : null,
            Tables = a + actStride * n, TableBytes = TableBytes(cols),
            W = w, RowBytes = rowBytes, Rows = rows,
            A = a, ActStride = actStride, Y = y, N = n, Tier = tier,
            TokenTile = TokenTileFor(tokenMicro, actStride, n),
            RowTile = RowTileFor(traits, tier, rowBytes),
            TokenMicro = tokenMicro,
        };
        // A few chunks per thread so that a core slowed by other work does not hold up the call; chunks are whole row
        // tiles so that every tile keeps its L1 shape. Eight per thread rather than four: at eight decoding tokens on
        // two threads (1.5B shape, AVX-512) an FFN gate took 483 µs against 523 and an attention projection 104
        // against 110 (medians of 380 calls alternated in one process), the down projection the same; sixteen and
        // more were slower again.
        int chunk = Math.Max(1, (rows + threads * 8 - 1) / (threads * 8));
        work.ChunkRows = (chunk + work.RowTile - 1) / work.RowTile * work.RowTile;
        return work;
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
    private static unsafe int RowTileFor(TypeTraits traits, SimdTier tier, long rowBytes)
    {
        int fit = (int)Math.Clamp(L1TileBytes / 2 / Math.Max(1, rowBytes), 1, MaxRowTile);
        return Uses512(tier) && traits.Dot2x4 != null ? Math.Max(2, fit / 2 * 2) : fit;
    }

    // Types with a four-token kernel take micro-blocks of whole groups of four, even if that overfills L1 a little:
    // a leftover token would take the slower single-token dot. Types with an eight-token kernel take eight: their
    // activation rows then come from L2, but each weight row is read once for the eight.
    private static unsafe int TokenMicroBlock(TypeTraits traits, SimdTier tier, long actStride, int n)
    {
        if (UsesDot8(traits, tier))
        {
            return MaxTokenMicro;
        }
        int fit = (int)Math.Clamp(L1TileBytes / 2 / actStride, 1, MaxTokenMicro);
        return traits.Dot4 != null ? Math.Max(4, fit / 4 * 4) : fit;
    }

    private static unsafe bool UsesDot8(TypeTraits traits, SimdTier tier) => Uses512(tier) && traits.Dot8 != null;

    /// <summary>Converts token rows to the vec_dot_type, a chunk of rows per work item.</summary>
    private unsafe struct ActivationRows : IParallelWork
    {
        public GgmlType DotType;
        public delegate*<byte*, int, SimdTier, void> Prepare;   // the weight type's own rearrangement, or null
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
            int count = (i1 - i0) * Cols;
            ConvertActivation(DotType, X + (long)i0 * Cols, A + i0 * ActStride, count, Tier);
            if (Decoded != null)
            {
                // The GEMM multiplies the activation in its own order: the dots' rearrangement (Prepare) would permute it.
                DecodeActivation(DotType, A + i0 * ActStride, Decoded + (long)i0 * Cols, count, Tier);
            }
            else if (Prepare != null)
            {
                Prepare(A + i0 * ActStride, count / Q8_K.BlockSize, Tier);
            }
        }
    }

    /// <summary>One chunk of weight rows against all n activation rows, tiled over tokens and rows.</summary>
    private unsafe struct RowBlocks : IParallelWork
    {
        // The type's dots (TypeTraits), the two-row and eight-token ones null where this call does not use them.
        public delegate*<byte*, byte*, int, SimdTier, float> Dot;
        public delegate*<byte*, byte*, long, int, float*, long, SimdTier, void> Dot4;
        public delegate*<byte*, long, byte*, long, int, float*, long, SimdTier, void> Dot2x4;
        public delegate*<byte*, byte*, long, byte*, int, float*, EightTokenPart, float*, long, SimdTier, void> Dot8;
        public delegate*<byte*, byte*, long, int, int, float*, EightTokenPart, float*, long, void> DotPart;   // set: W is stored part-major
        public byte* Tables;     // [N / 8, TableBytes] the eight-token tables (Q8_K.BuildEightTokenTable), when Dot8 runs
        public long TableBytes;
        public int Blocks;       // weight blocks per row
        public byte* W;          // [Rows, RowBytes]
        public long RowBytes;
        public int Rows;
        public byte* A;          // [N, ActStride] activation in the vec_dot_type
        public long ActStride;
        public float* Y;         // [N, Rows]
        public int N, ChunkRows, TokenTile, RowTile, TokenMicro;
        public SimdTier Tier;

        public readonly int Chunks => (Rows + ChunkRows - 1) / ChunkRows;

        public void Run(int chunk)
        {
            int r0 = chunk * ChunkRows, r1 = Math.Min(Rows, r0 + ChunkRows);
            if (DotPart != null)
            {
                PartMajorRows(r0, r1);
                return;
            }
            if (N == 1)
            {
                for (int r = r0; r < r1; r++)
                {
                    Y[r] = Dot(W + r * RowBytes, A, Blocks, Tier);
                }
                return;
            }
            int first = 0;
            if (Dot8 != null && Blocks > EightTokenPartBlocks)
            {
                // Rows too long for eight tokens' activation to stay in L1: by groups of eight tokens, in parts.
                first = N / 8 * 8;
                for (int i = 0; i < first; i += 8)
                {
                    EightTokensInParts(r0, r1, i);
                }
            }
            for (int i0 = first; i0 < N; i0 += TokenTile)
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
            if (Dot8 != null)
            {
                int i8 = ib + (ib1 - ib) / 8 * 8;
                for (int i = ib; i < i8; i += 8)
                {
                    EightTokens(rb, rb1, i);
                }
                ib = i8;
            }
            int row = rb;
            if (Dot2x4 != null)
            {
                for (; row + 2 <= rb1; row += 2)
                {
                    int i = ib;
                    for (; i + 4 <= ib1; i += 4)
                    {
                        Dot2x4(W + row * RowBytes, RowBytes, A + i * ActStride, ActStride, Blocks, Y + (long)i * Rows + row, Rows, Tier);
                    }
                    SingleTokens(row, i, ib1);
                    SingleTokens(row + 1, i, ib1);
                }
            }
            for (; row < rb1; row++)
            {
                byte* wr = W + row * RowBytes;
                int i = ib;
                if (Dot4 != null)
                {
                    for (; i + 4 <= ib1; i += 4)
                    {
                        Dot4(wr, A + i * ActStride, ActStride, Blocks, Y + (long)i * Rows + row, Rows, Tier);
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
                Dot8(W + r * RowBytes, A + i * ActStride, ActStride, Tables + i / 8 * TableBytes, Blocks, null, EightTokenPart.Whole, Y + (long)i * Rows + r, Rows, Tier);
            }
        }

        // Rows [r0, r1) against tokens [i, i + 8), a group of rows at a time, each group swept part by part: one part of
        // the eight activation rows (and of their table) is read from L2 once per group instead of once per row.
        private readonly void EightTokensInParts(int r0, int r1, int i)
        {
            const int groupRows = PartGroupRows;   // their running sums, 12 KiB, stay in L1 beside the part
            float* state = stackalloc float[groupRows * Q8_K.EightTokenStateFloats];
            var (parts, partBlocks) = PartsOf(Blocks);
            long weightBlockBytes = RowBytes / Blocks;
            byte* a = A + i * ActStride, table = Tables + i / 8 * TableBytes;
            float* y = Y + (long)i * Rows;
            for (int g = r0; g < r1; g += groupRows)
            {
                int g1 = Math.Min(r1, g + groupRows);
                for (int b = 0; b < Blocks; b += partBlocks)
                {
                    int count = Math.Min(partBlocks, Blocks - b);
                    var part = (b == 0 ? EightTokenPart.First : 0) | (b + count == Blocks ? EightTokenPart.Last : 0);
                    // Part-major, the group's parts are consecutive: this part of row g first, each row's right after
                    // the one before, so the kernels' own prefetch runs ahead into the rows to come.
                    byte* partStart = W + g * RowBytes + (g1 - g) * b * weightBlockBytes;
                    for (int r = g; r < g1; r++)
                    {
                        if (DotPart != null)
                        {
                            Dot8(partStart + (r - g) * count * weightBlockBytes, a + b * Q8_K.BlockBytes, ActStride, table + b * Q8_K.EightTokenTableBytes, count,
                                state + (r - g) * Q8_K.EightTokenStateFloats, part, y + r, Rows, Tier);
                            continue;
                        }
                        // Row-major, the rows' parts are not consecutive in memory, so the kernels' own prefetch (a fixed
                        // distance ahead in the row) misses them: fetch the part two rows on.
                        if (r + 2 < g1)
                        {
                            byte* next = W + (r + 2) * RowBytes + b * weightBlockBytes;
                            for (long o = 0; o < count * weightBlockBytes; o += 64)
                            {
                                StreamPrefetch.Line(next + o);
                            }
                        }
                        Dot8(W + r * RowBytes + b * weightBlockBytes, a + b * Q8_K.BlockBytes, ActStride, table + b * Q8_K.EightTokenTableBytes, count,
                            state + (r - g) * Q8_K.EightTokenStateFloats, part, y + r, Rows, Tier);
                    }
                }
            }
        }

        // Rows [r0, r1) of a part-major matrix (r0 on a group boundary): groups of eight tokens by the eight-token dots,
        // the tokens left over (all of them below eight) four and one at a time, part by part, each row's running sums
        // kept between its parts; a group's part is read once per call over it, from L1 or L2 after the first.
        private readonly void PartMajorRows(int r0, int r1)
        {
            Debug.Assert(r0 % PartGroupRows == 0);
            int first = Dot8 != null ? N / 8 * 8 : 0;
            for (int i = 0; i < first; i += 8)
            {
                EightTokensInParts(r0, r1, i);
            }
            int rest = N - first;
            if (rest == 0)
            {
                return;
            }
            var (parts, partBlocks) = PartsOf(Blocks);
            long weightBlockBytes = RowBytes / Blocks;
            float* state = stackalloc float[7 * PartGroupRows * PartStateFloats];
            for (int g = r0; g < r1; g += PartGroupRows)
            {
                int g1 = Math.Min(Rows, g + PartGroupRows);   // a group is whole: the layout's groups count from row 0
                for (int b = 0; b < Blocks; b += partBlocks)
                {
                    int count = Math.Min(partBlocks, Blocks - b);
                    var part = (b == 0 ? EightTokenPart.First : 0) | (b + count == Blocks ? EightTokenPart.Last : 0);
                    byte* partStart = W + g * RowBytes + (g1 - g) * b * weightBlockBytes;
                    // Four tokens at a time, then one: token t's sums for row g + k at state[(7k + t) · PartStateFloats], so
                    // that a four-token call's four are consecutive.
                    for (int t = 0; t < rest;)
                    {
                        int tokens = rest - t >= 4 ? 4 : 1, i = first + t;
                        byte* x = A + i * ActStride + b * Q8_K.BlockBytes;
                        for (int r = g; r < g1; r++)
                        {
                            DotPart(partStart + (r - g) * count * weightBlockBytes, x, ActStride, tokens, count,
                                state + ((r - g) * 7 + t) * PartStateFloats, part, Y + (long)i * Rows + r, Rows);
                        }
                        t += tokens;
                    }
                }
            }
        }

        private readonly void SingleTokens(int r, int i0, int i1)
        {
            for (int i = i0; i < i1; i++)
            {
                Y[(long)i * Rows + r] = Dot(W + r * RowBytes, A + i * ActStride, Blocks, Tier);
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

    // The converted activation starts on a cache line, so that Q8_K's quants (at a 64-byte offset in 320-byte blocks)
    // do too: the 512-bit dots then never load across two lines.
    private const int ActivationAlignment = 64;

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

    /// <summary>Bytes of one activation row once converted to the vec_dot_type of <paramref name="traits"/>' type.</summary>
    private static long ActivationRowBytes(TypeTraits traits, int cols) => traits.DotType switch
    {
        GgmlType.Q8_0 => (long)cols / Q8_0.BlockSize * Q8_0.BlockBytes,
        GgmlType.Q8_1 => (long)cols / Q8_1.BlockSize * Q8_1.BlockBytes,
        GgmlType.Q8_K => (long)cols / Q8_K.BlockSize * Q8_K.BlockBytes,
        _ => (long)cols * sizeof(float), // F32, and F16/BF16 held as floats carrying half/bf16 values
    };

    /// <summary>
    /// Converts floats to the activation type of a dot. F16 and BF16 activations stay floats, rounded to the values the
    /// half or bfloat16 conversion gives (what ggml's F16/BF16 dots multiply), so the dots read them without converting.
    /// </summary>
    private static unsafe void ConvertActivation(GgmlType dotType, float* x, byte* dst, int count, SimdTier tier)
    {
        switch (dotType)
        {
            case GgmlType.Q8_0: Q8_0.QuantizeActivation(x, dst, count, tier); break;
            case GgmlType.Q8_1: Q8_1.QuantizeActivation(x, dst, count, tier); break;
            case GgmlType.Q8_K: Q8_K.QuantizeActivation(x, dst, count, tier); break;
            default:
                var floats = new Span<float>(dst, count);
                new ReadOnlySpan<float>(x, count).CopyTo(floats);
                if (dotType == GgmlType.F16)
                {
                    F16.RoundActivation(floats);
                }
                else if (dotType == GgmlType.BF16)
                {
                    BF16.RoundActivation(floats);
                }
                break;
        }
    }

    /// <summary>The vec_dot_type blocks back to float: <c>d · q</c> per value, each one rounding, as dequantize_row does.</summary>
    private static unsafe void DecodeActivation(GgmlType dotType, byte* src, float* dst, int count, SimdTier tier)
    {
        // Q8_1 activations never go through the GEMM: their weight types keep the dots (TypeTraits.DotsForBatches).
        Debug.Assert(dotType is GgmlType.Q8_0 or GgmlType.Q8_K);
        if (dotType == GgmlType.Q8_0)
        {
            Q8_0.Decode(src, dst, count / Q8_0.BlockSize, tier);
        }
        else
        {
            Q8_K.Dequantize(new ReadOnlySpan<byte>(src, count / Q8_K.BlockSize * Q8_K.BlockBytes), new Span<float>(dst, count));
        }
    }

    // Two weight rows at a time (TypeTraits.Dot2x4) share the per-token work that does not depend on the weights (float
    // steps, loads of the activation); Q4_K's dot spent as much on its float steps as on the integer products. Only
    // 512-bit vectors hold two rows' lanes; elsewhere the tiling stays as it was.
    private static bool Uses512(SimdTier tier) => tier == SimdTier.Vector512 && Avx512BW.IsSupported;

    // Eight tokens a row, for every batch of eight or more (the rest of a batch past its last whole eight takes the
    // four-token and two-row kernels): each weight block is unpacked once for eight tokens and each weight row read
    // once per eight, rather than in passes of four; with 512-bit vectors only, where 32 registers hold the eight
    // tokens' accumulators. On the FFN and output matrices of R1-Distill-Qwen-1.5B's shape (Q4_K_M, 2 threads,
    // AVX-512) a decode step of eight took 1.4-2× less time than with the two-row kernel. Batches of sixteen and more
    // once kept the two-row kernel (prompt processing of 128 tokens was 5 % slower with this one); since the eight-token
    // dots prefetch and take long rows in parts (EightTokenPartBlocks) they are faster there too: a forward pass of
    // eight 16-token prompts (128 tokens) took 817 ms against 887, a decode step of sixteen sequences 171 ms against 193
    // (medians of 7 and 24 passes alternated in one process, AVX-512), and the FFN products alone of 512 tokens 3-20 %
    // less. The eight-token dots prefetch their weights as the one-token dots do (StreamPrefetch): the forward pass of
    // eight decode tokens on that shape, with and without, alternated in one process, took 72.4/72.8 ms instead of
    // 82.6/83.8 ms in its FFN (medians of 15 steps). The four-token dots prefetch too (the two-row one both rows): at
    // four decode tokens the step took 66 ms instead of 92-107 (AVX-512; FFN 47 against 61-69 ms), and with AVX-512
    // off 75.5 instead of 78-81 ms, alternated in one process the same way.

    // Eight tokens' Q8_K activation of this many blocks, with its table, takes 26 KiB of L1; longer rows run in parts
    // (RowBlocks.EightTokensInParts). An FFN down projection of 8960 columns (35 blocks) took 17 % longer per multiply
    // than the 1536-column projections (6 blocks) before it was split; in parts of 7 blocks its Q4_K layers run about
    // a fifth faster than whole (parts of 4 and 16 were slower).
    private const int EightTokenPartBlocks = 8;
}

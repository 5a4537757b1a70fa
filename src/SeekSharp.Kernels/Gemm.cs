using System.Diagnostics;
using SeekSharp.Kernels.Simd;
using SeekSharp.Kernels.Threading;

namespace SeekSharp.Kernels;

/// <summary>
/// Single-precision matrix products for training: <c>C = op(A) · op(B)</c> (or <c>C += ...</c>) on row-major
/// float matrices, where op is the identity or the transpose. Forward passes use <c>A · Bᵀ</c> (activations times
/// weights stored [out, in]), and backward passes the other two forms. Inference's prompt batches use the same blocked
/// product on quantized weights (<see cref="MultiplyByWeights"/>, called by <see cref="MatMul"/>).
/// </summary>
/// <remarks>
/// The product runs in parallel over tiles of C (on <see cref="WorkerPool.Shared"/> unless a pool is given; small
/// products stay on the calling thread). Results agree with the plain triple loop up to float rounding: each element
/// is the same sum of k products, added in a different order (and with fused multiply-adds where the CPU has them).
/// The order does not depend on the number of threads, so neither do the results.
/// Products of one or two rows (a decode step) run as vector × matrix without packing.
/// </remarks>
public static partial class Gemm
{
    /// <summary><c>C[m, n] (+)= op(A)[m, k] · op(B)[k, n]</c>, all matrices row-major and dense.</summary>
    /// <param name="a">A, stored [m, k], or [k, m] when <paramref name="transposeA"/>.</param>
    /// <param name="b">B, stored [k, n], or [n, k] when <paramref name="transposeB"/>.</param>
    /// <param name="c">C, [m, n]; must not overlap A or B.</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="k">Inner dimension.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="transposeA">Use Aᵀ.</param>
    /// <param name="transposeB">Use Bᵀ.</param>
    /// <param name="accumulate">Add to C instead of overwriting it.</param>
    /// <param name="pool">Threads that share the work; <see cref="WorkerPool.Shared"/> when null.</param>
    /// <exception cref="ArgumentException">A span is too short for its shape.</exception>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n,
        bool transposeA = false, bool transposeB = false, bool accumulate = false, WorkerPool? pool = null)
    {
        Validate(a, b, c, m, k, n);
        Multiply(a, b, c, m, k, n, transposeA, transposeB, accumulate, GemmTiles.For(SimdCapabilities.Best), pool ?? WorkerPool.Shared);
    }

    // ---- the blocked product (GotoBLAS / BLIS loop nest) ----
    //
    // Dimensions: m, k, n = sizes of the product; mc, kc, nc = the current block of rows of C, of depth, of columns of
    // C; mr × nr = the register tile of the micro-kernel (12 × 16 with Vector512, 6 × 16 with Vector256, 6 × 8 with
    // Vector128, 4 × 4 scalar).
    //
    //   for jc over n in steps of NC:            B block [kc, nc] packed once, shared by all threads (L3)
    //     for pc over k in steps of KC:
    //       pack op(B)[pc.., jc..]                 (parallel over micro-panels, then a barrier)
    //       parallel for (ic over m in steps of mc) × (a part of the nc columns):
    //         pack op(A)[ic.., pc..] per thread    A block [mc, kc] (L2)
    //         for jr over the part's columns in steps of nr:   B micro-panel [kc, nr] (L1), reused by every tile below
    //           for ir over mc in steps of mr:                 A micro-panel [kc, mr] streamed from L2
    //             C[ic+ir.., jc+jr..] (+)= tile
    //
    // C is overwritten by the first k block (unless the caller accumulates) and added to by the later ones.
    // Products of at most GemmFewRows.MaxRows rows skip all of this (see GemmFewRows).

    // Depth of a block: a B micro-panel is KC × 16 floats = 16 KiB, half of a 32 KiB L1d, leaving room for the A
    // micro-panel (6 KiB) and the C tile; also long enough that loading and storing the C tile once per block is
    // small next to the KC rank-1 updates.
    internal const int KC = 256;

    // Rows of an A block at most: 144 × 256 floats = 144 KiB, well inside a 512 KiB - 1 MiB L2 per core. A multiple of
    // both tile heights (6 and 4). Fewer rows are used when that gives every thread several blocks.
    internal const int MC = 144;

    // Columns of a B block at most: 256 × 3072 floats = 3 MiB, shared by all threads from L3. Training widths
    // (n up to a few thousand) then take a single column block; the vocabulary projection takes several.
    internal const int NC = 3072;

    // The smallest A block worth a work item of its own: below it a B micro-panel, brought into L1 for the block,
    // serves too few tiles.
    private const int MinMC = 48;

    // Below this many multiply-adds the product runs on the calling thread: a parallel loop costs a few microseconds
    // of dispatch and barrier, as much as ~10^5 multiply-adds on one core.
    internal const long ParallelThreshold = 1L << 18;

    /// <summary>The blocked product with <paramref name="tile"/>, on <paramref name="pool"/> (null: calling thread only).</summary>
    internal static unsafe void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n,
        bool transposeA, bool transposeB, bool accumulate, GemmTileKind tile, WorkerPool? pool)
    {
        Debug.Assert(a.Length >= (long)m * k && b.Length >= (long)k * n && c.Length >= (long)m * n);
        if (m == 0 || n == 0)
        {
            return;
        }
        if (k == 0)
        {
            // An empty sum: C = 0, or C unchanged when accumulating.
            if (!accumulate)
            {
                c[..(m * n)].Clear();
            }
            return;
        }

        int threads = pool is not null && (long)m * k * n >= ParallelThreshold ? pool.ThreadCount : 1;
        if (m <= GemmFewRows.MaxRows)
        {
            fixed (float* pa = a)
            fixed (float* pb = b)
            fixed (float* pc = c)
            {
                // Its vector code is Vector256 or nothing: one or two rows are bound by reading B, not by arithmetic.
                var tier = tile >= GemmTileKind.Vector256 ? SimdTier.Vector256 : SimdTier.Scalar;
                GemmFewRows.Multiply(pa, pb, pc, m, k, n, transposeA, transposeB, accumulate, tier, pool, threads);
            }
            return;
        }

        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            var pack = new PackBlockOfB { B = pb, K = k, N = n, TransposeB = transposeB };
            Blocked(pa, ref pack, pc, m, k, n, transposeA, accumulate, tile, pool, threads);
        }
    }

    /// <summary>
    /// <c>C[m, n] = A[m, k] · Wᵀ</c> for a weight matrix W stored [n, k] row-major in <paramref name="type"/> (rows of
    /// <c>RowBytes(type, k)</c> bytes): each k block of W is decoded to float as it is packed, so the whole matrix is
    /// never held in float. Every product and sum is in float, as in <see cref="Multiply(ReadOnlySpan{float},
    /// ReadOnlySpan{float}, Span{float}, int, int, int, bool, bool, bool, WorkerPool?)"/>.
    /// </summary>
    /// <remarks>k must be a whole number of the type's blocks. KC is a whole number of every type's blocks (32 or 256
    /// values), so no k block splits a quant block.</remarks>
    internal static unsafe void MultiplyByWeights(float* a, GgmlType type, byte* w, float* c, int m, int k, int n,
        GemmTileKind tile, WorkerPool? pool)
    {
        Debug.Assert(KC % TensorTypes.BlockSize(type) == 0 && k % TensorTypes.BlockSize(type) == 0);
        if (m == 0 || n == 0 || k == 0)
        {
            new Span<float>(c, m * n).Clear();
            return;
        }
        int threads = pool is not null && (long)m * k * n >= ParallelThreshold ? pool.ThreadCount : 1;
        var pack = new PackBlockOfB { K = k, N = n, TransposeB = true, WeightType = type, Weights = w, WeightRowBytes = TensorTypes.RowBytes(type, k) };
        Blocked(a, ref pack, c, m, k, n, transposeA: false, accumulate: false, tile, pool, threads);
    }

    private static unsafe void Blocked(float* pa, ref PackBlockOfB pack, float* pc, int m, int k, int n,
        bool transposeA, bool accumulate, GemmTileKind tile, WorkerPool? pool, int threads)
    {
        var (mr, nr) = tile switch
        {
            GemmTileKind.Vector512 => (GemmMicroKernel.MR512, GemmMicroKernel.NR512),
            GemmTileKind.Vector256 => (GemmMicroKernel.MR256, GemmMicroKernel.NR256),
            GemmTileKind.Vector128 => (GemmMicroKernel.MR128, GemmMicroKernel.NR128),
            _ => (GemmMicroKernel.MRScalar, GemmMicroKernel.NRScalar),
        };
        // Enough A blocks that every thread gets about four work items (items are claimed dynamically, so a core slowed
        // by other load takes fewer), but no block taller than MC nor, when m allows, shorter than MinMC.
        int blocks = Math.Max(CeilDiv(m, MC), Math.Min(4 * threads, CeilDiv(m, MinMC)));
        int mc = Math.Min(MC, CeilDiv(CeilDiv(m, blocks), mr) * mr);
        int mBlocks = CeilDiv(m, mc);

        int kcMax = Math.Min(k, KC), ncMax = Math.Min(n, NC);
        float* packedB = GemmScratch.PackedB((long)kcMax * CeilDiv(ncMax, nr) * nr);

        pack.Nr = nr;
        pack.Packed = packedB;
        var tiles = new TileBlocks
        {
            A = pa, C = pc, M = m, K = k, N = n, TransposeA = transposeA, Mr = mr, Nr = nr, Mc = mc,
            PackedB = packedB,
            Kernel = tile switch
            {
                GemmTileKind.Vector512 => &GemmMicroKernel.Tile12x16,
                GemmTileKind.Vector256 => &GemmMicroKernel.Tile6x16,
                GemmTileKind.Vector128 => &GemmMicroKernel.Tile6x8,
                _ => &GemmMicroKernel.Tile4x4,
            },
        };
        for (int jc = 0; jc < n; jc += NC)
        {
            int nc = Math.Min(NC, n - jc);
            int panels = CeilDiv(nc, nr);
            // Split the columns too when there are fewer A blocks than the threads need items.
            int parts = Math.Min(panels, CeilDiv(4 * threads, mBlocks));
            for (int p0 = 0; p0 < k; p0 += KC)
            {
                int kc = Math.Min(KC, k - p0);
                pack.P0 = p0; pack.Kc = kc; pack.J0 = jc; pack.Nc = nc;
                pack.PanelsPerItem = CeilDiv(panels, Math.Min(panels, 2 * threads));
                int packItems = CeilDiv(panels, pack.PanelsPerItem);

                tiles.P0 = p0; tiles.Kc = kc; tiles.J0 = jc; tiles.Nc = nc;
                tiles.Add = accumulate || p0 > 0;
                tiles.Parts = parts;
                tiles.PanelsPerPart = CeilDiv(panels, parts);
                int tileItems = mBlocks * parts;

                if (threads > 1)
                {
                    pool!.For(packItems, ref pack);
                    pool.For(tileItems, ref tiles);
                }
                else
                {
                    for (int i = 0; i < packItems; i++)
                    {
                        pack.Run(i);
                    }
                    for (int i = 0; i < tileItems; i++)
                    {
                        tiles.Run(i);
                    }
                }
            }
        }
    }

    private static int CeilDiv(int x, int y) => (x + y - 1) / y;

    /// <summary>Packs a run of B micro-panels of the current block per work item.</summary>
    private unsafe struct PackBlockOfB : IParallelWork
    {
        public float* B;                 // [K, N], or [N, K] when TransposeB; unused when Weights is set
        public int K, N, Nr;
        public bool TransposeB;
        public byte* Weights;            // [N, WeightRowBytes] in WeightType: B = the decoded rows, transposed
        public GgmlType WeightType;
        public long WeightRowBytes;
        public int P0, Kc, J0, Nc, PanelsPerItem;
        public float* Packed;            // [ceil(Nc / Nr)][Kc, Nr]

        public void Run(int index)
        {
            int panels = CeilDiv(Nc, Nr);
            int q0 = index * PanelsPerItem, q1 = Math.Min(panels, q0 + PanelsPerItem);
            if (Weights != null)
            {
                GemmPacking.PackWeightRows(WeightType, Weights, WeightRowBytes, P0, Kc, J0, Nc, Nr, q0, q1, Packed);
            }
            else
            {
                GemmPacking.PackB(B, K, N, TransposeB, P0, Kc, J0, Nc, Nr, q0, q1, Packed);
            }
        }
    }

    /// <summary>One A block (packed by the running thread) times a run of packed B micro-panels, into C.</summary>
    private unsafe struct TileBlocks : IParallelWork
    {
        public float* A;                 // [M, K], or [K, M] when TransposeA
        public float* C;                 // [M, N]
        public int M, K, N, Mr, Nr, Mc;
        public bool TransposeA, Add;
        public int P0, Kc, J0, Nc, Parts, PanelsPerPart;
        public float* PackedB;           // [ceil(Nc / Nr)][Kc, Nr]
        public delegate*<int, float*, float*, float*, nint, bool, void> Kernel;

        public void Run(int index)
        {
            int block = index / Parts, part = index % Parts;
            int i0 = block * Mc, mc = Math.Min(Mc, M - i0);
            int panels = CeilDiv(Nc, Nr);
            int q0 = part * PanelsPerPart, q1 = Math.Min(panels, q0 + PanelsPerPart);
            if (q0 >= q1)
            {
                return;
            }

            float* packedA = GemmScratch.PackedA((long)CeilDiv(mc, Mr) * Mr * Kc + GemmPacking.Slack);   // [ceil(mc / Mr)][Kc, Mr]
            GemmPacking.PackA(A, M, K, TransposeA, i0, mc, P0, Kc, Mr, packedA);

            float* edge = stackalloc float[GemmMicroKernel.MaxTileFloats];   // [Mr, Nr] partial tile
            for (int q = q0; q < q1; q++)
            {
                int jr = q * Nr, cols = Math.Min(Nr, Nc - jr);
                float* bPanel = PackedB + (long)q * Kc * Nr;
                for (int ir = 0; ir < mc; ir += Mr)
                {
                    int rows = Math.Min(Mr, mc - ir);
                    float* aPanel = packedA + (long)ir * Kc;
                    float* cTile = C + (long)(i0 + ir) * N + J0 + jr;
                    if (rows == Mr && cols == Nr)
                    {
                        Kernel(Kc, aPanel, bPanel, cTile, N, Add);
                    }
                    else
                    {
                        // The padded panels give a full tile; only its rows × cols corner belongs to C.
                        Kernel(Kc, aPanel, bPanel, edge, Nr, false);
                        for (int r = 0; r < rows; r++)
                        {
                            float* src = edge + r * Nr, dst = cTile + (long)r * N;
                            for (int j = 0; j < cols; j++)
                            {
                                dst[j] = Add ? dst[j] + src[j] : src[j];
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>The plain triple loop, summing k in order in float: the reference the fast paths are tested against.</summary>
    internal static void MultiplyReference(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n,
        bool transposeA, bool transposeB, bool accumulate)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float sum = 0f;
                for (int p = 0; p < k; p++)
                {
                    float av = transposeA ? a[p * m + i] : a[i * k + p];
                    float bv = transposeB ? b[j * k + p] : b[p * n + j];
                    sum += av * bv;
                }
                c[i * n + j] = accumulate ? c[i * n + j] + sum : sum;
            }
        }
    }

    private static void Validate(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n)
    {
        if (m < 0 || k < 0 || n < 0)
        {
            throw new ArgumentException($"Matrix sizes must be non-negative (m {m}, k {k}, n {n}).");
        }
        if (a.Length < (long)m * k)
        {
            throw new ArgumentException($"A holds {a.Length} floats; [{m}, {k}] needs {(long)m * k}.", nameof(a));
        }
        if (b.Length < (long)k * n)
        {
            throw new ArgumentException($"B holds {b.Length} floats; [{k}, {n}] needs {(long)k * n}.", nameof(b));
        }
        if (c.Length < (long)m * n)
        {
            throw new ArgumentException($"C holds {c.Length} floats; [{m}, {n}] needs {(long)m * n}.", nameof(c));
        }
    }
}

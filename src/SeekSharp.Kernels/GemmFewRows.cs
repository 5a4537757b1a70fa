using System.Diagnostics;
using System.Runtime.Intrinsics;
using SeekSharp.Kernels.Simd;
using SeekSharp.Kernels.Threading;

namespace SeekSharp.Kernels;

/// <summary>
/// <see cref="Gemm"/> for products of one or two rows (a decode step of one or two sequences): vector × matrix without
/// packing. The register tile would leave most of its 6 rows empty and packing B would cost as much as the product.
/// </summary>
/// <remarks>
/// Dimensions: m ≤ <see cref="MaxRows"/>, k, n as in <see cref="Gemm.Multiply"/>. With B stored [n, k] every element
/// is one dot product of contiguous rows; with B stored [k, n] a block of 32 columns is accumulated in registers over
/// the rows of B. Columns are shared among threads in runs of whole 32-column blocks, so a column is always computed the
/// same way and the result does not depend on the thread count.
/// </remarks>
internal static unsafe class GemmFewRows
{
    /// <summary>Products with at most this many rows take this path.</summary>
    public const int MaxRows = 2;

    private const int Block = 32;   // columns accumulated in 4 Vector256 registers

    public static void Multiply(float* a, float* b, float* c, int m, int k, int n, bool transposeA, bool transposeB,
        bool accumulate, SimdTier tier, WorkerPool? pool, int threads)
    {
        Debug.Assert(m is > 0 and <= MaxRows && k > 0 && n > 0);
        float* rows = a;   // [m, k]
        if (transposeA)
        {
            // The rows of op(A) are columns of the stored [k, m]: gather them once.
            rows = GemmScratch.PackedA((long)m * k);
            for (int i = 0; i < m; i++)
            {
                for (int p = 0; p < k; p++)
                {
                    rows[(long)i * k + p] = a[(long)p * m + i];
                }
            }
        }
        int items = threads > 1 ? Math.Min(4 * threads, (n + Block - 1) / Block) : 1;
        var work = new Columns
        {
            Rows = rows, B = b, C = c, M = m, K = k, N = n, TransposeB = transposeB, Add = accumulate, Tier = tier,
            ColumnsPerItem = ((n + items - 1) / items + Block - 1) / Block * Block,
        };
        items = (n + work.ColumnsPerItem - 1) / work.ColumnsPerItem;
        if (threads > 1)
        {
            pool!.For(items, ref work);
        }
        else
        {
            for (int i = 0; i < items; i++)
            {
                work.Run(i);
            }
        }
    }

    private struct Columns : IParallelWork
    {
        public float* Rows;              // [M, K] op(A)
        public float* B;                 // [K, N], or [N, K] when TransposeB
        public float* C;                 // [M, N]
        public int M, K, N, ColumnsPerItem;
        public bool TransposeB, Add;
        public SimdTier Tier;

        public void Run(int index)
        {
            int j0 = index * ColumnsPerItem, j1 = Math.Min(N, j0 + ColumnsPerItem);
            for (int i = 0; i < M; i++)
            {
                float* row = Rows + (long)i * K, cRow = C + (long)i * N;
                if (TransposeB)
                {
                    for (int jt = j0; jt < j1; jt++)
                    {
                        float d = VectorOps.Dot(row, B + (long)jt * K, K, Tier);
                        cRow[jt] = Add ? cRow[jt] + d : d;
                    }
                    continue;
                }
                int j = j0;
                if (Tier >= SimdTier.Vector256)
                {
                    for (; j + Block <= j1; j += Block)
                    {
                        Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
                        float* bp = B + j;
                        for (int p = 0; p < K; p++, bp += N)
                        {
                            var av = Vector256.Create(row[p]);
                            s0 = Vector256.FusedMultiplyAdd(av, Vector256.Load(bp), s0);
                            s1 = Vector256.FusedMultiplyAdd(av, Vector256.Load(bp + 8), s1);
                            s2 = Vector256.FusedMultiplyAdd(av, Vector256.Load(bp + 16), s2);
                            s3 = Vector256.FusedMultiplyAdd(av, Vector256.Load(bp + 24), s3);
                        }
                        float* cp = cRow + j;
                        if (Add)
                        {
                            s0 += Vector256.Load(cp);
                            s1 += Vector256.Load(cp + 8);
                            s2 += Vector256.Load(cp + 16);
                            s3 += Vector256.Load(cp + 24);
                        }
                        Vector256.Store(s0, cp);
                        Vector256.Store(s1, cp + 8);
                        Vector256.Store(s2, cp + 16);
                        Vector256.Store(s3, cp + 24);
                    }
                }
                // The last partial block (and every column on the scalar tier): one column at a time.
                for (; j < j1; j++)
                {
                    float sum = 0f;
                    float* bp = B + j;
                    for (int p = 0; p < K; p++, bp += N)
                    {
                        sum += row[p] * *bp;
                    }
                    cRow[j] = Add ? cRow[j] + sum : sum;
                }
            }
        }
    }
}

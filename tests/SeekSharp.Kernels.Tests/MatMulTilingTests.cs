using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests;

/// <summary>
/// Batches below <see cref="MatMul.GemmThreshold"/> tokens (and Q4_K / Q6_K batches of any size) tile rows and tokens
/// for cache reuse and convert activations in parallel; every output must still be bit-identical to the single-token
/// dot of the same weight row and activation row. Larger batches take the GEMM path (MatMulGemmPathTests).
/// </summary>
public class MatMulTilingTests
{
    // cols 512 gives several rows and tokens per L1 micro-block; F32 at 16384 cols makes each activation row 64 KiB,
    // so a batch spans several L2 token tiles and the row tile shrinks to one row; Q4_K and Q6_K rows of 16384 fit
    // L1 only once, and with 512-bit vectors their row tile stays at the pair their two-row kernel takes (53 rows
    // leave one over).
    [Theory]
    [InlineData(GgmlType.F32, 512)]
    [InlineData(GgmlType.F32, 16384)]
    [InlineData(GgmlType.F16, 512)]
    [InlineData(GgmlType.F16, 16384)]
    [InlineData(GgmlType.BF16, 512)]
    [InlineData(GgmlType.Q8_0, 512)]
    [InlineData(GgmlType.Q4_0, 512)]
    [InlineData(GgmlType.Q5_0, 512)]
    [InlineData(GgmlType.Q4_1, 512)]
    [InlineData(GgmlType.Q5_1, 512)]
    [InlineData(GgmlType.Q4_K, 512)]
    [InlineData(GgmlType.Q4_K, 16384)]
    [InlineData(GgmlType.Q5_K, 512)]
    [InlineData(GgmlType.Q6_K, 512)]
    [InlineData(GgmlType.Q6_K, 16384)]
    [InlineData(GgmlType.IQ3_XXS, 512)]
    [InlineData(GgmlType.IQ3_S, 512)]
    public unsafe void BatchEqualsTokenByTokenBitForBit(GgmlType t, int cols) => AssertBatchEqualsTokenByToken(t, cols, 21);

    // A server's decode step of 8-15 sequences takes Q4_K's, Q5_K's and Q6_K's eight-token kernels (512-bit vectors), then
    // four-token and single dots for the rest: 13 = 8 + 4 + 1.
    [Theory]
    [InlineData(GgmlType.Q4_K, 512)]
    [InlineData(GgmlType.Q4_K, 16384)]
    [InlineData(GgmlType.Q5_K, 512)]
    [InlineData(GgmlType.Q5_K, 16384)]
    [InlineData(GgmlType.Q6_K, 512)]
    [InlineData(GgmlType.Q6_K, 16384)]
    public unsafe void DecodeSizedBatchEqualsTokenByTokenBitForBit(GgmlType t, int cols) => AssertBatchEqualsTokenByToken(t, cols, 13);

    // Q4_1 and Q5_1 keep their Q8_1 dots in batches of GEMM size too (MatMul.PrefersGemm), as Q4_K and Q6_K do.
    [Theory]
    [InlineData(GgmlType.Q4_1)]
    [InlineData(GgmlType.Q5_1)]
    [InlineData(GgmlType.Q4_K)]
    public unsafe void TypesWithoutGemmKeepTheirDotsInLargeBatches(GgmlType t) =>
        AssertBatchEqualsTokenByToken(t, 512, MatMul.GemmThreshold(t) + 3);

    // Products of one input in one loop (MatMulRowsShared) give each product's own result bit for bit: types that share
    // a converted activation (Q4_K twice), that need another (Q6_K, F16), batches of one token, of the eight-token
    // kernels, of prompt size, and of the float GEMM (F16 at 64 tokens runs the products one after another).
    [Theory]
    [InlineData(GgmlType.Q4_K, GgmlType.Q4_K, GgmlType.Q6_K, 1)]
    [InlineData(GgmlType.Q4_K, GgmlType.Q4_K, GgmlType.Q6_K, 8)]
    [InlineData(GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.Q4_K, 13)]
    [InlineData(GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q8_0, 21)]
    [InlineData(GgmlType.Q6_K, GgmlType.Q6_K, null, 8)]
    [InlineData(GgmlType.Q4_K, GgmlType.Q4_K, null, 128)]
    [InlineData(GgmlType.F16, GgmlType.Q4_K, GgmlType.F32, 64)]
    public unsafe void SharedInputProductsEqualSeparateOnes(GgmlType ta, GgmlType tb, GgmlType? tc, int n)
    {
        const int cols = 512;
        int[] rows = [53, 256, 37];
        GgmlType[] types = tc is { } c ? [ta, tb, c] : [ta, tb];
        float[] x = TestData.Random(n * cols, 91, 2f);
        var weights = new byte[types.Length][];
        var shared = new float[types.Length][];
        var separate = new float[types.Length][];
        for (int k = 0; k < types.Length; k++)
        {
            float[] wf = TestData.Random(rows[k] * cols, 92 + k);
            weights[k] = new byte[rows[k] * TensorTypes.RowBytes(types[k], cols)];
            TensorTypes.Quantize(types[k], wf, weights[k]);
            shared[k] = new float[n * rows[k]];
            separate[k] = new float[n * rows[k]];
        }
        using var pool = new SeekSharp.Kernels.Threading.WorkerPool(2);
        fixed (byte* w0 = weights[0], w1 = weights[1], w2 = types.Length > 2 ? weights[2] : null)
        fixed (float* y0 = shared[0], y1 = shared[1], y2 = types.Length > 2 ? shared[2] : null)
        {
            MatMul.MatMulRowsShared(x, n, cols, pool, new MatMul.Product(types[0], w0, rows[0], y0), new MatMul.Product(types[1], w1, rows[1], y1),
                types.Length > 2 ? new MatMul.Product(types[2], w2, rows[2], y2) : default);
            byte*[] ws = [w0, w1, w2];
            for (int k = 0; k < types.Length; k++)
            {
                MatMul.MatMulRows(types[k], ws[k], rows[k], cols, x, separate[k], n, pool);
                Assert.Equal(separate[k], shared[k]);
            }
        }
    }

    private static unsafe void AssertBatchEqualsTokenByToken(GgmlType t, int cols, int n)
    {
        const int rows = 53;   // not a multiple of any tile size, nor are the token counts
        float[] wf = TestData.Random(rows * cols, 80), x = TestData.Random(n * cols, 81, 2f);
        byte[] w = new byte[rows * TensorTypes.RowBytes(t, cols)];
        TensorTypes.Quantize(t, wf, w);
        float[] batched = new float[n * rows], serial = new float[n * rows], single = new float[rows];
        fixed (byte* pw = w)
        {
            MatMul.MatMulRows(t, pw, rows, cols, x, batched, n);
            MatMul.Multiply(t, pw, rows, cols, x, serial, n, SimdCapabilities.Best, parallel: false);
            for (int i = 0; i < n; i++)
            {
                MatMul.Multiply(t, pw, rows, cols, x.AsSpan(i * cols, cols), single, 1, SimdCapabilities.Best, parallel: false);
                for (int r = 0; r < rows; r++)
                {
                    Assert.Equal(BitConverter.SingleToInt32Bits(single[r]), BitConverter.SingleToInt32Bits(batched[i * rows + r]));
                }
            }
        }
        Assert.Equal(serial, batched);
    }
}

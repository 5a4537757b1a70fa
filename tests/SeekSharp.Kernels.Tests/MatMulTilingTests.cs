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

using SeekSharp.Kernels.Threading;

namespace SeekSharp.Kernels.Tests;

/// <summary>
/// A matrix stored part-major (<see cref="MatMul.StorePartMajor"/>) multiplies to the row-major product's outputs bit for
/// bit, for every batch size: single tokens (the part-wise one-token dot), groups of eight (the eight-token dots) and the
/// tokens left over; and its rows read back as they were.
/// </summary>
public class MatMulPartMajorTests
{
    // 8960 columns: 35 blocks in 5 parts of 7; 9216: 36 blocks in 5 parts of 8, the last of 4. 53 and 100 rows leave a
    // group of 21 and of 4 (groups are 32 rows); 1 and 3 tokens take the one-token parts, 7 four and three, 8 the
    // eight-token dots only, 13 and 21 eight-token dots, then four and one and four and one.
    [Theory]
    [InlineData(GgmlType.Q4_K, 8960, 53, 1)]
    [InlineData(GgmlType.Q4_K, 8960, 100, 7)]
    [InlineData(GgmlType.Q6_K, 8960, 100, 4)]
    [InlineData(GgmlType.Q4_K, 8960, 100, 3)]
    [InlineData(GgmlType.Q4_K, 9216, 100, 8)]
    [InlineData(GgmlType.Q4_K, 9216, 53, 13)]
    [InlineData(GgmlType.Q6_K, 8960, 100, 1)]
    [InlineData(GgmlType.Q6_K, 9216, 53, 7)]
    [InlineData(GgmlType.Q6_K, 8960, 53, 8)]
    [InlineData(GgmlType.Q6_K, 9216, 100, 21)]
    public unsafe void PartMajorProductEqualsRowMajorBitForBit(GgmlType t, int cols, int rows, int n)
    {
        float[] wf = TestData.Random(rows * cols, 70), x = TestData.Random(n * cols, 71, 2f);
        long rowBytes = TensorTypes.RowBytes(t, cols);
        byte[] w = new byte[rows * rowBytes], stored = new byte[w.Length];
        TensorTypes.Quantize(t, wf, w);
        float[] expected = new float[n * rows], actual = new float[n * rows];
        using var pool = new WorkerPool(2);
        fixed (byte* pw = w, ps = stored)
        {
            if (!MatMul.CanStorePartMajor(t, cols))
            {
                // Without 512-bit vectors nothing is stored part-major, and asking for it is refused.
                Assert.False(SeekSharp.Kernels.Simd.SimdCapabilities.Best == SeekSharp.Kernels.Simd.SimdTier.Vector512 && System.Runtime.Intrinsics.X86.Avx512BW.IsSupported);
                byte* pw1 = pw, ps1 = ps;
                Assert.Throws<ArgumentException>(() => MatMul.StorePartMajor(t, pw1, ps1, rows, cols));
                return;
            }
            MatMul.StorePartMajor(t, pw, ps, rows, cols);
            Assert.NotEqual(w, stored);
            MatMul.MatMulRows(t, pw, rows, cols, x, expected, n, pool);
            MatMul.MatMulRowsPartMajor(t, ps, rows, cols, x, actual, n, pool);
            Assert.Equal(expected, actual);

            byte[] row = new byte[rowBytes];
            foreach (int r in new[] { 0, 31, 32, rows - 1 })
            {
                MatMul.ReadPartMajorRow(t, ps, rows, cols, r, row);
                Assert.Equal(w.AsSpan((int)(r * rowBytes), (int)rowBytes).ToArray(), row);
            }
        }
    }

    [Fact]
    public void ShortRowsAndTypesWithoutPartDotsStayRowMajor()
    {
        Assert.False(MatMul.CanStorePartMajor(GgmlType.Q4_K, 2048));   // 8 blocks: the eight-token dots take it whole
        Assert.False(MatMul.CanStorePartMajor(GgmlType.Q5_K, 8960));   // its batches go to the float GEMM
        Assert.False(MatMul.CanStorePartMajor(GgmlType.Q8_0, 8960));
    }
}

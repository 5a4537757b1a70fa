using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests;

/// <summary>
/// Batches of at least <see cref="MatMul.GemmThreshold"/> tokens run as a float GEMM on weights decoded while they are
/// packed. Each output must be the product of the decoded weight row and the activation exactly as the type's dot sees
/// it (quantized to Q8_0 / Q8_K and decoded, or rounded to half / bfloat16), within the float summation bound; and it
/// must not depend on the thread count.
/// </summary>
/// <remarks>
/// The bound: a float sum of k products, in any order and with or without fused multiply-adds, is within γ_k · S of
/// the exact sum, S the sum of the magnitudes of the terms (Higham, §4.2); the exact sum is taken in double, where the
/// product of two floats is exact. An activation that skipped the rounding the dot applies lands about 10⁻³ · S away
/// from it and fails.
/// </remarks>
public class MatMulGemmPathTests
{
    // cols 544 is 17 Q8_0 blocks: the last depth block (544 - 512) is partial. 768 takes three full depth blocks of 256.
    [Theory]
    [InlineData(GgmlType.F32, 544)]
    [InlineData(GgmlType.F16, 544)]
    [InlineData(GgmlType.F16, 768)]
    [InlineData(GgmlType.BF16, 544)]
    [InlineData(GgmlType.Q8_0, 544)]
    [InlineData(GgmlType.Q8_0, 768)]
    [InlineData(GgmlType.Q4_0, 544)]
    [InlineData(GgmlType.Q5_0, 544)]
    [InlineData(GgmlType.Q5_K, 768)]
    public unsafe void EqualsTheExactProductOfWhatTheDotSeesWithinTheSummationBound(GgmlType t, int cols)
    {
        const int rows = 37;   // not a multiple of the 16-wide tile
        int n = MatMul.GemmThreshold(t) + 5;
        float[] wf = TestData.Random(rows * cols, 90), x = TestData.Random(n * cols, 91, 3f);
        byte[] w = new byte[rows * TensorTypes.RowBytes(t, cols)];
        TensorTypes.Quantize(t, wf, w);
        float[] decodedW = new float[rows * cols];
        TensorTypes.Dequantize(t, w, decodedW);
        float[] seen = AsTheDotSeesIt(t, x);

        float[] y = new float[n * rows];
        fixed (byte* pw = w)
        {
            MatMul.MatMulRows(t, pw, rows, cols, x, y, n);
        }
        double worstRatio = AssertWithinSummationBoundOfExactProduct(t, decodedW, seen, y, rows, cols, n);
        Assert.True(worstRatio > 0, "every output exact: the bound was never exercised");
    }

    /// <summary>
    /// Every y[i, r] (token i, row r) within γ_cols·S (the class's bound) of Σ_c w[r, c]·x[i, c] in double, over the
    /// decoded weights and the activation as the dot sees it. Returns the largest error relative to S.
    /// </summary>
    internal static double AssertWithinSummationBoundOfExactProduct(GgmlType t, float[] decodedW, float[] seen, float[] y, int rows, int cols, int n)
    {
        double worstRatio = 0;
        for (int i = 0; i < n; i++)
        {
            for (int r = 0; r < rows; r++)
            {
                double exact = 0, sumAbs = 0;
                for (int c = 0; c < cols; c++)
                {
                    double term = (double)decodedW[r * cols + c] * seen[i * cols + c];
                    exact += term;
                    sumAbs += Math.Abs(term);
                }
                double bound = cols * TestData.U / (1 - cols * TestData.U) * sumAbs * 1.000001;
                double error = Math.Abs(y[i * rows + r] - exact);
                Assert.True(error <= bound, $"{t} y[{i}, {r}] = {y[i * rows + r]}, exact {exact}, error {error:E3} > bound {bound:E3}");
                worstRatio = Math.Max(worstRatio, error / sumAbs);
            }
        }
        return worstRatio;
    }

    [Theory]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q5_0)]
    [InlineData(GgmlType.Q5_K)]
    public unsafe void ResultDoesNotDependOnTheThreadCount(GgmlType t)
    {
        const int rows = 70, cols = 1024;
        int n = MatMul.GemmThreshold(t) + 4;
        float[] wf = TestData.Random(rows * cols, 92), x = TestData.Random(n * cols, 93);
        byte[] w = new byte[rows * TensorTypes.RowBytes(t, cols)];
        TensorTypes.Quantize(t, wf, w);
        float[] serial = new float[n * rows], parallel = new float[n * rows];
        fixed (byte* pw = w)
        {
            MatMul.Multiply(t, pw, rows, cols, x, serial, n, SimdCapabilities.Best, parallel: false);
            MatMul.Multiply(t, pw, rows, cols, x, parallel, n, SimdCapabilities.Best, parallel: true);
        }
        Assert.Equal(serial, parallel);
    }

    private static unsafe float[] AsTheDotSeesIt(GgmlType t, float[] x)
    {
        float[] seen = (float[])x.Clone();
        switch (t)
        {
            case GgmlType.F16:
                F16.RoundActivation(seen);
                break;
            case GgmlType.BF16:
                BF16.RoundActivation(seen);
                break;
            case GgmlType.Q8_0 or GgmlType.Q4_0 or GgmlType.Q5_0:
            {
                byte[] q = new byte[TensorTypes.RowBytes(GgmlType.Q8_0, x.Length)];
                fixed (float* px = x)
                fixed (byte* pq = q)
                {
                    Q8_0.QuantizeActivation(px, pq, x.Length, SimdCapabilities.Best);
                }
                Q8_0.Dequantize(q, seen);
                break;
            }
            case GgmlType.Q5_K:
            {
                byte[] q = new byte[x.Length / Q8_K.BlockSize * Q8_K.BlockBytes];
                fixed (float* px = x)
                fixed (byte* pq = q)
                {
                    Q8_K.QuantizeActivation(px, pq, x.Length, SimdCapabilities.Best);
                }
                Q8_K.Dequantize(q, seen);
                break;
            }
        }
        return seen;
    }
}

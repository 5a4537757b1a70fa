using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

/// <summary>
/// IQ3_XXS: decoding of a block worked out by hand, the dot against the decoded values, the dot's AVX2 tiers against its scalar twin, and MatMul
/// on the type. Bit-exactness of the decoding (and so of the grid and sign tables) with ggml's dequantize_row_iq3_xxs
/// is in the conformance tests (GgmlDequantizeTests).
/// </summary>
public class IQ3_XXSTests
{
    private const int BlockBytes = IQ3_XXS.BlockBytes;

    /// <summary>Random blocks: every bit pattern of the indices, signs and 4-bit scales is legal; the half scale is finite.</summary>
    internal static byte[] RandomWeights(int blocks, int seed)
    {
        var rng = new Random(seed);
        byte[] w = new byte[blocks * BlockBytes];
        rng.NextBytes(w);
        for (int b = 0; b < blocks; b++)
        {
            BitConverter.TryWriteBytes(w.AsSpan(b * BlockBytes), F16.FromSingle((float)rng.NextDouble() * 0.01f));
        }
        return w;
    }

    private static unsafe float Dot(byte[] w, byte[] x, int blocks, SimdTier tier)
    {
        fixed (byte* pw = w, px = x)
        {
            return IQ3_XXS.Dot(pw, px, blocks, tier);
        }
    }

    [Fact]
    public void DequantizeKnownBlock()
    {
        byte[] q = new byte[BlockBytes];
        BitConverter.TryWriteBytes(q.AsSpan(0), (ushort)0x3C00);  // d = 1
        // Sub-block 0: scale 3 → db = (0.5 + 3)·0.5 = 1.75. Group 0: indices 0 (4, 4, 4, 4) and 1 (0x04040414:
        // 20, 4, 4, 4); sign index 1 expands to 0b1000_0001, negating elements 0 and 7.
        q[2 + 0] = 0;
        q[2 + 1] = 1;
        BitConverter.TryWriteBytes(q.AsSpan(66), (3u << 28) | 1u);
        // Sub-block 5: scale 15 → db = 7.75; group 2 (elements 160 + 16 ..) index 5 (0x04040c3e: 62, 12, 4, 4), sign index 0.
        q[2 + 8 * 5 + 4] = 5;
        BitConverter.TryWriteBytes(q.AsSpan(66 + 4 * 5), 15u << 28);
        float[] y = new float[256];
        TensorTypes.Dequantize(GgmlType.IQ3_XXS, q, y);
        Assert.Equal(-1.75f * 4, y[0]);
        Assert.Equal(1.75f * 4, y[1]);
        Assert.Equal(1.75f * 20, y[4]);
        Assert.Equal(-1.75f * 4, y[7]);
        Assert.Equal(1.75f * 4, y[8]);                 // group 1: indices 0, sign index 0
        Assert.Equal(7.75f * 62, y[160 + 16]);
        Assert.Equal(7.75f * 12, y[160 + 17]);
        Assert.Equal(7.75f * 4, y[160 + 19]);
        Assert.Equal(0.25f * 4, y[32]);                // sub-block 1: scale 0 → db = 0.25
    }

    public static TheoryData<int, int> TiersAndBlocks()
    {
        var data = new TheoryData<int, int>();
        foreach (SimdTier tier in new[] { SimdTier.Vector256, SimdTier.Vector512 })
        {
            foreach (int blocks in new[] { 0, 1, 3, 8 })
            {
                data.Add((int)tier, blocks);
            }
        }
        return data;
    }

    [Theory, MemberData(nameof(TiersAndBlocks))]
    public void DotIsBitExactAcrossTiers(int tier, int blocks)
    {
        byte[] w = RandomWeights(blocks, 300 + blocks);
        byte[] x = Q8_KTests.Quantize(TestData.Random(blocks * 256, 301 + blocks, 2f), SimdTier.Scalar);
        Assert.Equal(BitConverter.SingleToInt32Bits(Dot(w, x, blocks, SimdTier.Scalar)), BitConverter.SingleToInt32Bits(Dot(w, x, blocks, (SimdTier)tier)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void DotEqualsDecodedDotUpToRounding(int blocks)
    {
        byte[] w = RandomWeights(blocks, 310 + blocks);
        byte[] x = Q8_KTests.Quantize(TestData.Random(blocks * 256, 311 + blocks, 2f), SimdTier.Scalar);
        AssertCloseToDecodedDot(w, x, blocks, Dot(w, x, blocks, SimdTier.Scalar));
    }

    /// <summary>Largest magnitudes and scales, most negative activations: the int32 block sums must not overflow, and every tier agrees.</summary>
    [Fact]
    public void DotAtTheExtremesEqualsDecodedDot()
    {
        const int blocks = 2;
        byte[] w = new byte[blocks * BlockBytes];
        byte[] x = new byte[blocks * Q8_K.BlockBytes];
        for (int b = 0; b < blocks; b++)
        {
            BitConverter.TryWriteBytes(w.AsSpan(b * BlockBytes), F16.FromSingle(0.5f));
            w.AsSpan(b * BlockBytes + 2, 64).Fill(255);                      // 0x3e2c0404 … every grid has a 62
            for (int ib = 0; ib < 8; ib++)
            {
                BitConverter.TryWriteBytes(w.AsSpan(b * BlockBytes + 66 + 4 * ib), 0xF0000000u | (b == 0 ? 0u : 0x0FFFFFFFu));
            }
            BitConverter.TryWriteBytes(x.AsSpan(b * Q8_K.BlockBytes), 0.125f);
            x.AsSpan(b * Q8_K.BlockBytes + Q8_K.QsOffset, 256).Fill(0x80);
        }
        float scalar = Dot(w, x, blocks, SimdTier.Scalar);
        AssertCloseToDecodedDot(w, x, blocks, scalar);
        // The vector tiers put the signs on the weights: a −128 activation under a negative sign must still count.
        Assert.Equal(BitConverter.SingleToInt32Bits(scalar), BitConverter.SingleToInt32Bits(Dot(w, x, blocks, SimdTier.Vector256)));
        Assert.Equal(BitConverter.SingleToInt32Bits(scalar), BitConverter.SingleToInt32Bits(Dot(w, x, blocks, SimdTier.Vector512)));
    }

    /// <summary>
    /// The dot against Σ w·x over decoded values in double, within the rounding of the per-block scaling and of the
    /// decoding (a few roundings per product), relative to Σ |w·x|, plus the float sum over blocks.
    /// </summary>
    private static void AssertCloseToDecodedDot(byte[] w, byte[] x, int blocks, float dot)
    {
        float[] wd = new float[blocks * 256], xd = new float[blocks * 256];
        TensorTypes.Dequantize(GgmlType.IQ3_XXS, w, wd);
        Q8_K.Dequantize(x, xd);
        double exact = 0, sumAbs = 0;
        for (int i = 0; i < wd.Length; i++)
        {
            exact += (double)wd[i] * xd[i];
            sumAbs += Math.Abs((double)wd[i] * xd[i]);
        }
        double bound = 8 * TestData.U * sumAbs + TestData.SummationBound(blocks + 2, sumAbs);
        Assert.True(Math.Abs(dot - exact) <= bound, $"{dot} vs {exact} (bound {bound})");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public unsafe void MatMulRowsEqualsPerRowDot(int n)
    {
        const int rows = 7, cols = 512;
        int rowBytes = (int)TensorTypes.RowBytes(GgmlType.IQ3_XXS, cols);
        byte[] w = RandomWeights(rows * cols / 256, 320);
        float[] x = TestData.Random(n * cols, 321, 2f), y = new float[n * rows];
        fixed (byte* pw = w)
        {
            MatMul.MatMulRows(GgmlType.IQ3_XXS, pw, rows, cols, x, y, n);
            for (int i = 0; i < n; i++)
            {
                byte[] xq = Q8_KTests.Quantize(x[(i * cols)..((i + 1) * cols)], SimdCapabilities.Best);
                fixed (byte* px = xq)
                {
                    for (int r = 0; r < rows; r++)
                    {
                        float expected = IQ3_XXS.Dot(pw + r * rowBytes, px, cols / 256, SimdTier.Scalar);
                        Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(y[i * rows + r]));
                    }
                }
            }
        }
    }

    [Fact]
    public unsafe void BatchesFromTheGemmThresholdEqualTheExactProductOfWhatTheDotSeesWithinTheSummationBound()
    {
        // From MatMul.GemmThreshold tokens on, the weights are decoded (TypeTraits.Dequantize) into a float GEMM
        // against the decoded activation.
        const int rows = 5, cols = 512;
        int n = MatMul.GemmThreshold(GgmlType.IQ3_XXS) + 3;
        byte[] w = RandomWeights(rows * cols / 256, 330);
        float[] x = TestData.Random(n * cols, 331, 2f), y = new float[n * rows], decodedW = new float[rows * cols];
        TensorTypes.Dequantize(GgmlType.IQ3_XXS, w, decodedW);
        float[] seen = new float[x.Length];
        Q8_K.Dequantize(Q8_KTests.Quantize(x, SimdCapabilities.Best), seen);
        fixed (byte* pw = w)
        {
            MatMul.MatMulRows(GgmlType.IQ3_XXS, pw, rows, cols, x, y, n);
        }
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
                Assert.True(Math.Abs(y[i * rows + r] - exact) <= bound, $"y[{i}, {r}] = {y[i * rows + r]}, exact {exact}");
            }
        }
    }

    [Fact]
    public void IsRegisteredWritableWithQ8_KActivations()
    {
        Assert.True(TensorTypes.IsSupported(GgmlType.IQ3_XXS));
        // Written with and without an importance matrix (GgmlQuantizeTests and GgmlImportanceQuantizeTests pin the bytes).
        Assert.True(TensorTypes.CanEncode(GgmlType.IQ3_XXS));
        Assert.True(TensorTypes.CanEncodeWithImportance(GgmlType.IQ3_XXS));
        Assert.Equal(GgmlType.Q8_K, TypeTraits.For(GgmlType.IQ3_XXS).DotType);
        Assert.Equal(98L * 2, TensorTypes.RowBytes(GgmlType.IQ3_XXS, 512));
    }
}

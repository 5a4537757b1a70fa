using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

/// <summary>
/// IQ3_S: decoding of a block worked out by hand, the dot against the decoded values, the dot's AVX2 tiers against its scalar twin, and MatMul
/// on the type. Bit-exactness of the decoding (and so of the grid) with ggml's dequantize_row_iq3_s
/// is in the conformance tests (GgmlDequantizeTests).
/// </summary>
public class IQ3_STests
{
    private const int BlockBytes = IQ3_S.BlockBytes;

    /// <summary>Random blocks: every bit pattern of the indices, high bits, signs and 4-bit scales is legal; the half scale is finite.</summary>
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
            return IQ3_S.Dot(pw, px, blocks, tier);
        }
    }

    [Fact]
    public void DequantizeKnownBlock()
    {
        byte[] q = new byte[BlockBytes];
        BitConverter.TryWriteBytes(q.AsSpan(0), (ushort)0x3C00);  // d = 1
        // Sub-block 0: scale 2 → db = 1 + 2·2 = 5. Index 0 (qs 0, qh bit 0 clear): 0x01010101 → 1, 1, 1, 1;
        // index 1: qs 4 | qh bit 1 → 256 + 4 = 260. Signs of group 0: 0b1000_0010 negates elements 1 and 7.
        q[106] = 0xF2;                    // sub-block 0: scale 2; sub-block 1: scale 15 → db = 31
        q[2 + 1] = 4;
        q[66] = 0b10;
        q[74] = 0b1000_0010;
        // Sub-block 1, group 3, second index (k = 7): qs 3 (0x0101010b → 11, 1, 1, 1), qh bit 7 clear.
        q[2 + 8 + 7] = 3;
        float[] y = new float[256];
        TensorTypes.Dequantize(GgmlType.IQ3_S, q, y);
        uint g260 = Iq3Grids.Iq3sGrid[260];
        Assert.Equal(5f * 1, y[0]);
        Assert.Equal(-5f * 1, y[1]);
        for (int j = 0; j < 4; j++)
        {
            Assert.Equal(5f * ((g260 >> (8 * j)) & 0xFF) * (j == 3 ? -1 : 1), y[4 + j]);
        }
        Assert.Equal(31f * 11, y[32 + 28]);
        Assert.Equal(31f * 1, y[32 + 29]);
        Assert.Equal(1f, y[64]);                      // sub-block 2: scale 0 → db = 1
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
        byte[] w = RandomWeights(blocks, 400 + blocks);
        byte[] x = Q8_KTests.Quantize(TestData.Random(blocks * 256, 401 + blocks, 2f), SimdTier.Scalar);
        Assert.Equal(BitConverter.SingleToInt32Bits(Dot(w, x, blocks, SimdTier.Scalar)), BitConverter.SingleToInt32Bits(Dot(w, x, blocks, (SimdTier)tier)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void DotEqualsDecodedDotUpToRounding(int blocks)
    {
        byte[] w = RandomWeights(blocks, 410 + blocks);
        byte[] x = Q8_KTests.Quantize(TestData.Random(blocks * 256, 411 + blocks, 2f), SimdTier.Scalar);
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
            w.AsSpan(b * BlockBytes + 2, 64).Fill(255);                      // index 511 (0x0f0f0101) and, with qh, 255
            w.AsSpan(b * BlockBytes + 66, 8).Fill(b == 0 ? (byte)0xFF : (byte)0x55);
            w.AsSpan(b * BlockBytes + 74, 32).Fill(b == 0 ? (byte)0 : (byte)0xFF);
            w.AsSpan(b * BlockBytes + 106, 4).Fill(0xFF);                   // scale 15 → 31
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
        TensorTypes.Dequantize(GgmlType.IQ3_S, w, wd);
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
        int rowBytes = (int)TensorTypes.RowBytes(GgmlType.IQ3_S, cols);
        byte[] w = RandomWeights(rows * cols / 256, 420);
        float[] x = TestData.Random(n * cols, 421, 2f), y = new float[n * rows];
        fixed (byte* pw = w)
        {
            MatMul.MatMulRows(GgmlType.IQ3_S, pw, rows, cols, x, y, n);
            for (int i = 0; i < n; i++)
            {
                byte[] xq = Q8_KTests.Quantize(x[(i * cols)..((i + 1) * cols)], SimdCapabilities.Best);
                fixed (byte* px = xq)
                {
                    for (int r = 0; r < rows; r++)
                    {
                        float expected = IQ3_S.Dot(pw + r * rowBytes, px, cols / 256, SimdTier.Scalar);
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
        int n = MatMul.GemmThreshold(GgmlType.IQ3_S) + 3;
        byte[] w = RandomWeights(rows * cols / 256, 430);
        float[] x = TestData.Random(n * cols, 431, 2f), y = new float[n * rows], decodedW = new float[rows * cols];
        TensorTypes.Dequantize(GgmlType.IQ3_S, w, decodedW);
        float[] seen = new float[x.Length];
        Q8_K.Dequantize(Q8_KTests.Quantize(x, SimdCapabilities.Best), seen);
        fixed (byte* pw = w)
        {
            MatMul.MatMulRows(GgmlType.IQ3_S, pw, rows, cols, x, y, n);
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
        Assert.True(TensorTypes.IsSupported(GgmlType.IQ3_S));
        // Written with and without an importance matrix (GgmlQuantizeTests and GgmlImportanceQuantizeTests pin the bytes).
        Assert.True(TensorTypes.CanEncode(GgmlType.IQ3_S));
        Assert.True(TensorTypes.CanEncodeWithImportance(GgmlType.IQ3_S));
        Assert.Equal(GgmlType.Q8_K, TypeTraits.For(GgmlType.IQ3_S).DotType);
        Assert.Equal(110L * 2, TensorTypes.RowBytes(GgmlType.IQ3_S, 512));
    }
}

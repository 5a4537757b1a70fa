using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

public class IQ4_NLTests
{
    private static readonly SimdTier[] AllTiers = [SimdTier.Scalar, SimdTier.Vector256, SimdTier.Vector512];

    [Fact]
    public void DequantizeKnownBlock()
    {
        byte[] q = new byte[18];
        q[1] = 0x38;                                     // d = 0.5
        q[2] = 0xF0;                                     // element 0: level 0 = -127, element 16: level 15 = 113
        q[3] = 0x78;                                     // element 1: level 8 = 1, element 17: level 7 = -10
        q[4] = 0x3C;                                     // element 2: level 12 = 53, element 18: level 3 = -65
        for (int j = 3; j < 16; j++)
        {
            q[2 + j] = 0x99;                             // level 9 = 13 in both halves
        }
        float[] y = new float[32];
        TensorTypes.Dequantize(GgmlType.IQ4_NL, q, y);
        Assert.Equal(-63.5f, y[0]);
        Assert.Equal(56.5f, y[16]);
        Assert.Equal(0.5f, y[1]);
        Assert.Equal(-5f, y[17]);
        Assert.Equal(26.5f, y[2]);
        Assert.Equal(-32.5f, y[18]);
        for (int j = 3; j < 16; j++)
        {
            Assert.Equal(6.5f, y[j]);
            Assert.Equal(6.5f, y[j + 16]);
        }
    }

    [Fact]
    public void EveryNibbleSelectsItsLevel()
    {
        // Block b holds nibble b in every position, with d = 1: the decoded values are the codebook itself.
        sbyte[] levels = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];
        byte[] q = new byte[16 * 18];
        for (int b = 0; b < 16; b++)
        {
            q[b * 18 + 1] = 0x3C;
            q.AsSpan(b * 18 + 2, 16).Fill((byte)(b | (b << 4)));
        }
        float[] y = new float[16 * 32];
        TensorTypes.Dequantize(GgmlType.IQ4_NL, q, y);
        for (int b = 0; b < 16; b++)
        {
            Assert.All(y[(b * 32)..((b + 1) * 32)], v => Assert.Equal(levels[b], v));
        }
    }

    [Fact]
    public void TypeIsRegisteredWithQ8_0Activations()
    {
        Assert.True(TensorTypes.IsSupported(GgmlType.IQ4_NL));
        Assert.Equal(32, TensorTypes.BlockSize(GgmlType.IQ4_NL));
        Assert.Equal(18, TensorTypes.BlockBytes(GgmlType.IQ4_NL));
        Assert.Equal(GgmlType.Q8_0, TypeTraits.For(GgmlType.IQ4_NL).DotType);
        Assert.True(TensorTypes.CanEncode(GgmlType.IQ4_NL));
    }

    private const GgmlType Type = GgmlType.IQ4_NL;

    [Fact]
    public void RoundTripIsClose()
    {
        // 4-bit levels with a fitted scale: about 0.077 on gaussian data with this seed.
        double rel = TestData.RoundTripRelativeRms(Type, TestData.Gaussian(32 * 64, 5));
        Assert.True(rel < 0.1, $"relative RMS round-trip error {rel:F4}");
        rel = TestData.RoundTripRelativeRms(Type, TestData.Random(32 * 64, 6, 3f));
        Assert.True(rel < 0.15, $"relative RMS round-trip error {rel:F4} on mixed magnitudes");
    }

    [Fact]
    public void AllZeroBlockEncodesScaleZeroAndTheLevelNearestZero()
    {
        // ggml gives the block scale 0, then requantizes every weight with inverse scale 0: 0 is nearest level 8 (1).
        byte[] q = new byte[18];
        q.AsSpan().Fill(0x55);
        TensorTypes.Quantize(Type, new float[32], q);
        Assert.Equal(0, q[0] | q[1]);
        Assert.All(q[2..], b => Assert.Equal(0x88, b));
    }

    [Fact]
    public void ValuesOnAScaledCodebookRoundTripExactly()
    {
        // x = 0.5·Codebook[nibble]: one of the tried scales maps the extreme (−63.5) to −127 and fits exactly, so it wins.
        sbyte[] levels = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];
        float[] x = Enumerable.Range(0, 64).Select(i => 0.5f * levels[(i * 7) % 16]).ToArray();
        byte[] q = new byte[2 * 18];
        TensorTypes.Quantize(Type, x, q);
        float[] y = new float[x.Length];
        TensorTypes.Dequantize(Type, q, y);
        Assert.Equal(x, y);
    }

    [Fact]
    public unsafe void DotKnownValue()
    {
        // w: d = 1, element j has nibble j % 16; x: d = 0.5, all quants 1. The 32 levels sum to twice the codebook's
        // sum, 2·(-495 + 401) = -188 → -188 · 1 · 0.5 = -94.
        byte[] w = new byte[18], x = new byte[34];
        w[1] = 0x3C;
        for (int j = 0; j < 16; j++)
        {
            w[2 + j] = (byte)(j | (j << 4));
        }
        x[1] = 0x38;
        x.AsSpan(2).Fill(1);
        fixed (byte* pw = w, px = x)
        {
            foreach (SimdTier tier in AllTiers)
            {
                Assert.Equal(-94f, IQ4_NL.Dot(pw, px, 1, tier));
            }
        }
    }

    /// <summary>Random bytes (every nibble is a legal level) with a finite half d per block.</summary>
    internal static byte[] RandomWeights(int blocks, int seed)
    {
        var rng = new Random(seed);
        byte[] w = new byte[blocks * 18];
        rng.NextBytes(w);
        for (int b = 0; b < blocks; b++)
        {
            BitConverter.TryWriteBytes(w.AsSpan(b * 18), F16.FromSingle((float)(rng.NextDouble() - 0.5) * 0.02f));
        }
        return w;
    }

    private static byte[] Activation(int blocks, int seed) =>
        Block32DotChecks.QuantizeActivation(GgmlType.Q4_0, TestData.Random(blocks * 32, seed, 3f), SimdTier.Scalar);

    public static TheoryData<Tier, int> Cases() => TestData.VectorTiersAndBlockCounts();

    [Theory, MemberData(nameof(Cases))]
    public unsafe void DotIsBitExactAcrossTiers(Tier t, int blocks)
    {
        byte[] w = RandomWeights(blocks, 10 + blocks), a = Activation(blocks, 20 + blocks);
        fixed (byte* pw = w, pa = a)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(IQ4_NL.Dot(pw, pa, blocks, SimdTier.Scalar)),
                BitConverter.SingleToInt32Bits(IQ4_NL.Dot(pw, pa, blocks, (SimdTier)t)));
        }
    }

    [Theory]
    [InlineData(Tier.Vector256, 0xFF)]
    [InlineData(Tier.Vector512, 0xFF)]
    [InlineData(Tier.Vector256, 0x00)]
    [InlineData(Tier.Vector512, 0x00)]
    public unsafe void DotIsBitExactAcrossTiersAtTheExtremes(Tier t, byte fill)
    {
        // Every nibble at level 15 (113) or level 0 (-127), activation quants at -128 in block 0 and 127 in block 1
        // (-128 never comes from Q8_0's quantizer, but the kernel must not depend on that).
        const int blocks = 2;
        byte[] w = Enumerable.Repeat(fill, blocks * 18).ToArray(), a = new byte[blocks * 34];
        for (int b = 0; b < blocks; b++)
        {
            BitConverter.TryWriteBytes(w.AsSpan(b * 18), F16.FromSingle(0.5f));
            BitConverter.TryWriteBytes(a.AsSpan(b * 34), F16.FromSingle(0.125f));
            a.AsSpan(b * 34 + 2, 32).Fill(b == 0 ? (byte)0x80 : (byte)0x7F);
        }
        float level = fill == 0xFF ? 113f : -127f;
        float expected = 32 * 0.5f * 0.125f * level * (-128 + 127);
        fixed (byte* pw = w, pa = a)
        {
            float scalar = IQ4_NL.Dot(pw, pa, blocks, SimdTier.Scalar);
            Assert.Equal(expected, scalar);
            Assert.Equal(BitConverter.SingleToInt32Bits(scalar), BitConverter.SingleToInt32Bits(IQ4_NL.Dot(pw, pa, blocks, (SimdTier)t)));
        }
    }

    public static TheoryData<Tier, int> TiersWithScalar() => Block32DotChecks.TiersWithScalar();

    [Theory, MemberData(nameof(TiersWithScalar))]
    public unsafe void DotMatchesDequantizedProductInDouble(Tier t, int blocks)
    {
        byte[] w = RandomWeights(blocks, 30 + blocks), a = Activation(blocks, 40 + blocks);
        float[] wv = new float[blocks * 32];
        TensorTypes.Dequantize(GgmlType.IQ4_NL, w, wv);
        float[] xv = Block32DotChecks.DequantizeActivation(GgmlType.Q4_0, a);
        double exact = 0, magnitude = 0;
        for (int j = 0; j < wv.Length; j++)
        {
            exact += (double)wv[j] * xv[j];
            magnitude += Math.Abs((double)wv[j] * xv[j]);
        }
        fixed (byte* pw = w, pa = a)
        {
            float value = IQ4_NL.Dot(pw, pa, blocks, (SimdTier)t);
            // Decoded weights are exact (half d times a level of 7 bits); the dot rounds d_w·d_x, one fused step per
            // block and lane, and the final lane sums.
            double bound = (blocks + 4) * 4 * TestData.U * magnitude;
            Assert.True(Math.Abs(value - exact) <= bound, $"{value} vs {exact}");
        }
    }

    [Theory, MemberData(nameof(TiersWithScalar))]
    public unsafe void FourTokenDotEqualsSingleDotsBitForBit(Tier t, int blocks)
    {
        var tier = (SimdTier)t;
        long stride = blocks * 34 + 3 * 34;   // activation rows further apart than one row, as in a batch
        byte[] w = RandomWeights(blocks, 50 + blocks), a = new byte[4 * stride];
        for (int i = 0; i < 4; i++)
        {
            byte[] row = Activation(blocks, 60 + i);
            if (i == 2 && blocks > 0)
            {
                row.AsSpan(2, 32).Fill(0x80);
            }
            row.CopyTo(a, i * stride);
        }
        float[] y = new float[4 * 5];
        fixed (byte* pw = w, pa = a)
        fixed (float* py = y)
        {
            IQ4_NL.Dot4(pw, pa, stride, blocks, py, 5, tier);
            for (int i = 0; i < 4; i++)
            {
                Assert.Equal(BitConverter.SingleToInt32Bits(IQ4_NL.Dot(pw, pa + i * stride, blocks, tier)), BitConverter.SingleToInt32Bits(y[i * 5]));
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public unsafe void MatMulRowsEqualsPerRowDot(int n)
    {
        const int rows = 7, cols = 128;
        int rowBytes = (int)TensorTypes.RowBytes(GgmlType.IQ4_NL, cols);
        byte[] w = RandomWeights(rows * cols / 32, 70);
        float[] x = TestData.Random(n * cols, 71, 2f), y = new float[n * rows];
        fixed (byte* pw = w)
        {
            MatMul.MatMulRows(GgmlType.IQ4_NL, pw, rows, cols, x, y, n);
            for (int i = 0; i < n; i++)
            {
                byte[] a = Block32DotChecks.QuantizeActivation(GgmlType.Q4_0, x[(i * cols)..((i + 1) * cols)], SimdCapabilities.Best);
                fixed (byte* pa = a)
                {
                    for (int r = 0; r < rows; r++)
                    {
                        float expected = IQ4_NL.Dot(pw + r * rowBytes, pa, cols / 32, SimdTier.Scalar);
                        Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(y[i * rows + r]));
                    }
                }
            }
        }
    }

    [Fact]
    public unsafe void BatchesFromTheGemmThresholdEqualTheExactProductOfWhatTheDotSeesWithinTheSummationBound()
    {
        // From MatMul.GemmThreshold tokens on, the weights are decoded into a float GEMM against the decoded activation.
        const int rows = 5, cols = 96;
        int n = MatMul.GemmThreshold(GgmlType.IQ4_NL) + 3;
        byte[] w = RandomWeights(rows * cols / 32, 80);
        float[] x = TestData.Random(n * cols, 81, 2f), y = new float[n * rows], decodedW = new float[rows * cols];
        TensorTypes.Dequantize(GgmlType.IQ4_NL, w, decodedW);
        float[] seen = Block32DotChecks.DequantizeActivation(GgmlType.Q4_0, Block32DotChecks.QuantizeActivation(GgmlType.Q4_0, x, SimdCapabilities.Best));
        fixed (byte* pw = w)
        {
            MatMul.MatMulRows(GgmlType.IQ4_NL, pw, rows, cols, x, y, n);
        }
        MatMulGemmPathTests.AssertWithinSummationBoundOfExactProduct(GgmlType.IQ4_NL, decodedW, seen, y, rows, cols, n);
    }
}

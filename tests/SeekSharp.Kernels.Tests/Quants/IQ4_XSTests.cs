using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

public class IQ4_XSTests
{
    private const int BlockBytes = 136;
    private static readonly SimdTier[] AllTiers = [SimdTier.Scalar, SimdTier.Vector256, SimdTier.Vector512];

    /// <summary>Writes the 6-bit scale <paramref name="ls"/> of sub-block <paramref name="ib"/> into the block at <paramref name="at"/>.</summary>
    private static void SetScale(byte[] w, int at, int ib, int ls)
    {
        int h = BitConverter.ToUInt16(w, at + 2);
        h = (h & ~(3 << (2 * ib))) | ((ls >> 4) << (2 * ib));
        BitConverter.TryWriteBytes(w.AsSpan(at + 2), (ushort)h);
        int shift = 4 * (ib % 2);
        w[at + 4 + ib / 2] = (byte)((w[at + 4 + ib / 2] & ~(0xF << shift)) | ((ls & 0xF) << shift));
    }

    [Fact]
    public void DequantizeKnownBlock()
    {
        byte[] q = new byte[BlockBytes];
        q[1] = 0x38;                                     // d = 0.5
        // Sub-block scales ls: 0 → 33 (×1), 1 → 30 (×-2), 7 → 63 (×31), the rest 32 (×0), written by hand:
        // scales_l = [1 | 14 << 4, 0, 0, 15 << 4]; scales_h holds the high bits 2, 1, 2, 2, 2, 2, 2, 3.
        q[2] = 0xA6;                                     // 2 | 1 << 2 | 2 << 4 | 2 << 6
        q[3] = 0xEA;                                     // 2 | 2 << 2 | 2 << 4 | 3 << 6
        q[4] = 0xE1;
        q[7] = 0xF0;
        q.AsSpan(8).Fill(0x88);                          // level 8 = 1 everywhere else
        q[8] = 0xF0;                                     // sub-block 0: element 0 level -127, element 16 level 113
        q[8 + 16] = 0x0F;                                // sub-block 1: element 32 level 113, element 48 level -127
        q[8 + 16 * 7 + 5] = 0x9C;                        // sub-block 7: element 229 level 53, element 245 level 13
        float[] y = new float[256];
        TensorTypes.Dequantize(GgmlType.IQ4_XS, q, y);
        Assert.Equal(-63.5f, y[0]);                      // 0.5·1·-127
        Assert.Equal(56.5f, y[16]);
        Assert.Equal(0.5f, y[1]);
        Assert.Equal(-113f, y[32]);                      // 0.5·-2·113
        Assert.Equal(127f, y[48]);
        Assert.Equal(-1f, y[33]);
        Assert.Equal(821.5f, y[229]);                    // 0.5·31·53
        Assert.Equal(201.5f, y[245]);                    // 0.5·31·13
        Assert.Equal(15.5f, y[224]);
        for (int j = 64; j < 224; j++)
        {
            Assert.Equal(0f, y[j]);
        }
    }

    [Fact]
    public void ScaleBitsFollowTheLayout()
    {
        // One sub-block at a time gets each 6-bit scale; the decoded values of level 8 (= 1) with d = 1 are ls - 32
        // there and 0 (ls = 32) elsewhere.
        for (int ib = 0; ib < 8; ib++)
        {
            foreach (int ls in new[] { 0, 1, 17, 32, 46, 63 })
            {
                byte[] q = new byte[BlockBytes];
                q[1] = 0x3C;
                q.AsSpan(8).Fill(0x88);
                for (int k = 0; k < 8; k++)
                    SetScale(q, 0, k, k == ib ? ls : 32);
                float[] y = new float[256];
                TensorTypes.Dequantize(GgmlType.IQ4_XS, q, y);
                for (int j = 0; j < 256; j++)
                    Assert.Equal(j / 32 == ib ? ls - 32 : 0, y[j]);
            }
        }
    }

    [Fact]
    public void TypeIsRegisteredWithQ8_KActivations()
    {
        Assert.True(TensorTypes.IsSupported(GgmlType.IQ4_XS));
        Assert.Equal(256, TensorTypes.BlockSize(GgmlType.IQ4_XS));
        Assert.Equal(BlockBytes, TensorTypes.BlockBytes(GgmlType.IQ4_XS));
        Assert.Equal(GgmlType.Q8_K, TypeTraits.For(GgmlType.IQ4_XS).DotType);
        Assert.Throws<ArgumentException>(() => TensorTypes.RowBytes(GgmlType.IQ4_XS, 128));
        Assert.True(TensorTypes.CanEncode(GgmlType.IQ4_XS));
    }

    private const GgmlType Type = GgmlType.IQ4_XS;

    /// <summary>Relative RMS error of quantizing <paramref name="x"/> and reading it back.</summary>
    private static double RoundTripRelativeRms(float[] x)
    {
        byte[] q = new byte[TensorTypes.RowBytes(Type, x.Length)];
        TensorTypes.Quantize(Type, x, q);
        float[] y = new float[x.Length];
        TensorTypes.Dequantize(Type, q, y);
        double err = 0, norm = 0;
        for (int i = 0; i < x.Length; i++)
        {
            err += (y[i] - x[i]) * (double)(y[i] - x[i]);
            norm += x[i] * (double)x[i];
        }
        return Math.Sqrt(err / norm);
    }

    /// <summary>Gaussian values, smooth in distribution (no outliers beyond the normal tail), deterministic per seed.</summary>
    private static float[] Gaussian(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()))).ToArray();
    }

    [Fact]
    public void RoundTripIsClose()
    {
        // 4-bit levels with a fitted scale: about 0.077 on gaussian data with this seed.
        double rel = RoundTripRelativeRms(Gaussian(256 * 8, 5));
        Assert.True(rel < 0.1, $"relative RMS round-trip error {rel:F4}");
        rel = RoundTripRelativeRms(TestData.Random(256 * 8, 6, 3f));
        Assert.True(rel < 0.15, $"relative RMS round-trip error {rel:F4} on mixed magnitudes");
    }

    [Fact]
    public void AllZeroSuperBlockEncodesAsGgmlDoes()
    {
        // Every sub-block fit gives 0, so d = −0/32 = −0 (half 0x8000); each sub-block scale codes 0 + 32 (scales_h
        // 0b10 per sub-block, scales_l 0), and inverse scale 0 picks level 8 (1), the one nearest 0, for every weight.
        byte[] q = new byte[BlockBytes];
        q.AsSpan().Fill(0x55);
        TensorTypes.Quantize(Type, new float[256], q);
        Assert.Equal(0x8000, BitConverter.ToUInt16(q, 0));
        Assert.Equal(0xAAAA, BitConverter.ToUInt16(q, 2));
        Assert.All(q[4..8], b => Assert.Equal(0, b));
        Assert.All(q[8..], b => Assert.Equal(0x88, b));
        float[] y = new float[256];
        TensorTypes.Dequantize(Type, q, y);
        Assert.All(y, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void ValuesOnAScaledCodebookRoundTripExactly()
    {
        // Sub-block ib holds 2^-ib·0.5·Codebook[nibble] with −127 present: sub-block 0's fit is 0.5 exactly, d = −0.5/32,
        // and sub-block ib's scale codes as −32·2^-ib, exact for ib ≤ 5; the last two (−0.5 and −0.25) round to code 0
        // on the 6-bit grid and read back as zeros.
        sbyte[] levels = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];
        float[] x = Enumerable.Range(0, 256).Select(i => MathF.ScaleB(0.5f, -(i / 32)) * levels[(i * 7) % 16]).ToArray();
        byte[] q = new byte[BlockBytes];
        TensorTypes.Quantize(Type, x, q);
        float[] y = new float[x.Length];
        TensorTypes.Dequantize(Type, q, y);
        Assert.Equal(x[..192], y[..192]);
        Assert.All(y[192..], v => Assert.Equal(0f, v));
    }

    [Fact]
    public unsafe void DotKnownValue()
    {
        // w: d = 1, every scale 33 (×1), element j of each sub-block has nibble j % 16; x: d = 0.25, all quants 2.
        // Each sub-block's levels sum to 2·(-94), so the dot is 8 · -188 · 2 · 0.25 = -752.
        byte[] w = new byte[BlockBytes], x = new byte[Q8_K.BlockBytes];
        w[1] = 0x3C;
        for (int ib = 0; ib < 8; ib++)
        {
            SetScale(w, 0, ib, 33);
            for (int j = 0; j < 16; j++)
                w[8 + 16 * ib + j] = (byte)(j | (j << 4));
        }
        BitConverter.TryWriteBytes(x.AsSpan(0), 0.25f);
        x.AsSpan(Q8_K.QsOffset, 256).Fill(2);
        fixed (byte* pw = w, px = x)
        {
            foreach (SimdTier tier in AllTiers)
            {
                Assert.Equal(-752f, IQ4_XS.Dot(pw, px, 1, tier));
            }
        }
    }

    /// <summary>Random bytes (every nibble and 6-bit scale is legal) with a finite half d per super-block.</summary>
    private static byte[] RandomWeights(int blocks, int seed)
    {
        var rng = new Random(seed);
        byte[] w = new byte[blocks * BlockBytes];
        rng.NextBytes(w);
        for (int b = 0; b < blocks; b++)
        {
            BitConverter.TryWriteBytes(w.AsSpan(b * BlockBytes), F16.FromSingle((float)(rng.NextDouble() - 0.5) * 0.002f));
        }
        return w;
    }

    private static byte[] Activation(int blocks, int seed) => Q8_KTests.Quantize(TestData.Random(blocks * 256, seed, 2f), SimdTier.Scalar);

    public static TheoryData<Tier, int> Cases()
    {
        var data = new TheoryData<Tier, int>();
        foreach (Tier tier in new[] { Tier.Vector256, Tier.Vector512 })
        {
            foreach (int blocks in new[] { 0, 1, 2, 3, 5, 8 })
            {
                data.Add(tier, blocks);
            }
        }
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public unsafe void DotIsBitExactAcrossTiers(Tier t, int blocks)
    {
        byte[] w = RandomWeights(blocks, 10 + blocks), x = Activation(blocks, 20 + blocks);
        fixed (byte* pw = w, px = x)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(IQ4_XS.Dot(pw, px, blocks, SimdTier.Scalar)),
                BitConverter.SingleToInt32Bits(IQ4_XS.Dot(pw, px, blocks, (SimdTier)t)));
        }
    }

    [Theory]
    [InlineData(Tier.Vector256, 0xFF)]
    [InlineData(Tier.Vector512, 0xFF)]
    [InlineData(Tier.Vector256, 0x00)]
    [InlineData(Tier.Vector512, 0x00)]
    public unsafe void DotIsBitExactAcrossTiersAtTheExtremes(Tier t, byte fill)
    {
        // All bytes 0xFF (scale 63 → ×31, level 113) or 0x00 (scale 0 → ×-32, level -127), d = 0.5; activation quants
        // -128 in super-block 0 (Q8_K's quantizer produces it) and 127 in super-block 1. With 0x00 every lane is at
        // its largest magnitude, 8·32·4·127·128.
        const int blocks = 2;
        byte[] w = Enumerable.Repeat(fill, blocks * BlockBytes).ToArray(), x = new byte[blocks * Q8_K.BlockBytes];
        for (int b = 0; b < blocks; b++)
        {
            BitConverter.TryWriteBytes(w.AsSpan(b * BlockBytes), F16.FromSingle(0.5f));
            BitConverter.TryWriteBytes(x.AsSpan(b * Q8_K.BlockBytes), 0.125f);
            x.AsSpan(b * Q8_K.BlockBytes + Q8_K.QsOffset, 256).Fill(b == 0 ? (byte)0x80 : (byte)0x7F);
            for (int g = 0; g < 16; g++)
                BitConverter.TryWriteBytes(x.AsSpan(b * Q8_K.BlockBytes + Q8_K.BsumsOffset + 2 * g), (short)(b == 0 ? -128 * 16 : 127 * 16));
        }
        float scaledLevel = fill == 0xFF ? 31f * 113f : -32f * -127f;
        float expected = 256 * 0.5f * 0.125f * scaledLevel * (-128 + 127);
        fixed (byte* pw = w, px = x)
        {
            float scalar = IQ4_XS.Dot(pw, px, blocks, SimdTier.Scalar);
            Assert.Equal(expected, scalar);
            Assert.Equal(BitConverter.SingleToInt32Bits(scalar), BitConverter.SingleToInt32Bits(IQ4_XS.Dot(pw, px, blocks, (SimdTier)t)));
        }
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(0, 4)]
    [InlineData(1, 1)]
    [InlineData(1, 4)]
    [InlineData(2, 4)]
    public unsafe void DotEqualsDequantizedDotUpToRounding(int tier, int blocks)
    {
        byte[] w = RandomWeights(blocks, 30 + blocks), x = Activation(blocks, 40 + blocks);
        float[] wv = new float[blocks * 256], xv = new float[blocks * 256];
        TensorTypes.Dequantize(GgmlType.IQ4_XS, w, wv);
        Q8_K.Dequantize(x, xv);
        double exact = 0, sumAbs = 0;
        for (int i = 0; i < wv.Length; i++)
        {
            exact += (double)wv[i] * xv[i];
            sumAbs += Math.Abs((double)wv[i] * xv[i]);
        }
        fixed (byte* pw = w, px = x)
        {
            float dot = IQ4_XS.Dot(pw, px, blocks, (SimdTier)tier);
            // Decoded weights are exact (half d times a 6-bit scale times a 7-bit level); the dot rounds y_d·d once per
            // super-block, then one fused step per super-block and lane and the final lane sums.
            double bound = 8 * TestData.U * sumAbs + TestData.SummationBound(2 * blocks + 2, sumAbs);
            Assert.True(Math.Abs(dot - exact) <= bound, $"{dot} vs {exact} (bound {bound})");
        }
    }

    public static TheoryData<int, int> TiersWithScalarAndBlocks()
    {
        var data = new TheoryData<int, int>();
        foreach (SimdTier tier in AllTiers)
        {
            foreach (int blocks in new[] { 0, 1, 3 })
            {
                data.Add((int)tier, blocks);
            }
        }
        return data;
    }

    [Theory, MemberData(nameof(TiersWithScalarAndBlocks))]
    public unsafe void FourTokenDotEqualsSingleDotsBitForBit(int t, int blocks)
    {
        var tier = (SimdTier)t;
        long stride = blocks * Q8_K.BlockBytes + 100;   // activation rows further apart than one row, as in a batch
        byte[] w = RandomWeights(blocks, 50 + blocks), x = new byte[4 * stride];
        for (int i = 0; i < 4; i++)
        {
            byte[] row = Activation(blocks, 60 + i);
            if (i == 3 && blocks > 0)
            {
                row.AsSpan(Q8_K.QsOffset, 32).Fill(0x80);   // extreme activation quants in one token
            }
            row.CopyTo(x, i * stride);
        }
        float[] y = new float[4 * 3];
        fixed (byte* pw = w, px = x)
        fixed (float* py = y)
        {
            IQ4_XS.Dot4(pw, px, stride, blocks, py, 3, tier);
            for (int i = 0; i < 4; i++)
            {
                Assert.Equal(BitConverter.SingleToInt32Bits(IQ4_XS.Dot(pw, px + i * stride, blocks, tier)), BitConverter.SingleToInt32Bits(y[i * 3]));
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public unsafe void MatMulRowsEqualsPerRowDot(int n)
    {
        const int rows = 7, cols = 512;
        int rowBytes = (int)TensorTypes.RowBytes(GgmlType.IQ4_XS, cols);
        byte[] w = RandomWeights(rows * cols / 256, 70);
        float[] x = TestData.Random(n * cols, 71, 2f), y = new float[n * rows];
        fixed (byte* pw = w)
        {
            MatMul.MatMulRows(GgmlType.IQ4_XS, pw, rows, cols, x, y, n);
            for (int i = 0; i < n; i++)
            {
                byte[] xq = Q8_KTests.Quantize(x[(i * cols)..((i + 1) * cols)], SimdCapabilities.Best);
                fixed (byte* px = xq)
                {
                    for (int r = 0; r < rows; r++)
                    {
                        float expected = IQ4_XS.Dot(pw + r * rowBytes, px, cols / 256, SimdTier.Scalar);
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
        const int rows = 5, cols = 512;
        int n = MatMul.GemmThreshold(GgmlType.IQ4_XS) + 3;
        byte[] w = RandomWeights(rows * cols / 256, 80);
        float[] x = TestData.Random(n * cols, 81, 2f), y = new float[n * rows], decodedW = new float[rows * cols];
        TensorTypes.Dequantize(GgmlType.IQ4_XS, w, decodedW);
        float[] seen = new float[x.Length];
        Q8_K.Dequantize(Q8_KTests.Quantize(x, SimdCapabilities.Best), seen);
        fixed (byte* pw = w)
        {
            MatMul.MatMulRows(GgmlType.IQ4_XS, pw, rows, cols, x, y, n);
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
}

using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

/// <summary>
/// Q2_K: decoding of a block worked out by hand, the dot's tiers against its scalar twin, the dot against the decoded
/// values, the four-token dot against single dots, MatMul on the type, and the quantizer's round trip. Bit-exactness
/// of the decoding with ggml's dequantize_row_q2_K, of the encoding with quantize_row_q2_K_ref, and logits against
/// llama.cpp are in the conformance tests.
/// </summary>
public class Q2_KTests
{
    private const int BlockBytes = Q2_K.BlockBytes;

    /// <summary>Random blocks: every bit pattern of the quants and 4-bit scales is legal; the half scales are finite.</summary>
    internal static byte[] RandomWeights(int blocks, int seed)
    {
        var rng = new Random(seed);
        byte[] w = new byte[blocks * BlockBytes];
        rng.NextBytes(w);
        for (int b = 0; b < blocks; b++)
        {
            BitConverter.TryWriteBytes(w.AsSpan(b * BlockBytes + 80), F16.FromSingle((float)rng.NextDouble() * 0.01f));
            BitConverter.TryWriteBytes(w.AsSpan(b * BlockBytes + 82), F16.FromSingle((float)rng.NextDouble() * 0.01f));
        }
        return w;
    }

    private static unsafe float Dot(byte[] w, byte[] x, int blocks, SimdTier tier)
    {
        fixed (byte* pw = w, px = x)
        {
            return Q2_K.Dot(pw, px, blocks, tier);
        }
    }

    [Fact]
    public void DequantizeKnownBlock()
    {
        byte[] q = new byte[BlockBytes];
        for (int g = 0; g < 16; g++)
        {
            q[g] = (byte)((g + 1) & 0xF | (15 - g) << 4);   // group g: scale g + 1 (16 wraps to 0), minimum 15 − g
        }
        q[16 + 0] = 0b11_10_01_00;     // elements 0, 32, 64, 96: quants 0, 1, 2, 3
        q[16 + 16] = 0b00_00_00_11;    // element 16 (group 1): 3
        q[16 + 32 + 5] = 0b01_00_00_00; // element 128 + 96 + 5 (group 14): 1
        BitConverter.TryWriteBytes(q.AsSpan(80), (ushort)0x3800);   // d = 0.5
        BitConverter.TryWriteBytes(q.AsSpan(82), (ushort)0x3400);   // dmin = 0.25
        float[] y = new float[256];
        TensorTypes.Dequantize(GgmlType.Q2_K, q, y);
        Assert.Equal(0.5f * 1 * 0 - 0.25f * 15, y[0]);
        Assert.Equal(0.5f * 3 * 1 - 0.25f * 13, y[32]);
        Assert.Equal(0.5f * 5 * 2 - 0.25f * 11, y[64]);
        Assert.Equal(0.5f * 7 * 3 - 0.25f * 9, y[96]);
        Assert.Equal(0.5f * 2 * 3 - 0.25f * 14, y[16]);
        Assert.Equal(0.5f * 15 * 1 - 0.25f * 1, y[128 + 96 + 5]);
        Assert.Equal(0.5f * 0 * 0 - 0.25f * 0, y[255]);      // group 15: scale 16 & 0xF = 0, minimum 0
        Assert.Equal(-0.25f * 15, y[1]);
    }

    public static TheoryData<int, int> TiersAndBlocks()
    {
        var data = new TheoryData<int, int>();
        foreach (SimdTier tier in new[] { SimdTier.Vector256, SimdTier.Vector512 })
        {
            foreach (int blocks in new[] { 0, 1, 3, 5 })
            {
                data.Add((int)tier, blocks);
            }
        }
        return data;
    }

    [Theory, MemberData(nameof(TiersAndBlocks))]
    public void DotIsBitExactAcrossTiers(int tier, int blocks)
    {
        byte[] w = RandomWeights(blocks, 200 + blocks);
        byte[] x = Q8_KTests.Quantize(TestData.Random(blocks * 256, 201 + blocks, 2f), SimdTier.Scalar);
        Assert.Equal(Dot(w, x, blocks, SimdTier.Scalar), Dot(w, x, blocks, (SimdTier)tier));
    }

    [Theory]
    [InlineData((int)SimdTier.Vector256)]
    [InlineData((int)SimdTier.Vector512)]
    public void DotIsBitExactAcrossTiersAtTheExtremes(int tier)
    {
        const int blocks = 2;
        byte[] w = Enumerable.Repeat((byte)0xFF, blocks * BlockBytes).ToArray();
        byte[] x = new byte[blocks * Q8_K.BlockBytes];
        for (int b = 0; b < blocks; b++)
        {
            BitConverter.TryWriteBytes(w.AsSpan(b * BlockBytes + 80), F16.FromSingle(0.5f));
            BitConverter.TryWriteBytes(w.AsSpan(b * BlockBytes + 82), F16.FromSingle(0.25f));
            BitConverter.TryWriteBytes(x.AsSpan(b * Q8_K.BlockBytes), 0.125f);
            x.AsSpan(b * Q8_K.BlockBytes + Q8_K.QsOffset, 256).Fill((byte)(b == 0 ? 0x80 : 0x7F));
            for (int g = 0; g < 16; g++)
            {
                BitConverter.TryWriteBytes(x.AsSpan(b * Q8_K.BlockBytes + Q8_K.BsumsOffset + 2 * g), (short)(b == 0 ? -128 * 16 : 127 * 16));
            }
        }
        float scalar = Dot(w, x, blocks, SimdTier.Scalar);
        Assert.Equal(scalar, Dot(w, x, blocks, (SimdTier)tier));
        AssertCloseToDecodedDot(w, x, blocks, scalar);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void DotEqualsDecodedDotUpToRounding(int blocks)
    {
        byte[] w = RandomWeights(blocks, 210 + blocks);
        byte[] x = Q8_KTests.Quantize(TestData.Random(blocks * 256, 211 + blocks, 2f), SimdTier.Scalar);
        AssertCloseToDecodedDot(w, x, blocks, Dot(w, x, blocks, SimdTier.Scalar));
    }

    /// <summary>
    /// The dot against Σ w·x over decoded values in double, within the rounding of the two per-block scalings (which
    /// may nearly cancel) and of the decoding (two roundings per weight): relative to Σ (|d·scale·q| + |dmin·min|)·|x|.
    /// </summary>
    private static void AssertCloseToDecodedDot(byte[] w, byte[] x, int blocks, float dot)
    {
        float[] wd = new float[blocks * 256], xd = new float[blocks * 256];
        TensorTypes.Dequantize(GgmlType.Q2_K, w, wd);
        Q8_K.Dequantize(x, xd);
        byte[] scalesOnly = (byte[])w.Clone(), minsOnly = (byte[])w.Clone();
        for (int b = 0; b < blocks; b++)
        {
            BitConverter.TryWriteBytes(scalesOnly.AsSpan(b * BlockBytes + 82), (ushort)0);
            BitConverter.TryWriteBytes(minsOnly.AsSpan(b * BlockBytes + 80), (ushort)0);
        }
        float[] sp = new float[wd.Length], mp = new float[wd.Length];
        TensorTypes.Dequantize(GgmlType.Q2_K, scalesOnly, sp);
        TensorTypes.Dequantize(GgmlType.Q2_K, minsOnly, mp);
        double exact = 0, sumAbs = 0;
        for (int i = 0; i < wd.Length; i++)
        {
            exact += (double)wd[i] * xd[i];
            sumAbs += (Math.Abs(sp[i]) + Math.Abs(mp[i])) * (double)Math.Abs(xd[i]);
        }
        double bound = 8 * TestData.U * sumAbs + TestData.SummationBound(2 * blocks + 2, sumAbs);
        Assert.True(Math.Abs(dot - exact) <= bound, $"{dot} vs {exact} (bound {bound})");
    }

    [Theory]
    [InlineData((int)SimdTier.Scalar, 3)]
    [InlineData((int)SimdTier.Vector256, 1)]
    [InlineData((int)SimdTier.Vector256, 3)]
    [InlineData((int)SimdTier.Vector512, 3)]
    public unsafe void FourTokenDotEqualsSingleDots(int tier, int blocks)
    {
        byte[] w = RandomWeights(blocks, 220 + blocks);
        long stride = blocks * Q8_K.BlockBytes + 100;
        byte[] x = new byte[4 * stride];
        for (int t = 0; t < 4; t++)
        {
            Q8_KTests.Quantize(TestData.Random(blocks * 256, 221 + t, 2f), SimdTier.Scalar).CopyTo(x, t * stride);
        }
        float[] y = new float[4 * 3];
        fixed (byte* pw = w, px = x)
        fixed (float* py = y)
        {
            Q2_K.Dot4(pw, px, stride, blocks, py, 3, (SimdTier)tier);
        }
        for (int t = 0; t < 4; t++)
        {
            float single = Dot(w, x[(int)(t * stride)..], blocks, (SimdTier)tier);
            Assert.Equal(BitConverter.SingleToInt32Bits(single), BitConverter.SingleToInt32Bits(y[t * 3]));
        }
    }

    [Theory]
    [InlineData(Tier.Vector256)]
    [InlineData(Tier.Vector512)]
    public unsafe void MatMulGivesTheDotOfEveryRowAndToken(Tier tier)
    {
        const int rows = 7, cols = 512;
        byte[] w = RandomWeights(rows * cols / 256, 230);
        int rowBytes = (int)TensorTypes.RowBytes(GgmlType.Q2_K, cols);
        foreach (int n in new[] { 1, 2, 5, 9 })
        {
            float[] x = TestData.Random(n * cols, 231 + n, 2f);
            float[] y = new float[n * rows], yScalar = new float[n * rows];
            fixed (byte* pw = w)
            {
                MatMul.Multiply(GgmlType.Q2_K, pw, rows, cols, x, y, n, (SimdTier)tier, parallel: true);
                MatMul.Multiply(GgmlType.Q2_K, pw, rows, cols, x, yScalar, n, SimdTier.Scalar, parallel: false);
            }
            Assert.Equal(yScalar, y);
            for (int i = 0; i < n; i++)
            {
                byte[] xq = Q8_KTests.Quantize(x[(i * cols)..((i + 1) * cols)], SimdTier.Scalar);
                for (int r = 0; r < rows; r++)
                {
                    Assert.Equal(Dot(w[(r * rowBytes)..((r + 1) * rowBytes)], xq, cols / 256, SimdTier.Scalar), yScalar[i * rows + r]);
                }
            }
        }
    }

    [Fact]
    public void IsRegisteredWithAQuantizer()
    {
        Assert.True(TensorTypes.IsSupported(GgmlType.Q2_K));
        Assert.True(TensorTypes.CanEncode(GgmlType.Q2_K));
        Assert.Equal(84L * 2, TensorTypes.RowBytes(GgmlType.Q2_K, 512));
    }

    /// <summary>ggml's quantize_row_q2_K_ref writes an all-zero block as zero bytes (d = dmin = 0, levels 0).</summary>
    [Fact]
    public void ZeroBlockQuantizesToZeroBytes()
    {
        byte[] q = Enumerable.Repeat((byte)0xAA, BlockBytes).ToArray();
        TensorTypes.Quantize(GgmlType.Q2_K, new float[256], q);
        Assert.All(q, b => Assert.Equal(0, b));
    }

    /// <summary>
    /// Round trip of random data: relative RMS error below a bound a swapped nibble, scale or minimum would break
    /// (errors of order one). Two bits per weight fit coarsely; bit-exactness with ggml's quantizer is in the
    /// conformance tests.
    /// </summary>
    [Fact]
    public void RoundTripIsClose()
    {
        double rel = TestData.RoundTripRelativeRms(GgmlType.Q2_K, TestData.Random(256 * 8, 99, 3f));
        Assert.True(rel < 0.45, $"Q2_K relative RMS round-trip error {rel:F4} ≥ 0.45"); // 0.373 measured
    }
}

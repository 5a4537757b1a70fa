using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

/// <summary>
/// Q3_K: decoding against values worked out from the block layout, the dot's tiers against its scalar twin bit for
/// bit, the dot's lanes against llama.cpp's, the dot against the decoded values, the four-token dot against single
/// dots, MatMul on Q3_K rows (batches of five: one four-token dot and one single dot per row), and the quantizer's
/// round trip. The dot tests use random bytes as weights (every bit pattern of quants, hmask and scales is legal),
/// which reach more patterns than the quantizer writes.
/// </summary>
public class Q3_KTests
{
    private const int BlockBytes = 110;

    [Fact]
    public void DequantizeKnownBlock()
    {
        byte[] q = new byte[BlockBytes];
        q[109] = 0x38;                 // d = 0.5, stored last
        // Group scales are 6 bits minus 32; all-zero bytes give −32.
        q[96 + 0] = 0x04;              // group 0: low nibble 4 ...
        q[96 + 8] = 0b10;              // ... top bits 2 (scales[8] bits 0-1) → 36 − 32 = 4
        q[96 + 5] = 0x0F;              // group 5: low nibble 15 ...
        q[96 + 9] = 0b11 << 2;         // ... top bits 3 (scales[9] bits 2-3) → 63 − 32 = 31
        q[96 + 7] = 0xB0;              // group 15: low nibble 11 (high nibble of scales[7]) ...
        q[96 + 11] = 0b10 << 6;        // ... top bits 2 (scales[11] bits 6-7) → 43 − 32 = 11
        q[32 + 0] = 0b10_00_01_11;     // qs[0]: low bits of elements 0 (3), 32 (1), 64 (0), 96 (2)
        q[0] = 0b0000_1001;            // hmask[0]: third bit of elements 0 and 96
        q[32 + 21] = 0b01 << 4;        // element 85 (half 0, quarter 2, l = 21): low bits 1 ...
        q[21] = 1 << 2;                // ... third bit set (hmask bit 2)
        q[32 + 42] = 0b10 << 2;        // element 170 (half 1, quarter 1, l = 10): low bits 2, hmask bit 5 clear
        q[32 + 63] = 0b11 << 6;        // element 255 (half 1, quarter 3, l = 31): low bits 3 ...
        q[31] = 0x80;                  // ... third bit set (hmask bit 7)
        float[] y = new float[256];
        TensorTypes.Dequantize(GgmlType.Q3_K, q, y);
        Assert.Equal(0.5f * 4 * 3, y[0]);          // 3 | 4 → 7 − 4
        Assert.Equal(0.5f * 4 * -4, y[1]);         // 0 without third bit → −4
        Assert.Equal(0.5f * -32 * -3, y[32]);      // 1 − 4, group 2
        Assert.Equal(0.5f * -32 * -4, y[64]);      // 0 − 4, group 4
        Assert.Equal(0.5f * 31 * 1, y[85]);        // 1 | 4 → 1, group 5
        Assert.Equal(0.5f * -32 * 2, y[96]);       // 2 | 4 → 2, group 6
        Assert.Equal(0.5f * -32 * -2, y[170]);     // 2 − 4, group 10
        Assert.Equal(0.5f * 11 * 3, y[255]);       // 3 | 4 → 3, group 15
        Assert.Equal(0.5f * -32 * -4, y[128]);     // hmask[0] bit 4 clear
    }

    [Fact]
    public void DequantizeMatchesTheLayoutOnRandomBlocks()
    {
        // Written from the layout, element by element (scale bits gathered one at a time), in ggml's float order:
        // (d·(scale − 32)) first, then times (q − 4).
        const int blocks = 6;
        byte[] w = RandomWeights(blocks, 7);
        float[] y = new float[blocks * 256];
        TensorTypes.Dequantize(GgmlType.Q3_K, w, y);
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<byte> blk = w.AsSpan(b * BlockBytes, BlockBytes);
            float d = F16.ToSingle(BitConverter.ToUInt16(blk[108..]));
            for (int e = 0; e < 256; e++)
            {
                int g = e / 16;
                int lowNibble = g < 8 ? blk[96 + g] & 0xF : blk[96 + g - 8] >> 4;
                int scale = lowNibble | (((blk[96 + 8 + g % 4] >> (2 * (g / 4))) & 3) << 4);
                int low = (blk[32 + 32 * (e / 128) + e % 32] >> (2 * (e / 32 % 4))) & 3;
                int third = (blk[e % 32] >> (e / 32)) & 1;
                float dl = d * (scale - 32);
                float expected = dl * ((low | third << 2) - 4);
                Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(y[b * 256 + e]));
            }
        }
    }

    [Fact]
    public void IsRegisteredWithQ8KActivations()
    {
        Assert.True(TensorTypes.IsSupported(GgmlType.Q3_K));
        Assert.Equal(256, TensorTypes.BlockSize(GgmlType.Q3_K));
        Assert.Equal(BlockBytes, TensorTypes.BlockBytes(GgmlType.Q3_K));
        Assert.Equal(GgmlType.Q8_K, TypeTraits.For(GgmlType.Q3_K).DotType);
        Assert.Throws<ArgumentException>(() => TensorTypes.RowBytes(GgmlType.Q3_K, 128));
        Assert.True(TensorTypes.CanEncode(GgmlType.Q3_K));
    }

    /// <summary>ggml's quantize_row_q3_K_ref writes an all-zero block as zero bytes (d = 0, scales, hmask and qs 0).</summary>
    [Fact]
    public void ZeroBlockQuantizesToZeroBytes()
    {
        byte[] q = Enumerable.Repeat((byte)0xAA, BlockBytes).ToArray();
        TensorTypes.Quantize(GgmlType.Q3_K, new float[256], q);
        Assert.All(q, b => Assert.Equal(0, b));
    }

    /// <summary>
    /// Round trip of random data: relative RMS error below a bound a misplaced third bit or scale would break (errors
    /// of order one); bit-exactness with ggml's quantizer is in the conformance tests.
    /// </summary>
    [Fact]
    public void RoundTripIsClose()
    {
        double rel = TestData.RoundTripRelativeRms(GgmlType.Q3_K, TestData.Random(256 * 8, 99, 3f));
        Assert.True(rel < 0.2, $"Q3_K relative RMS round-trip error {rel:F4} ≥ 0.2"); // 0.164 measured
    }

    /// <summary>Random bytes with a finite half d in each block.</summary>
    private static byte[] RandomWeights(int blocks, int seed)
    {
        var rng = new Random(seed);
        byte[] w = new byte[blocks * BlockBytes];
        rng.NextBytes(w);
        for (int b = 0; b < blocks; b++)
        {
            BitConverter.TryWriteBytes(w.AsSpan(b * BlockBytes + 108), F16.FromSingle(((float)rng.NextDouble() - 0.5f) * 0.02f));
        }
        return w;
    }

    private static unsafe float Dot(byte[] w, byte[] x, int blocks, SimdTier tier)
    {
        fixed (byte* pw = w, px = x)
        {
            return Q3_K.Dot(pw, px, blocks, tier);
        }
    }

    public static TheoryData<Tier, int> TiersAndBlocks()
    {
        var data = new TheoryData<Tier, int>();
        foreach (Tier tier in new[] { Tier.Vector256, Tier.Vector512 })
        {
            foreach (int blocks in new[] { 0, 1, 3, 5 })
            {
                data.Add(tier, blocks);
            }
        }
        return data;
    }

    [Theory, MemberData(nameof(TiersAndBlocks))]
    public void DotIsBitExactAcrossTiers(Tier tier, int blocks)
    {
        byte[] w = RandomWeights(blocks, 30 + blocks);
        byte[] x = Q8_KTests.Quantize(TestData.Random(blocks * 256, 31 + blocks, 2f), SimdTier.Scalar);
        float scalar = Dot(w, x, blocks, SimdTier.Scalar);
        Assert.Equal(BitConverter.SingleToInt32Bits(scalar), BitConverter.SingleToInt32Bits(Dot(w, x, blocks, (SimdTier)tier)));
        AssertCloseToDequantizedDot(w, x, blocks, scalar);
    }

    /// <summary>All weight bytes 0xFF (q = 3, scales 31) but a finite d, one block of activation quants at −128 and one at 127.</summary>
    private static (byte[] W, byte[] X) Extremes(int blocks)
    {
        byte[] w = Enumerable.Repeat((byte)0xFF, blocks * BlockBytes).ToArray();
        byte[] x = new byte[blocks * Q8_K.BlockBytes];
        for (int b = 0; b < blocks; b++)
        {
            BitConverter.TryWriteBytes(w.AsSpan(b * BlockBytes + 108), F16.FromSingle(b % 2 == 0 ? 0.5f : -0.25f));
            BitConverter.TryWriteBytes(x.AsSpan(b * Q8_K.BlockBytes), 0.125f);
            sbyte v = b % 2 == 0 ? sbyte.MinValue : sbyte.MaxValue;
            x.AsSpan(b * Q8_K.BlockBytes + Q8_K.QsOffset, 256).Fill((byte)v);
            for (int g = 0; g < 16; g++)
            {
                BitConverter.TryWriteBytes(x.AsSpan(b * Q8_K.BlockBytes + Q8_K.BsumsOffset + 2 * g), (short)(16 * v));
            }
        }
        return (w, x);
    }

    [Theory]
    [InlineData(Tier.Vector256)]
    [InlineData(Tier.Vector512)]
    public void DotIsBitExactAcrossTiersAtTheExtremes(Tier tier)
    {
        const int blocks = 3;
        var (w, x) = Extremes(blocks);
        // Zeroed hmask: every quant −4 (u = 3), the other end of the range.
        byte[] wLow = (byte[])w.Clone();
        for (int b = 0; b < blocks; b++)
        {
            wLow.AsSpan(b * BlockBytes, 32).Clear();
        }
        foreach (byte[] weights in new[] { w, wLow })
        {
            float scalar = Dot(weights, x, blocks, SimdTier.Scalar);
            Assert.Equal(BitConverter.SingleToInt32Bits(scalar), BitConverter.SingleToInt32Bits(Dot(weights, x, blocks, (SimdTier)tier)));
            AssertCloseToDequantizedDot(weights, x, blocks, scalar);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void DotKeepsLlamaCppsLanesAndFloatSteps(int blocks)
    {
        // llama.cpp's AVX2 ggml_vec_dot_q3_K_q8_K: lane l of a super-block sums bytes 4l..4l+3 of every 32-quant
        // quarter, (q − 4)·y times the bytes' group scale; acc_l = fma(y_d·d, lane_l, acc_l); then its hsum_float_8.
        // Written here from the layout, so that a change of lanes (e.g. offsets from bsums) shows.
        byte[] w = RandomWeights(blocks, 70 + blocks);
        byte[] x = Q8_KTests.Quantize(TestData.Random(blocks * 256, 71 + blocks, 2f), SimdTier.Scalar);
        float[] acc = new float[8];
        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<byte> blk = w.AsSpan(b * BlockBytes, BlockBytes);
            ReadOnlySpan<byte> act = x.AsSpan(b * Q8_K.BlockBytes, Q8_K.BlockBytes);
            float d = BitConverter.ToSingle(act) * F16.ToSingle(BitConverter.ToUInt16(blk[108..]));
            for (int l = 0; l < 8; l++)
            {
                int lane = 0;
                for (int quarter = 0; quarter < 8; quarter++)
                {
                    int g = 2 * quarter + l / 4;
                    int lowNibble = g < 8 ? blk[96 + g] & 0xF : blk[96 + g - 8] >> 4;
                    int scale = (lowNibble | (((blk[96 + 8 + g % 4] >> (2 * (g / 4))) & 3) << 4)) - 32;
                    int part = 0;
                    for (int i = 4 * l; i < 4 * l + 4; i++)
                    {
                        int e = 32 * quarter + i;
                        int q = ((blk[32 + 32 * (quarter / 4) + i] >> (2 * (quarter % 4))) & 3) | (((blk[i] >> quarter) & 1) << 2);
                        part += (q - 4) * (sbyte)act[Q8_K.QsOffset + e];
                    }
                    lane += scale * part;
                }
                acc[l] = MathF.FusedMultiplyAdd(d, lane, acc[l]);
            }
        }
        float expected = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
        Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(Dot(w, x, blocks, SimdTier.Scalar)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void DotEqualsDequantizedDotUpToRounding(int blocks)
    {
        byte[] w = RandomWeights(blocks, 40 + blocks);
        byte[] x = Q8_KTests.Quantize(TestData.Random(blocks * 256, 41 + blocks, 2f), SimdTier.Scalar);
        AssertCloseToDequantizedDot(w, x, blocks, Dot(w, x, blocks, SimdTier.Scalar));
    }

    /// <summary>
    /// <paramref name="dot"/> against Σ w·x over the decoded values in double. The integer lanes are exact; the kernel
    /// rounds y_d·d, each lane's fma and the final sum, decoding rounds each weight twice and each activation once.
    /// </summary>
    private static void AssertCloseToDequantizedDot(byte[] w, byte[] x, int blocks, float dot)
    {
        float[] wd = new float[blocks * 256], xd = new float[blocks * 256];
        TensorTypes.Dequantize(GgmlType.Q3_K, w, wd);
        Q8_K.Dequantize(x, xd);
        double exact = 0, sumAbs = 0;
        for (int i = 0; i < wd.Length; i++)
        {
            exact += (double)wd[i] * xd[i];
            sumAbs += Math.Abs((double)wd[i] * xd[i]);
        }
        double bound = 8 * TestData.U * sumAbs + TestData.SummationBound(2 * blocks + 2, sumAbs);
        Assert.True(Math.Abs(dot - exact) <= bound, $"{dot} vs {exact} (bound {bound})");
    }

    public static TheoryData<int, int> TiersWithScalarAndBlocks()
    {
        var data = new TheoryData<int, int>();
        foreach (SimdTier tier in new[] { SimdTier.Scalar, SimdTier.Vector256, SimdTier.Vector512 })
        {
            foreach (int blocks in new[] { 0, 1, 3 })
            {
                data.Add((int)tier, blocks);
            }
        }
        return data;
    }

    [Theory, MemberData(nameof(TiersWithScalarAndBlocks))]
    public unsafe void FourTokenDotEqualsSingleDots(int tierId, int blocks)
    {
        var tier = (SimdTier)tierId;
        byte[] w = RandomWeights(blocks, 60 + blocks);
        // Four activation rows further apart than one row, as in a batch; token 2 at the extreme quants.
        long stride = blocks * Q8_K.BlockBytes + 100;
        byte[] x = new byte[4 * stride];
        for (int t = 0; t < 4; t++)
        {
            byte[] row = t == 2 ? Extremes(blocks).X : Q8_KTests.Quantize(TestData.Random(blocks * 256, 61 + t, 2f), SimdTier.Scalar);
            row.CopyTo(x, t * stride);
        }
        float[] y = new float[4 * 3];
        y.AsSpan().Fill(float.NaN);
        fixed (byte* pw = w, px = x)
        fixed (float* py = y)
        {
            Q3_K.Dot4(pw, px, stride, blocks, py, 3, tier);
        }
        for (int t = 0; t < 4; t++)
        {
            float single = Dot(w, x[(int)(t * stride)..], blocks, tier);
            Assert.Equal(BitConverter.SingleToInt32Bits(single), BitConverter.SingleToInt32Bits(y[t * 3]));
            Assert.Equal(BitConverter.SingleToInt32Bits(Dot(w, x[(int)(t * stride)..], blocks, SimdTier.Scalar)), BitConverter.SingleToInt32Bits(y[t * 3]));
        }
    }

    [Theory]
    [InlineData(Tier.Vector256)]
    [InlineData(Tier.Vector512)]
    public unsafe void MatMulRowsEqualsRowDots(Tier tier)
    {
        const int rows = 7, cols = 512, n = 5;
        int rowBytes = (int)TensorTypes.RowBytes(GgmlType.Q3_K, cols);
        byte[] w = RandomWeights(rows * cols / 256, 50);
        float[] x = TestData.Random(n * cols, 51, 2f);
        float[] y = new float[n * rows], yScalar = new float[n * rows], yPublic = new float[n * rows];
        fixed (byte* pw = w)
        {
            MatMul.Multiply(GgmlType.Q3_K, pw, rows, cols, x, y, n, (SimdTier)tier, parallel: true);
            MatMul.Multiply(GgmlType.Q3_K, pw, rows, cols, x, yScalar, n, SimdTier.Scalar, parallel: false);
            MatMul.MatMulRowsOnThisThread(GgmlType.Q3_K, pw, rows, cols, x, yPublic, n);
        }
        Assert.Equal(yScalar, y);
        Assert.Equal(yScalar, yPublic);
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

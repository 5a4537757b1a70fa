using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

/// <summary>
/// IQ4_XS: the scale layout and a block decoded by hand, the quantizer, the dot at known values and at its extremes, and
/// the four-token dot; the dot's tiers, its rounding and MatMul are the checks shared in <see cref="IQuantTests"/>.
/// </summary>
public class IQ4_XSTests() : IQuantTests(GgmlType.IQ4_XS, blockBytes: 136, encodes: true, firstSeed: 10)
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

    private const GgmlType Type = GgmlType.IQ4_XS;

    [Fact]
    public void RoundTripIsClose()
    {
        // 4-bit levels with a fitted scale: about 0.077 on gaussian data with this seed.
        double rel = TestData.RoundTripRelativeRms(Type, TestData.Gaussian(256 * 8, 5));
        Assert.True(rel < 0.1, $"relative RMS round-trip error {rel:F4}");
        rel = TestData.RoundTripRelativeRms(Type, TestData.Random(256 * 8, 6, 3f));
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

    /// <summary>Negative d as well: the sign of the super-block scale must reach the sum the same way on every tier.</summary>
    protected override float RandomScale(Random rng) => (float)(rng.NextDouble() - 0.5) * 0.002f;

    /// <summary>
    /// Decoded weights are exact (half d times a 6-bit scale times a 7-bit level); the dot rounds y_d·d once per
    /// super-block, then one fused step per super-block and lane and the final lane sums.
    /// </summary>
    protected override int FloatSteps(int blocks) => 2 * blocks + 2;

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

    public static TheoryData<int, int> FourTokenCases()
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

    [Theory, MemberData(nameof(FourTokenCases))]
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
}

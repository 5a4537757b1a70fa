using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

public class Q4_0Tests
{
    [Fact]
    public void ReferenceQuantizerKnownBlockWithNegativeMax()
    {
        // The value of largest magnitude is -8 → d = -8 / -8 = 1, id = 1, q = min(15, trunc(x + 8.5)).
        var x = new float[32];
        x[0] = -8f;      // → 0   (value -8)
        x[1] = 7f;       // → 15
        x[2] = 7.4f;     // → 15  (15.9 truncated)
        x[3] = -0.5f;    // → 8   (halves round up)
        x[4] = 0.5f;     // → 9
        x[5] = -7.6f;    // → 0   (0.9 truncated)
        x[16] = 2f;      // → 10, high nibble of qs[0]
        x[17] = -3f;     // → 5,  high nibble of qs[1]
        byte[] q = new byte[18];
        TensorTypes.Quantize(GgmlType.Q4_0, x, q);
        Assert.Equal(0x00, q[0]);
        Assert.Equal(0x3C, q[1]);                        // d = 1.0
        Assert.Equal(0x0 | (10 << 4), q[2]);
        Assert.Equal(15 | (5 << 4), q[3]);
        Assert.Equal(15 | (8 << 4), q[4]);
        Assert.Equal(8 | (8 << 4), q[5]);
        Assert.Equal(9 | (8 << 4), q[6]);
        Assert.Equal(0 | (8 << 4), q[7]);
        for (int j = 6; j < 16; j++)
        {
            Assert.Equal(0x88, q[2 + j]);                // zeros quantize to 8
        }
    }

    [Fact]
    public void ReferenceQuantizerKnownBlockWithPositiveMaxClampsTheOppositeExtreme()
    {
        // max = 16 → d = -2, id = -0.5. 16 → nibble 0 (value 16); -14 → 15 (value -14);
        // -16 would need nibble 16 and is clamped to 15 (value -14): Q4_0 is asymmetric.
        var x = new float[32];
        x[0] = 16f;
        x[1] = -14f;
        x[2] = -16f;
        x[3] = 3f;       // -1.5 + 8.5 = 7 → 7 (value 2)
        byte[] q = new byte[18];
        TensorTypes.Quantize(GgmlType.Q4_0, x, q);
        Assert.Equal(0x00, q[0]);
        Assert.Equal(0xC0, q[1]);                        // d = -2.0 = half 0xC000
        Assert.Equal(0 | (8 << 4), q[2]);
        Assert.Equal(15 | (8 << 4), q[3]);
        Assert.Equal(15 | (8 << 4), q[4]);
        Assert.Equal(7 | (8 << 4), q[5]);
        float[] y = new float[32];
        TensorTypes.Dequantize(GgmlType.Q4_0, q, y);
        Assert.Equal(new[] { 16f, -14f, -14f, 2f }, y[..4]);
        Assert.All(y[4..], v => Assert.Equal(0f, v));
    }

    [Fact]
    public void DequantizeKnownBlock()
    {
        byte[] q = new byte[18];
        q[1] = 0x38;                                     // d = 0.5
        q[2] = 0xF0;                                     // element 0: 0 - 8 = -8, element 16: 15 - 8 = 7
        for (int j = 1; j < 16; j++)
        {
            q[2 + j] = 0x88;
        }
        float[] y = new float[32];
        TensorTypes.Dequantize(GgmlType.Q4_0, q, y);
        Assert.Equal(-4f, y[0]);
        Assert.Equal(3.5f, y[16]);
        Assert.Equal(0f, y[1]);
    }

    [Fact]
    public void RoundTripErrorIsWithinHalfAStepOrOneStepWhenClamped() =>
        Block32DotChecks.AssertRoundTripIsWithinHalfAStep(GgmlType.Q4_0, levelsBelowZero: 8);

    public static TheoryData<Tier, int> Cases() => TestData.VectorTiersAndBlockCounts();

    [Theory, MemberData(nameof(Cases))]
    public unsafe void DotIsBitExactAcrossTiers(Tier t, int blocks) =>
        Block32DotChecks.AssertDotIsBitExactAcrossTiers(GgmlType.Q4_0, Q4_0.Dot, (SimdTier)t, blocks);

    [Fact]
    public unsafe void DotKnownValue()
    {
        // w: d = 1, element j has nibble j % 16 → value j%16 - 8; x: d = 0.5, all quants 1.
        // Σ over 32 elements of (j%16 - 8) = 2·(-8 + ... + 7) = -16 → -16 · 1 · 0.5 = -8.
        byte[] w = new byte[18], x = new byte[34];
        w[1] = 0x3C;
        for (int j = 0; j < 16; j++)
        {
            w[2 + j] = (byte)(j | (j << 4));
        }
        x[1] = 0x38;
        for (int j = 0; j < 32; j++)
        {
            x[2 + j] = 1;
        }
        fixed (byte* pw = w, px = x)
        {
            foreach (SimdTier tier in new[] { SimdTier.Scalar, SimdTier.Vector256, SimdTier.Vector512 })
            {
                Assert.Equal(-8f, Q4_0.Dot(pw, px, 1, tier));
            }
        }
    }

    public static TheoryData<Tier, int> TiersWithScalar() => Block32DotChecks.TiersWithScalar();

    [Theory, MemberData(nameof(TiersWithScalar))]
    public unsafe void FourTokenDotEqualsSingleDotsBitForBit(Tier t, int blocks) =>
        Block32DotChecks.AssertFourTokenDotEqualsSingleDots(GgmlType.Q4_0, Q4_0.Dot, Q4_0.Dot4, (SimdTier)t, blocks);

    [Theory, MemberData(nameof(TiersWithScalar))]
    public unsafe void DotMatchesDequantizedProductInDouble(Tier t, int blocks) =>
        Block32DotChecks.AssertDotMatchesDequantizedProductInDouble(GgmlType.Q4_0, Q4_0.Dot, (SimdTier)t, blocks);
}

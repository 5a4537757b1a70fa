using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

public class Q4_1Tests
{
    [Fact]
    public void ReferenceQuantizerKnownBlock()
    {
        // min -1, max 14 → d = 15 / 15 = 1, m = -1, q = min(15, trunc((x + 1) + 0.5)).
        var x = new float[32];
        x[0] = -1f;      // → 0
        x[1] = 14f;      // → 15
        x[2] = 0.5f;     // 1.5 → 2 (halves round up)
        x[3] = 0.4f;     // 1.4 → 1
        x[16] = 7f;      // → 8, high nibble of qs[0]
        byte[] q = new byte[20];
        TensorTypes.Quantize(GgmlType.Q4_1, x, q);
        Assert.Equal(new byte[] { 0x00, 0x3C, 0x00, 0xBC }, q[..4]);   // d = 1, m = -1
        byte[] qs = [0x80, 0x1F, 0x12, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11];
        Assert.Equal(qs, q[4..]);
        float[] y = new float[32];
        TensorTypes.Dequantize(GgmlType.Q4_1, q, y);
        Assert.Equal(new[] { -1f, 14f, 1f, 0f }, y[..4]);
        Assert.Equal(7f, y[16]);
        Assert.All(y[4..16].Concat(y[17..]), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void ConstantBlockHasZeroScaleAndDecodesToItsMinimum()
    {
        float[] x = Enumerable.Repeat(0.75f, 32).ToArray();
        byte[] q = new byte[20];
        TensorTypes.Quantize(GgmlType.Q4_1, x, q);
        float[] y = new float[32];
        TensorTypes.Dequantize(GgmlType.Q4_1, q, y);
        Assert.Equal(0, BitConverter.ToUInt16(q, 0));
        Assert.All(y, v => Assert.Equal(0.75f, v));
    }

    [Fact]
    public void RoundTripErrorIsWithinHalfAStep() => OffsetTypeChecks.AssertRoundTripWithinHalfAStep(GgmlType.Q4_1, 16);

    public static TheoryData<Tier, int> Cases() => TestData.VectorTiersAndBlockCounts();

    [Theory, MemberData(nameof(Cases))]
    public unsafe void DotIsBitExactAcrossTiers(Tier t, int blocks) =>
        Block32DotChecks.AssertDotIsBitExactAcrossTiers(GgmlType.Q4_1, Q4_1.Dot, (SimdTier)t, blocks);

    [Fact]
    public unsafe void DotIsLlamaCppsAvx2Formula() =>
        OffsetTypeChecks.AssertDotIsLlamaCppsAvx2Formula(GgmlType.Q4_1, Q4_1.Dot, (w, o, j) =>
            j < 16 ? w[o + 4 + j] & 0xF : w[o + 4 + j - 16] >> 4);

    public static TheoryData<Tier, int> TiersWithScalar() => Block32DotChecks.TiersWithScalar();

    [Theory, MemberData(nameof(TiersWithScalar))]
    public unsafe void FourTokenDotEqualsSingleDotsBitForBit(Tier t, int blocks) =>
        Block32DotChecks.AssertFourTokenDotEqualsSingleDots(GgmlType.Q4_1, Q4_1.Dot, Q4_1.Dot4, (SimdTier)t, blocks);

    [Theory, MemberData(nameof(TiersWithScalar))]
    public unsafe void DotMatchesDequantizedProductInDouble(Tier t, int blocks) =>
        Block32DotChecks.AssertDotMatchesDequantizedProductInDouble(GgmlType.Q4_1, Q4_1.Dot, (SimdTier)t, blocks);
}

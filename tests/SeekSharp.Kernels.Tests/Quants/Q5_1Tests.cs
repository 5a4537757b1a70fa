using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

public class Q5_1Tests
{
    [Fact]
    public void ReferenceQuantizerKnownBlock()
    {
        // min -1, max 30 → d = 31 / 31 = 1, m = -1, q = trunc((x + 1) + 0.5).
        var x = new float[32];
        x[0] = -1f;      // → 0
        x[1] = 30f;      // → 31: nibble 15, bit 1 of qh
        x[2] = 0.5f;     // 1.5 → 2 (halves round up)
        x[3] = 0.4f;     // 1.4 → 1
        x[16] = 15f;     // → 16: nibble 0 in the high half of qs[0], bit 16 of qh
        byte[] q = new byte[24];
        TensorTypes.Quantize(GgmlType.Q5_1, x, q);
        Assert.Equal(new byte[] { 0x00, 0x3C, 0x00, 0xBC }, q[..4]);   // d = 1, m = -1
        Assert.Equal(0x00010002u, BitConverter.ToUInt32(q, 4));
        byte[] qs = [0x00, 0x1F, 0x12, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11];
        Assert.Equal(qs, q[8..]);
        float[] y = new float[32];
        TensorTypes.Dequantize(GgmlType.Q5_1, q, y);
        Assert.Equal(new[] { -1f, 30f, 1f, 0f }, y[..4]);
        Assert.Equal(15f, y[16]);
        Assert.All(y[4..16].Concat(y[17..]), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void ConstantBlockHasZeroScaleAndDecodesToItsMinimum()
    {
        float[] x = Enumerable.Repeat(0.75f, 32).ToArray();
        byte[] q = new byte[24];
        TensorTypes.Quantize(GgmlType.Q5_1, x, q);
        float[] y = new float[32];
        TensorTypes.Dequantize(GgmlType.Q5_1, q, y);
        Assert.Equal(0, BitConverter.ToUInt16(q, 0));
        Assert.All(y, v => Assert.Equal(0.75f, v));
    }

    [Fact]
    public void RoundTripErrorIsWithinHalfAStep() => OffsetTypeChecks.AssertRoundTripWithinHalfAStep(GgmlType.Q5_1, 32);

    public static TheoryData<Tier, int> Cases() => TestData.VectorTiersAndBlockCounts();

    [Theory, MemberData(nameof(Cases))]
    public unsafe void DotIsBitExactAcrossTiers(Tier t, int blocks) =>
        Block32DotChecks.AssertDotIsBitExactAcrossTiers(GgmlType.Q5_1, Q5_1.Dot, (SimdTier)t, blocks);

    [Fact]
    public unsafe void DotIsLlamaCppsAvx2Formula() =>
        OffsetTypeChecks.AssertDotIsLlamaCppsAvx2Formula(GgmlType.Q5_1, Q5_1.Dot, (w, o, j) =>
        {
            int nibble = j < 16 ? w[o + 8 + j] & 0xF : w[o + 8 + j - 16] >> 4;
            return nibble | (int)((BitConverter.ToUInt32(w, o + 4) >> j) & 1) << 4;
        });

    public static TheoryData<Tier, int> TiersWithScalar() => Block32DotChecks.TiersWithScalar();

    [Theory, MemberData(nameof(TiersWithScalar))]
    public unsafe void FourTokenDotEqualsSingleDotsBitForBit(Tier t, int blocks) =>
        Block32DotChecks.AssertFourTokenDotEqualsSingleDots(GgmlType.Q5_1, Q5_1.Dot, Q5_1.Dot4, (SimdTier)t, blocks);

    [Theory, MemberData(nameof(TiersWithScalar))]
    public unsafe void DotMatchesDequantizedProductInDouble(Tier t, int blocks) =>
        Block32DotChecks.AssertDotMatchesDequantizedProductInDouble(GgmlType.Q5_1, Q5_1.Dot, (SimdTier)t, blocks);
}

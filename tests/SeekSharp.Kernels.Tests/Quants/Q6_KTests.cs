using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

public class Q6_KTests() : KQuantTests(GgmlType.Q6_K)
{
    [Theory, MemberData(nameof(TiersWithScalarAndBlocks))]
    public unsafe void FourTokenDotEqualsSingleDots(int tier, int blocks) =>
        AssertFourTokenDotEqualsSingleDots((SimdTier)tier, blocks, Q6_K.Dot4);

    [Theory, MemberData(nameof(TiersWithScalarAndBlocks))]
    public unsafe void TwoRowFourTokenDotEqualsSingleDots(int tier, int blocks) =>
        AssertTwoRowFourTokenDotEqualsSingleDots((SimdTier)tier, blocks, Q6_K.Dot2x4);

    [Theory, MemberData(nameof(TiersWithScalarAndBlocks))]
    public unsafe void EightTokenDotEqualsSingleDots(int tier, int blocks) =>
        AssertEightTokenDotEqualsSingleDots((SimdTier)tier, blocks, Q6_K.Dot8);

    [Fact]
    public void DequantizeKnownBlock()
    {
        byte[] q = new byte[210];
        q[209] = 0x38;                         // d = 0.5, stored last
        q[192 + 0] = 4;                        // group scales (int8)
        q[192 + 2] = unchecked((byte)-3);
        q[192 + 4] = 2;
        q[192 + 5] = 127;
        q[192 + 15] = unchecked((byte)-128);
        q[0] = 0x5F;                           // element 0 low nibble 15, element 64 low nibble 5
        q[128 + 0] = 0b10_01_11_10;            // top bits: element 0 → 2, 32 → 3, 64 → 1, 96 → 2
        q[127] = 0xF0;                         // element 255: ql[64 + 63] high nibble 15
        q[128 + 63] = 0xC0;                    // and qh[32 + 31] bits 6-7 = 3
        float[] y = new float[256];
        TensorTypes.Dequantize(GgmlType.Q6_K, q, y);
        Assert.Equal(0.5f * 4 * ((15 | 2 << 4) - 32), y[0]);
        Assert.Equal(0.5f * 4 * -32, y[1]);
        Assert.Equal(0.5f * -3 * ((0 | 3 << 4) - 32), y[32]);
        Assert.Equal(0.5f * 2 * ((5 | 1 << 4) - 32), y[64]);
        Assert.Equal(0.5f * 127 * -32, y[80]);
        Assert.Equal(0f, y[96]);               // (0 | 2 << 4) - 32 = 0
        Assert.Equal(0.5f * -128 * 31, y[255]);
    }

    [Fact]
    public void RoundTripIsClose() => AssertRoundTripIsClose(0.03);
}

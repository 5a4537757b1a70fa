using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

public class Q4_KTests() : KQuantTests(GgmlType.Q4_K)
{
    [Theory, MemberData(nameof(TiersWithScalarAndBlocks))]
    public unsafe void FourTokenDotEqualsSingleDots(int tier, int blocks) =>
        AssertFourTokenDotEqualsSingleDots((SimdTier)tier, blocks, Q4_K.Dot4);

    [Theory, MemberData(nameof(TiersWithScalarAndBlocks))]
    public unsafe void TwoRowFourTokenDotEqualsSingleDots(int tier, int blocks) =>
        AssertTwoRowFourTokenDotEqualsSingleDots((SimdTier)tier, blocks, Q4_K.Dot2x4);

    [Theory, MemberData(nameof(TiersWithScalarAndBlocks))]
    public unsafe void EightTokenDotEqualsSingleDots(int tier, int blocks) =>
        AssertEightTokenDotEqualsSingleDots((SimdTier)tier, blocks, Q4_K.Dot8);

    /// <summary>
    /// A hand-built block: d = 1, dmin = 0.5; sub-block 0 has sc 2, m 3; sub-block 1 sc 5, m 1; sub-block 4 (whose
    /// 6-bit codes are split between the nibbles of byte 8 and the top bits of bytes 0 and 4) sc 33, m 50.
    /// </summary>
    internal static byte[] HandBlock()
    {
        byte[] q = new byte[144];
        q[1] = 0x3C;                       // d = 1.0
        q[3] = 0x38;                       // dmin = 0.5
        q[4 + 0] = 2 | (2 << 6);           // sc0 = 2, top bits of sc4 (33 >> 4 = 2)
        q[4 + 4] = 3 | (3 << 6);           // m0 = 3, top bits of m4 (50 >> 4 = 3)
        q[4 + 1] = 5;                      // sc1
        q[4 + 5] = 1;                      // m1
        q[4 + 8] = 1 | (2 << 4);           // low bits of sc4 (33 & 15) and m4 (50 & 15)
        q[16 + 0] = 0x7A;                  // element 0: 10 (sub-block 0), element 32: 7 (sub-block 1)
        q[16 + 64] = 0x03;                 // element 128: 3 (sub-block 4)
        return q;
    }

    [Fact]
    public void DequantizeKnownBlock()
    {
        float[] y = new float[256];
        TensorTypes.Dequantize(GgmlType.Q4_K, HandBlock(), y);
        Assert.Equal(1 * 2 * 10 - 0.5f * 3, y[0]);
        Assert.Equal(-0.5f * 3, y[1]);
        Assert.Equal(1 * 5 * 7 - 0.5f * 1, y[32]);
        Assert.Equal(1 * 33 * 3 - 0.5f * 50, y[128]);
        Assert.Equal(-0.5f * 50, y[129]);
        Assert.Equal(0f, y[160]);          // sub-block 5: sc = m = 0
    }

    [Fact]
    public unsafe void WordwiseScaleUnpackMatchesBytewise()
    {
        // Random headers cover every 6-bit code in every position, including the split codes of sub-blocks 4..7.
        var rng = new Random(41);
        byte[] packed = new byte[12];
        byte[] sc = new byte[8], mn = new byte[8], sc2 = new byte[8], mn2 = new byte[8];
        for (int trial = 0; trial < 2000; trial++)
        {
            rng.NextBytes(packed);
            Q4_K.UnpackScaleMins(packed, sc, mn);
            fixed (byte* pq = packed, ps = sc2, pm = mn2)
            {
                Q4_K.UnpackScaleMins(pq, ps, pm);
            }
            Assert.Equal(sc, sc2);
            Assert.Equal(mn, mn2);
        }
    }

    [Fact]
    public void RoundTripIsClose() => AssertRoundTripIsClose(0.1);
}

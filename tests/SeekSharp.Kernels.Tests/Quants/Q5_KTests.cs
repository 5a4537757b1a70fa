using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

public class Q5_KTests() : KQuantTests(GgmlType.Q5_K)
{
    // Q5_K runs Q4_K's kernels (AffineKDot) on its own quants: each multi-token kernel against the single dot.
    [Theory, MemberData(nameof(TiersWithScalarAndBlocks))]
    public unsafe void FourTokenDotEqualsSingleDots(int tier, int blocks) =>
        AssertFourTokenDotEqualsSingleDots((SimdTier)tier, blocks, Q5_K.Dot4);

    [Theory, MemberData(nameof(TiersWithScalarAndBlocks))]
    public unsafe void TwoRowFourTokenDotEqualsSingleDots(int tier, int blocks) =>
        AssertTwoRowFourTokenDotEqualsSingleDots((SimdTier)tier, blocks, Q5_K.Dot2x4);

    [Theory, MemberData(nameof(TiersWithScalarAndBlocks))]
    public unsafe void EightTokenDotEqualsSingleDots(int tier, int blocks) =>
        AssertEightTokenDotEqualsSingleDots((SimdTier)tier, blocks, Q5_K.Dot8);

    [Fact]
    public void DequantizeKnownBlock()
    {
        // Q4_K's hand-built header and nibbles (Q5_K shares the first 16 bytes) with fifth bits for elements 0 and 128.
        byte[] q4 = Q4_KTests.HandBlock();
        byte[] q = new byte[176];
        q4.AsSpan(0, 16).CopyTo(q);
        q4.AsSpan(16, 128).CopyTo(q.AsSpan(48));
        q[16 + 0] = 0b0001_0001;           // bit 0: element 0 (chunk 0, low nibble); bit 4: element 128 (chunk 2, low)
        float[] y = new float[256];
        TensorTypes.Dequantize(GgmlType.Q5_K, q, y);
        Assert.Equal(1 * 2 * (10 + 16) - 0.5f * 3, y[0]);
        Assert.Equal(-0.5f * 3, y[1]);
        Assert.Equal(1 * 5 * 7 - 0.5f * 1, y[32]);
        Assert.Equal(1 * 33 * (3 + 16) - 0.5f * 50, y[128]);
        Assert.Equal(-0.5f * 50, y[129]);
    }

    [Fact]
    public void RoundTripIsClose() => AssertRoundTripIsClose(0.05);
}

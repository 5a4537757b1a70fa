using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

public class Q5_0Tests
{
    [Fact]
    public void ReferenceQuantizerKnownBlockWithNegativeMax()
    {
        // The value of largest magnitude is -16 → d = -16 / -16 = 1, id = 1, q = min(31, trunc(x + 16.5)).
        var x = new float[32];
        x[0] = -16f;     // → 0   (value -16)
        x[1] = 15f;      // → 31
        x[2] = 15.4f;    // → 31  (31.9 truncated)
        x[3] = -0.5f;    // → 16  (halves round up)
        x[4] = 0.5f;     // → 17
        x[5] = -15.6f;   // → 0   (0.9 truncated)
        x[16] = 2f;      // → 18: nibble 2 in the high half of qs[0], bit 16 of qh
        x[17] = -3f;     // → 13: nibble 13 in the high half of qs[1], no high bit
        byte[] q = new byte[22];
        TensorTypes.Quantize(GgmlType.Q5_0, x, q);
        Assert.Equal(0x00, q[0]);
        Assert.Equal(0x3C, q[1]);                        // d = 1.0
        // Zeros quantize to 16 (nibble 0, high bit set); elements 0, 5 and 17 are the only ones below 16.
        Assert.Equal(0xFFFDFFDEu, BitConverter.ToUInt32(q, 2));
        byte[] qs = [0x20, 0xDF, 0x0F, 0x00, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        Assert.Equal(qs, q[6..]);
        float[] y = new float[32];
        TensorTypes.Dequantize(GgmlType.Q5_0, q, y);
        Assert.Equal(new[] { -16f, 15f, 15f, 0f, 1f, -16f }, y[..6]);
        Assert.Equal(2f, y[16]);
        Assert.Equal(-3f, y[17]);
    }

    [Fact]
    public void ReferenceQuantizerKnownBlockWithPositiveMaxClampsTheOppositeExtreme()
    {
        // max = 32 → d = -2, id = -0.5. 32 → q 0 (value 32); -30 → 31 (value -30);
        // -32 would need q 32 and is clamped to 31 (value -30): Q5_0 is asymmetric.
        var x = new float[32];
        x[0] = 32f;
        x[1] = -30f;
        x[2] = -32f;
        x[3] = 3f;       // -1.5 + 16.5 = 15 → 15 (value 2)
        byte[] q = new byte[22];
        TensorTypes.Quantize(GgmlType.Q5_0, x, q);
        Assert.Equal(0x00, q[0]);
        Assert.Equal(0xC0, q[1]);                        // d = -2.0 = half 0xC000
        float[] y = new float[32];
        TensorTypes.Dequantize(GgmlType.Q5_0, q, y);
        Assert.Equal(new[] { 32f, -30f, -30f, 2f }, y[..4]);
        Assert.All(y[4..], v => Assert.Equal(0f, v));
    }

    [Fact]
    public void DequantizeKnownBlock()
    {
        byte[] q = new byte[22];
        q[1] = 0x38;                                     // d = 0.5
        BitConverter.TryWriteBytes(q.AsSpan(2), 0xFFFFFFFEu);   // every high bit but element 0's
        q[6] = 0xF0;                                     // element 0: 0 - 16 = -16, element 16: (15 | 16) - 16 = 15
        float[] y = new float[32];
        TensorTypes.Dequantize(GgmlType.Q5_0, q, y);
        Assert.Equal(-8f, y[0]);
        Assert.Equal(7.5f, y[16]);
        Assert.All(y[1..16].Concat(y[17..]), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void RoundTripErrorIsWithinHalfAStepOrOneStepWhenClamped() =>
        Block32DotChecks.AssertRoundTripIsWithinHalfAStep(GgmlType.Q5_0, levelsBelowZero: 16);

    public static TheoryData<Tier, int> Cases() => TestData.VectorTiersAndBlockCounts();

    [Theory, MemberData(nameof(Cases))]
    public unsafe void DotIsBitExactAcrossTiers(Tier t, int blocks) =>
        Block32DotChecks.AssertDotIsBitExactAcrossTiers(GgmlType.Q5_0, Q5_0.Dot, (SimdTier)t, blocks);

    [Fact]
    public unsafe void DotKnownValue()
    {
        // w: d = 1, element j has q = j → value j - 16; x: d = 0.5, all quants 1.
        // Σ_{j<32} (j - 16) = 496 - 512 = -16 → -16 · 1 · 0.5 = -8.
        byte[] w = new byte[22], x = new byte[34];
        w[1] = 0x3C;
        BitConverter.TryWriteBytes(w.AsSpan(2), 0xFFFF0000u);
        for (int j = 0; j < 16; j++)
        {
            w[6 + j] = (byte)(j | (j << 4));
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
                Assert.Equal(-8f, Q5_0.Dot(pw, px, 1, tier));
            }
        }
    }

    [Fact]
    public unsafe void DotIsLlamaCppsAvx2Formula()
    {
        // Restates ggml_vec_dot_q5_0_q8_0 (AVX2): eight float lanes, lane l taking elements 4l..4l+3 of every block as
        // fma(d_w·d_x, Σ (q_w - 16)·q_x, lane), then hsum_float_8.
        const int blocks = 5;
        byte[] w = new byte[blocks * 22];
        TensorTypes.Quantize(GgmlType.Q5_0, TestData.Random(blocks * 32, 80, 4f), w);
        byte[] a = Block32DotChecks.QuantizeActivation(GgmlType.Q5_0, TestData.Random(blocks * 32, 81), SimdTier.Scalar);
        float[] lane = new float[8];
        for (int b = 0; b < blocks; b++)
        {
            int wo = b * 22, xo = b * 34;
            float scale = F16.ToSingle(BitConverter.ToUInt16(w, wo)) * F16.ToSingle(BitConverter.ToUInt16(a, xo));
            uint qh = BitConverter.ToUInt32(w, wo + 2);
            for (int l = 0; l < 8; l++)
            {
                int isum = 0;
                for (int j = 4 * l; j < 4 * l + 4; j++)
                {
                    int nibble = j < 16 ? w[wo + 6 + j] & 0xF : w[wo + 6 + j - 16] >> 4;
                    int q = nibble | (int)((qh >> j) & 1) << 4;
                    isum += (q - 16) * (sbyte)a[xo + 2 + j];
                }
                lane[l] = MathF.FusedMultiplyAdd(scale, isum, lane[l]);
            }
        }
        float expected = ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
        fixed (byte* pw = w, pa = a)
        {
            foreach (SimdTier tier in new[] { SimdTier.Scalar, SimdTier.Vector256, SimdTier.Vector512 })
            {
                Assert.Equal(expected, Q5_0.Dot(pw, pa, blocks, tier));
            }
        }
    }

    public static TheoryData<Tier, int> TiersWithScalar() => Block32DotChecks.TiersWithScalar();

    [Theory, MemberData(nameof(TiersWithScalar))]
    public unsafe void FourTokenDotEqualsSingleDotsBitForBit(Tier t, int blocks) =>
        Block32DotChecks.AssertFourTokenDotEqualsSingleDots(GgmlType.Q5_0, Q5_0.Dot, Q5_0.Dot4, (SimdTier)t, blocks);

    [Theory, MemberData(nameof(TiersWithScalar))]
    public unsafe void DotMatchesDequantizedProductInDouble(Tier t, int blocks) =>
        Block32DotChecks.AssertDotMatchesDequantizedProductInDouble(GgmlType.Q5_0, Q5_0.Dot, (SimdTier)t, blocks);
}

using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

public class Q8_1Tests
{
    [Fact]
    public unsafe void ActivationQuantizerKnownBlockCarriesTheBlockSum()
    {
        // amax 127 → d = 1, id = 1; halves round to even as in the x86 backend: -63.5 → -64, 0.5 → 0, 1.5 → 2.
        // Σ q = 127 - 64 + 0 + 2 = 65 → s = 65 (half 0x5410).
        var x = new float[32];
        x[0] = 127f;
        x[1] = -63.5f;
        x[2] = 0.5f;
        x[3] = 1.5f;
        foreach (SimdTier tier in new[] { SimdTier.Scalar, SimdTier.Vector256, SimdTier.Vector512 })
        {
            byte[] q = new byte[36];
            fixed (float* px = x)
            fixed (byte* pq = q)
            {
                Q8_1.QuantizeActivation(px, pq, 32, tier);
            }
            Assert.Equal(new byte[] { 0x00, 0x3C, 0x10, 0x54 }, q[..4]);
            Assert.Equal(new sbyte[] { 127, -64, 0, 2 }, q[4..8].Select(b => (sbyte)b).ToArray());
            Assert.All(q[8..], b => Assert.Equal(0, b));
        }
    }

    [Fact]
    public unsafe void BlockSumUsesTheScaleBeforeItsRoundingToHalf()
    {
        // quantize_row_q8_1 writes s = fp16(d · Σq) with d = amax / 127 in float, not the half d it stores.
        float[] x = TestData.Random(32 * 40, 30, 5f);
        byte[] q = new byte[36 * 40];
        fixed (float* px = x)
        fixed (byte* pq = q)
        {
            Q8_1.QuantizeActivation(px, pq, x.Length, SimdTier.Scalar);
        }
        int differ = 0;
        for (int b = 0; b < 40; b++)
        {
            float amax = x[(b * 32)..((b + 1) * 32)].Max(MathF.Abs);
            int sum = q[(b * 36 + 4)..((b + 1) * 36)].Sum(v => (sbyte)v);
            Half expected = (Half)(amax / 127f * sum);
            Assert.Equal(BitConverter.HalfToUInt16Bits(expected), BitConverter.ToUInt16(q, b * 36 + 2));
            Half fromHalfD = (Half)((float)BitConverter.UInt16BitsToHalf(BitConverter.ToUInt16(q, b * 36)) * sum);
            differ += expected != fromHalfD ? 1 : 0;
        }
        Assert.True(differ > 0, "no block tells the two scales apart");
    }

    [Fact]
    public unsafe void QuantsAndScaleAreQ8_0s()
    {
        float[] x = TestData.Random(32 * 9, 31, 3f);
        byte[] q1 = new byte[36 * 9], q0 = new byte[34 * 9];
        fixed (float* px = x)
        fixed (byte* p1 = q1, p0 = q0)
        {
            Q8_1.QuantizeActivation(px, p1, x.Length, SimdTier.Scalar);
            Q8_0.QuantizeActivation(px, p0, x.Length, SimdTier.Scalar);
        }
        for (int b = 0; b < 9; b++)
        {
            Assert.Equal(q0[(b * 34)..(b * 34 + 2)], q1[(b * 36)..(b * 36 + 2)]);
            Assert.Equal(q0[(b * 34 + 2)..((b + 1) * 34)], q1[(b * 36 + 4)..((b + 1) * 36)]);
        }
    }

    public static TheoryData<Tier, int> Cases() => TestData.VectorTiersAndBlockCounts();

    [Theory, MemberData(nameof(Cases))]
    public unsafe void ActivationQuantizerIsBitExactAcrossTiers(Tier t, int blocks)
    {
        float[] x = TestData.Random(blocks * 32, 32, 7f);
        byte[] v = new byte[blocks * 36], s = new byte[blocks * 36];
        fixed (float* px = x)
        fixed (byte* pv = v, ps = s)
        {
            Q8_1.QuantizeActivation(px, pv, x.Length, (SimdTier)t);
            Q8_1.QuantizeActivation(px, ps, x.Length, SimdTier.Scalar);
        }
        Assert.Equal(s, v);
    }
}

using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

/// <summary>
/// Checks shared by the weight types whose vec_dot_type is Q8_0 (Q8_0, Q4_0): the four-token kernel equals the single
/// dot bit for bit, and the eight-lane dot equals the dequantized product up to float rounding.
/// </summary>
internal static class Q8_0ActivationDotChecks
{
    public unsafe delegate float Dot(byte* w, byte* x, int blocks, SimdTier tier);
    public unsafe delegate void FourTokenDot(byte* w, byte* x, long xStride, int blocks, float* y, long yStride, SimdTier tier);

    public static TheoryData<Tier, int> TiersWithScalar()
    {
        var data = new TheoryData<Tier, int>();
        foreach (int blocks in new[] { 0, 1, 3, 8, 17 })
        {
            data.Add((Tier)SimdTier.Scalar, blocks);
            data.Add(Tier.Vector256, blocks);
            data.Add(Tier.Vector512, blocks);
        }
        return data;
    }

    public static unsafe void AssertFourTokenDotEqualsSingleDots(GgmlType type, Dot dot, FourTokenDot dot4, SimdTier tier, int blocks)
    {
        const long stride = 3 * 34 + 34 * 17;   // activation rows further apart than one row, as in a batch
        byte[] w = new byte[blocks * TensorTypes.BlockBytes(type)], a = new byte[4 * stride];
        TensorTypes.Quantize(type, TestData.Random(blocks * 32, 42), w);
        for (int i = 0; i < 4; i++)
        {
            float[] x = TestData.Random(blocks * 32, 60 + i, 3f);
            fixed (float* px = x)
            fixed (byte* pa = a)
            {
                Q8_0.QuantizeActivation(px, pa + i * stride, x.Length, SimdTier.Scalar);
            }
        }
        float[] y = new float[4 * 5];
        fixed (byte* pw = w, pa = a)
        fixed (float* py = y)
        {
            dot4(pw, pa, stride, blocks, py, 5, tier);
            for (int i = 0; i < 4; i++)
            {
                Assert.Equal(BitConverter.SingleToInt32Bits(dot(pw, pa + i * stride, blocks, tier)), BitConverter.SingleToInt32Bits(y[i * 5]));
            }
        }
    }

    public static unsafe void AssertDotMatchesDequantizedProductInDouble(GgmlType type, Dot dot, SimdTier tier, int blocks)
    {
        byte[] w = new byte[blocks * TensorTypes.BlockBytes(type)], a = new byte[blocks * 34];
        TensorTypes.Quantize(type, TestData.Random(blocks * 32, 71), w);
        float[] x = TestData.Random(blocks * 32, 72, 2f);
        fixed (float* px = x)
        fixed (byte* pa = a)
        {
            Q8_0.QuantizeActivation(px, pa, x.Length, SimdTier.Scalar);
        }
        float[] wv = new float[blocks * 32], xv = new float[blocks * 32];
        TensorTypes.Dequantize(type, w, wv);
        TensorTypes.Dequantize(GgmlType.Q8_0, a, xv);
        double exact = 0, magnitude = 0;
        for (int j = 0; j < wv.Length; j++)
        {
            exact += (double)wv[j] * xv[j];
            magnitude += Math.Abs((double)wv[j] * xv[j]);
        }
        fixed (byte* pw = w, pa = a)
        {
            float value = dot(pw, pa, blocks, tier);
            // One rounding of d_w·d_x, one fused step per block and lane, and the final lane sums: a few float ulps
            // of the magnitude per block.
            Assert.True(Math.Abs(value - exact) <= (blocks + 4) * 4 * TestData.U * magnitude, $"{value} vs {exact}");
        }
    }
}

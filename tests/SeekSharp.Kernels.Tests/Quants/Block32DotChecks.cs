using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

/// <summary>
/// Checks shared by the 32-block weight types, whose vec_dot_type is Q8_0 (Q8_0, Q4_0, Q5_0) or Q8_1 (Q4_1, Q5_1):
/// the four-token kernel equals the single dot bit for bit, and the eight-lane dot equals the dequantized product up
/// to float rounding (and, for Q8_1, the half rounding of the block sum that carries the weights' offsets); and for
/// the symmetric types (Q4_0, Q5_0) the reference quantizer's round trip error.
/// </summary>
internal static class Block32DotChecks
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

    /// <summary>True when <paramref name="type"/> dots against Q8_1 (a weight with an offset), false for Q8_0.</summary>
    public static bool TakesQ8_1(GgmlType type) => type is GgmlType.Q4_1 or GgmlType.Q5_1;

    public static int ActivationBlockBytes(GgmlType type) => TakesQ8_1(type) ? Q8_1.BlockBytes : Q8_0.BlockBytes;

    /// <summary>Quantizes <paramref name="x"/> to the vec_dot_type of <paramref name="type"/> as MatMul does.</summary>
    public static unsafe byte[] QuantizeActivation(GgmlType type, float[] x, SimdTier tier)
    {
        byte[] a = new byte[x.Length / 32 * ActivationBlockBytes(type)];
        fixed (float* px = x)
        fixed (byte* pa = a)
        {
            if (TakesQ8_1(type))
                Q8_1.QuantizeActivation(px, pa, x.Length, tier);
            else
                Q8_0.QuantizeActivation(px, pa, x.Length, tier);
        }
        return a;
    }

    /// <summary>The activation blocks back to float, <c>qs[j] · d</c>.</summary>
    public static unsafe float[] DequantizeActivation(GgmlType type, byte[] a)
    {
        float[] x = new float[a.Length / ActivationBlockBytes(type) * 32];
        if (TakesQ8_1(type))
        {
            fixed (byte* pa = a)
            fixed (float* px = x)
            {
                Q8_1.Dequantize(pa, px, x.Length / 32);
            }
        }
        else
        {
            TensorTypes.Dequantize(GgmlType.Q8_0, a, x);
        }
        return x;
    }

    /// <summary>
    /// How far a Q8_1 dot may be from the exact product of the decoded values beyond float rounding: per block, the
    /// offset m times the half rounding of s = d·Σq (2^-11, relative) and of the decoded d (2^-11), plus a half
    /// subnormal's absolute error. Zero for the Q8_0 types.
    /// </summary>
    public static double OffsetBound(GgmlType type, ReadOnlySpan<byte> weightRow, ReadOnlySpan<float> seenActivation)
    {
        if (!TakesQ8_1(type))
            return 0;
        int blockBytes = TensorTypes.BlockBytes(type);
        double bound = 0;
        for (int b = 0; b < seenActivation.Length / 32; b++)
        {
            double m = Math.Abs(F16.ToSingle(BitConverter.ToUInt16(weightRow.Slice(b * blockBytes + 2, 2))));
            double magnitude = 0;
            foreach (float v in seenActivation.Slice(b * 32, 32))
                magnitude += Math.Abs(v);
            bound += m * (1.01 * magnitude / 1024 + 1.0 / (1 << 24));
        }
        return bound;
    }

    public static unsafe void AssertFourTokenDotEqualsSingleDots(GgmlType type, Dot dot, FourTokenDot dot4, SimdTier tier, int blocks)
    {
        long stride = 3 * 34 + ActivationBlockBytes(type) * 17;   // activation rows further apart than one row, as in a batch
        byte[] w = new byte[blocks * TensorTypes.BlockBytes(type)], a = new byte[4 * stride];
        TensorTypes.Quantize(type, TestData.Random(blocks * 32, 42), w);
        for (int i = 0; i < 4; i++)
        {
            QuantizeActivation(type, TestData.Random(blocks * 32, 60 + i, 3f), SimdTier.Scalar).CopyTo(a, i * stride);
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
        byte[] w = new byte[blocks * TensorTypes.BlockBytes(type)];
        TensorTypes.Quantize(type, TestData.Random(blocks * 32, 71), w);
        byte[] a = QuantizeActivation(type, TestData.Random(blocks * 32, 72, 2f), SimdTier.Scalar);
        float[] wv = new float[blocks * 32];
        TensorTypes.Dequantize(type, w, wv);
        float[] xv = DequantizeActivation(type, a);
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
            double bound = (blocks + 4) * 4 * TestData.U * magnitude + OffsetBound(type, w, xv);
            Assert.True(Math.Abs(value - exact) <= bound, $"{value} vs {exact}");
        }
    }

    /// <summary>Every tier of the dot gives the scalar twin's bits.</summary>
    public static unsafe void AssertDotIsBitExactAcrossTiers(GgmlType type, Dot dot, SimdTier tier, int blocks)
    {
        byte[] w = new byte[blocks * TensorTypes.BlockBytes(type)];
        TensorTypes.Quantize(type, TestData.Random(blocks * 32, 51), w);
        byte[] a = QuantizeActivation(type, TestData.Random(blocks * 32, 52), SimdTier.Scalar);
        fixed (byte* pw = w, pa = a)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(dot(pw, pa, blocks, SimdTier.Scalar)), BitConverter.SingleToInt32Bits(dot(pw, pa, blocks, tier)));
        }
    }

    /// <summary>
    /// The reference quantizer of a symmetric type (d = max / −<paramref name="levelsBelowZero"/>, q = x/d rounded,
    /// clamped to the top level) reads back within half a step, or one step where a value of the sign opposite to max
    /// lies beyond the top level, plus the half rounding of d, which the largest level multiplies.
    /// </summary>
    public static void AssertRoundTripIsWithinHalfAStep(GgmlType type, int levelsBelowZero)
    {
        const int blocks = 64;
        int blockBytes = TensorTypes.BlockBytes(type);
        float[] x = TestData.Random(32 * blocks, 50, 10f);
        byte[] q = new byte[blockBytes * blocks];
        float[] y = new float[x.Length];
        TensorTypes.Quantize(type, x, q);
        TensorTypes.Dequantize(type, q, y);
        for (int b = 0; b < blocks; b++)
        {
            float amax = 0, max = 0;
            for (int j = 0; j < 32; j++)
            {
                float v = x[b * 32 + j];
                if (amax < Math.Abs(v))
                {
                    amax = Math.Abs(v);
                    max = v;
                }
            }
            double d = Math.Abs(max / -(float)levelsBelowZero);
            double dh = Math.Abs(F16.ToSingle(BitConverter.ToUInt16(q, b * blockBytes)));
            for (int j = 0; j < 32; j++)
            {
                float v = x[b * 32 + j];
                bool clamped = Math.Abs(v) / d > levelsBelowZero - 0.5 && Math.Sign(v) != Math.Sign(max);
                double bound = (clamped ? d : d / 2) + levelsBelowZero * Math.Abs(d - dh) + 4 * TestData.U * amax;
                Assert.True(Math.Abs(y[b * 32 + j] - v) <= bound, $"{type} block {b} j {j}: {v} → {y[b * 32 + j]}");
            }
        }
    }
}

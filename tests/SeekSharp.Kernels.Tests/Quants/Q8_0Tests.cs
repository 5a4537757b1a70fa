using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

public class Q8_0Tests
{
    /// <summary>A block with amax 127, so d = 1 and id = 1 exactly and every quant is checkable by hand.</summary>
    private static float[] HandBlock()
    {
        var x = new float[32];
        for (int j = 0; j < 32; j++)
        {
            x[j] = j - 16;                       // -16 .. 15
        }
        x[0] = 127f;                             // amax → d = 127 / 127 = 1
        x[1] = -2.5f;                            // halfway cases: the two quantizers round them differently
        x[2] = 2.5f;
        x[3] = 0.5f;
        x[4] = -0.5f;
        x[5] = 1.5f;
        x[6] = -126.6f;
        return x;
    }

    [Fact]
    public void ReferenceQuantizerKnownBlock()
    {
        byte[] q = new byte[34];
        TensorTypes.Quantize(GgmlType.Q8_0, HandBlock(), q);
        Assert.Equal(0x00, q[0]);                // d = 1.0 = half 0x3C00, little endian
        Assert.Equal(0x3C, q[1]);
        sbyte[] qs = q[2..].Select(b => (sbyte)b).ToArray();
        // roundf: halves away from zero.
        Assert.Equal(new sbyte[] { 127, -3, 3, 1, -1, 2, -127 }, qs[..7]);
        for (int j = 7; j < 32; j++)
        {
            Assert.Equal(j - 16, qs[j]);
        }
    }

    [Fact]
    public unsafe void ActivationQuantizerKnownBlockRoundsHalvesToEven()
    {
        float[] x = HandBlock();
        byte[] q = new byte[34];
        fixed (float* px = x)
        fixed (byte* pq = q)
        {
            foreach (SimdTier tier in new[] { SimdTier.Scalar, SimdTier.Vector256, SimdTier.Vector512 })
            {
                Array.Clear(q);
                Q8_0.QuantizeActivation(px, pq, 32, tier);
                Assert.Equal(0x00, q[0]);
                Assert.Equal(0x3C, q[1]);
                sbyte[] qs = q[2..].Select(b => (sbyte)b).ToArray();
                Assert.Equal(new sbyte[] { 127, -2, 2, 0, 0, 2, -127 }, qs[..7]);
            }
        }
    }

    [Fact]
    public void DequantizeKnownBlock()
    {
        byte[] q = new byte[34];
        q[0] = 0x00;
        q[1] = 0x38;                             // d = 0.5
        q[2] = 4;
        q[3] = unchecked((byte)-6);
        q[33] = 127;
        float[] y = new float[32];
        TensorTypes.Dequantize(GgmlType.Q8_0, q, y);
        Assert.Equal(2f, y[0]);
        Assert.Equal(-3f, y[1]);
        Assert.Equal(63.5f, y[31]);
        Assert.All(y[2..31], v => Assert.Equal(0f, v));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public unsafe void DecodeGivesDequantizesBitsAtEveryTier(int tier)
    {
        foreach (int blocks in TestData.BlockCounts)
        {
            float[] x = TestData.Random(blocks * 32, 40 + blocks, 100f);
            byte[] q = new byte[blocks * 34];
            TensorTypes.Quantize(GgmlType.Q8_0, x, q);
            float[] expected = new float[x.Length], actual = new float[x.Length];
            TensorTypes.Dequantize(GgmlType.Q8_0, q, expected);
            fixed (byte* pq = q)
            fixed (float* pa = actual)
            {
                Q8_0.Decode(pq, pa, blocks, (SimdTier)tier);
            }
            Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void ZeroBlockHasZeroScaleAndQuants()
    {
        byte[] q = Enumerable.Repeat((byte)0xAA, 34).ToArray();
        TensorTypes.Quantize(GgmlType.Q8_0, new float[32], q);
        Assert.All(q, b => Assert.Equal(0, b));
    }

    [Fact]
    public void RoundTripErrorIsWithinHalfAStepPlusScaleRounding()
    {
        float[] x = TestData.Random(32 * 64, 40, 10f);
        byte[] q = new byte[34 * 64];
        float[] y = new float[x.Length];
        TensorTypes.Quantize(GgmlType.Q8_0, x, q);
        TensorTypes.Dequantize(GgmlType.Q8_0, q, y);
        for (int b = 0; b < 64; b++)
        {
            float amax = 0;
            for (int j = 0; j < 32; j++)
            {
                amax = Math.Max(amax, Math.Abs(x[b * 32 + j]));
            }
            double d = amax / 127f;
            double dh = F16.ToSingle(BitConverter.ToUInt16(q, b * 34));
            for (int j = 0; j < 32; j++)
            {
                // Half a quantization step, plus |q| ≤ 127 times the error of storing d as a half,
                // plus float rounding of x·id.
                double bound = d / 2 + 127 * Math.Abs(d - dh) + 4 * TestData.U * amax;
                Assert.True(Math.Abs(y[b * 32 + j] - x[b * 32 + j]) <= bound, $"block {b} j {j}");
            }
        }
    }

    public static TheoryData<Tier, int> Cases() => TestData.VectorTiersAndBlockCounts();

    [Theory, MemberData(nameof(Cases))]
    public unsafe void ActivationQuantizerIsBitExactAcrossTiers(Tier t, int blocks)
    {
        var tier = (SimdTier)t;
        float[] x = TestData.Random(blocks * 32, 41, 3f);
        byte[] qv = new byte[blocks * 34], qs = new byte[blocks * 34];
        fixed (float* px = x)
        fixed (byte* pv = qv, ps = qs)
        {
            Q8_0.QuantizeActivation(px, pv, x.Length, tier);
            Q8_0.QuantizeActivation(px, ps, x.Length, SimdTier.Scalar);
        }
        Assert.Equal(qs, qv);
    }

    [Theory, MemberData(nameof(Cases))]
    public unsafe void DotIsBitExactAcrossTiers(Tier t, int blocks)
    {
        var tier = (SimdTier)t;
        byte[] w = new byte[blocks * 34], a = new byte[blocks * 34];
        TensorTypes.Quantize(GgmlType.Q8_0, TestData.Random(blocks * 32, 42), w);
        TensorTypes.Quantize(GgmlType.Q8_0, TestData.Random(blocks * 32, 43), a);
        // Include the extreme weight quant -128 (legal in files, never produced by the quantizer). The activation
        // never holds it: the activation quantizer stays within ±127 (tested below).
        if (blocks > 0)
        {
            w[2] = 0x80;
        }
        fixed (byte* pw = w, pa = a)
        {
            Assert.Equal(Q8_0.Dot(pw, pa, blocks, SimdTier.Scalar), Q8_0.Dot(pw, pa, blocks, tier));
        }
    }

    [Fact]
    public unsafe void DotKnownValue()
    {
        // Two blocks: w = all 2 with d = 0.5, x = 1..32 with d = 0.25 → block sum Σ 2·j = 2·528,
        // scaled by 0.125; second block negated.
        byte[] w = new byte[68], x = new byte[68];
        for (int b = 0; b < 2; b++)
        {
            BitConverter.TryWriteBytes(w.AsSpan(b * 34), (ushort)0x3800);   // 0.5
            BitConverter.TryWriteBytes(x.AsSpan(b * 34), (ushort)0x3400);   // 0.25
            for (int j = 0; j < 32; j++)
            {
                w[b * 34 + 2 + j] = (byte)(b == 0 ? 2 : unchecked((byte)-2));
                x[b * 34 + 2 + j] = (byte)(j + 1);
            }
        }
        fixed (byte* pw = w, px = x)
        {
            Assert.Equal(0f, Q8_0.Dot(pw, px, 2, SimdTier.Scalar));
            Assert.Equal(1056f * 0.125f, Q8_0.Dot(pw, px, 1, SimdTier.Vector256));
            Assert.Equal(0f, Q8_0.Dot(pw, px, 2, SimdTier.Vector512));
        }
    }

    public static TheoryData<Tier, int> TiersWithScalar() => Block32DotChecks.TiersWithScalar();

    [Theory, MemberData(nameof(TiersWithScalar))]
    public unsafe void FourTokenDotEqualsSingleDotsBitForBit(Tier t, int blocks) =>
        Block32DotChecks.AssertFourTokenDotEqualsSingleDots(GgmlType.Q8_0, Q8_0.Dot, Q8_0.Dot4, (SimdTier)t, blocks);

    [Theory, MemberData(nameof(TiersWithScalar))]
    public unsafe void DotMatchesDequantizedProductInDouble(Tier t, int blocks) =>
        Block32DotChecks.AssertDotMatchesDequantizedProductInDouble(GgmlType.Q8_0, Q8_0.Dot, (SimdTier)t, blocks);

    [Fact]
    public unsafe void ActivationQuantizerNeverProducesMinus128()
    {
        // The lane dot relies on it (vpsignb cannot negate -128). The most negative value of a block is -amax,
        // which quantizes to exactly -127; random blocks and one-hot blocks must stay in range on every tier.
        var rng = new Random(5);
        float[] x = new float[32 * 64];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)(rng.NextDouble() - 0.5) * MathF.Pow(2, rng.Next(-20, 20));
        }
        for (int b = 0; b < 64; b += 4)
        {
            x[b * 32 + b % 32] = -1e30f;
        }
        byte[] q = new byte[64 * 34];
        foreach (SimdTier tier in new[] { SimdTier.Scalar, SimdTier.Vector256, SimdTier.Vector512 })
        {
            fixed (float* px = x)
            fixed (byte* pq = q)
            {
                Q8_0.QuantizeActivation(px, pq, x.Length, tier);
            }
            for (int b = 0; b < 64; b++)
            {
                for (int j = 0; j < 32; j++)
                {
                    Assert.NotEqual(-128, (sbyte)q[b * 34 + 2 + j]);
                }
            }
        }
    }
}

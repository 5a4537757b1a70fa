using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

public class F16Tests
{
    /// <summary>
    /// ggml's portable float → half routine (ggml-impl.h, after Maratyszcza's FP16 library), restated as
    /// an independent oracle: the float is scaled so the FPU's own round-to-nearest-even drops the extra
    /// mantissa bits, NaN becomes sign | 0x7E00.
    /// </summary>
    private static ushort GgmlFp32ToFp16(float f)
    {
        float baseValue = MathF.Abs(f) * BitConverter.UInt32BitsToSingle(0x77800000u) * BitConverter.UInt32BitsToSingle(0x08800000u);
        uint w = BitConverter.SingleToUInt32Bits(f);
        uint shl1W = w + w;
        uint sign = w & 0x80000000u;
        uint bias = shl1W & 0xFF000000u;
        if (bias < 0x71000000u)
        {
            bias = 0x71000000u;
        }
        baseValue = BitConverter.UInt32BitsToSingle((bias >> 1) + 0x07800000u) + baseValue;
        uint bits = BitConverter.SingleToUInt32Bits(baseValue);
        uint expBits = (bits >> 13) & 0x00007C00u;
        uint mantissaBits = bits & 0x00000FFFu;
        uint nonsign = expBits + mantissaBits;
        return (ushort)((sign >> 16) | (shl1W > 0xFF000000u ? 0x7E00u : nonsign));
    }

    private static IEnumerable<uint> SampledFloatBits()
    {
        // A stride coprime to 2^32 visits every exponent and mantissa pattern class; ties, halfway
        // points and the subnormal/overflow edges are added explicitly.
        for (ulong b = 0; b < (1UL << 32); b += 2049)
        {
            yield return (uint)b;
        }
        for (uint e = 0; e < 256; e++)
        {
            foreach (uint m in new uint[] { 0, 1, 0xFFF, 0x1000, 0x1001, 0x2000, 0x3000, 0x7FFFFF, 0x7FF000, 0x7FE000, 0x400000 })
            {
                yield return (e << 23) | m;
                yield return 0x80000000u | (e << 23) | m;
            }
        }
    }

    [Fact]
    public void FromSingleIsBitExactWithGgml()
    {
        foreach (uint bits in SampledFloatBits())
        {
            float f = BitConverter.UInt32BitsToSingle(bits);
            ushort expected = GgmlFp32ToFp16(f);
            ushort actual = F16.FromSingle(f);
            if (expected != actual)
            {
                Assert.Fail($"0x{bits:X8}: ggml 0x{expected:X4}, ours 0x{actual:X4}");
            }
        }
    }

    [Fact]
    public void RuntimeConvertersRoundLikeGgmlForNonNaN()
    {
        // The activation path uses TensorPrimitives.ConvertToHalf; it must round like ggml (F16C) too.
        float[] src = SampledFloatBits().Select(BitConverter.UInt32BitsToSingle).Where(f => !float.IsNaN(f)).ToArray();
        Half[] h = new Half[src.Length];
        TensorPrimitives.ConvertToHalf(src, h);
        for (int i = 0; i < src.Length; i++)
        {
            Assert.Equal(GgmlFp32ToFp16(src[i]), BitConverter.HalfToUInt16Bits(h[i]));
        }
    }

    [Theory]
    [InlineData(1.0f, 0x3C00)]
    [InlineData(-2.0f, 0xC000)]
    [InlineData(65504f, 0x7BFF)]                 // largest half
    [InlineData(65520f, 0x7C00)]                 // halfway to 65536: ties to even → +inf
    [InlineData(1.00048828125f, 0x3C00)]         // 1 + 2^-11, tie → even (1.0)
    [InlineData(1.00146484375f, 0x3C02)]         // 1 + 3·2^-11, tie → even (1 + 2^-9)
    [InlineData(5.9604645e-8f, 0x0001)]          // 2^-24, smallest subnormal
    [InlineData(2.9802322e-8f, 0x0000)]          // 2^-25, tie → even (0)
    [InlineData(4.4703484e-8f, 0x0001)]          // 0.75·2^-24 → 2^-24
    [InlineData(float.NaN, 0xFE00)]              // .NET's NaN has the sign bit set; ggml keeps only the sign
    [InlineData(float.PositiveInfinity, 0x7C00)]
    public void KnownConversions(float f, int expected)
    {
        Assert.Equal((ushort)expected, F16.FromSingle(f));
    }

    [Fact]
    public unsafe void VectorWidenIsExactForAllHalfBitPatterns()
    {
        var bits = new ushort[65536];
        for (int i = 0; i < bits.Length; i++)
        {
            bits[i] = (ushort)i;
        }
        fixed (ushort* p = bits)
        {
            for (int i = 0; i < bits.Length; i += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Load(p + i));
                var w512 = F16.Widen(Vector512.Create(lo, hi));
                var w256 = F16.Widen(lo);
                for (int k = 0; k < 16; k++)
                {
                    uint expected = BitConverter.SingleToUInt32Bits(F16.ToSingle(bits[i + k]));
                    Assert.Equal(expected, BitConverter.SingleToUInt32Bits(w512.GetElement(k)));
                    if (k < 8)
                    {
                        Assert.Equal(expected, BitConverter.SingleToUInt32Bits(w256.GetElement(k)));
                    }
                }
            }
        }
    }

    [Fact]
    public void DequantizeAndTableAreExactForAllHalfBitPatterns()
    {
        // Dequantize uses TensorPrimitives; it must widen every pattern exactly like (float)Half.
        byte[] src = new byte[65536 * 2];
        for (int i = 0; i < 65536; i++)
        {
            BitConverter.TryWriteBytes(src.AsSpan(i * 2), (ushort)i);
        }
        float[] dst = new float[65536];
        TensorTypes.Dequantize(GgmlType.F16, src, dst);
        for (int i = 0; i < 65536; i++)
        {
            uint expected = BitConverter.SingleToUInt32Bits(F16.ToSingle((ushort)i));
            Assert.Equal(expected, BitConverter.SingleToUInt32Bits(dst[i]));
            Assert.Equal(expected, BitConverter.SingleToUInt32Bits(F16.ToSingleFast((ushort)i)));
        }
    }

    [Fact]
    public void RoundTripErrorIsHalfAnUlpOfHalf()
    {
        float[] x = TestData.Random(4096, 20, 100f);
        byte[] enc = new byte[x.Length * 2];
        float[] dec = new float[x.Length];
        TensorTypes.Quantize(GgmlType.F16, x, enc);
        TensorTypes.Dequantize(GgmlType.F16, enc, dec);
        for (int i = 0; i < x.Length; i++)
        {
            // Normal halves carry 11 significant bits: relative error ≤ 2^-11; subnormals ≤ 2^-25 absolute.
            Assert.True(Math.Abs(dec[i] - x[i]) <= Math.Max(Math.Abs(x[i]) * Math.Pow(2, -11), Math.Pow(2, -25)), $"{x[i]} → {dec[i]}");
        }
    }

    public static TheoryData<Tier, int> Cases() => TestData.VectorTiersAndLengths();

    [Theory, MemberData(nameof(Cases))]
    public unsafe void DotMatchesScalarWithinSummationBound(Tier t, int n)
    {
        var tier = (SimdTier)t;
        float[] wf = TestData.Random(n, 21), x = TestData.Random(n, 22);
        ushort[] w = wf.Select(F16.FromSingle).ToArray();
        fixed (ushort* pw = w)
        fixed (float* px = x)
        {
            float vec = F16.Dot(pw, px, n, tier);
            float scalar = F16.Dot(pw, px, n, SimdTier.Scalar);
            double sumAbs = 0;
            for (int i = 0; i < n; i++)
            {
                sumAbs += Math.Abs(F16.ToSingle(w[i]) * (double)x[i]);
            }
            Assert.True(Math.Abs(vec - scalar) <= TestData.SummationBound(n, sumAbs), $"vec {vec} scalar {scalar}");
        }
    }

    /// <summary>
    /// The Vector256 dot widens finite halves by a shortcut that would turn inf and NaN into finite values; a
    /// weight row holding one must take the exact widening and give the scalar result (±inf or NaN).
    /// </summary>
    [Theory]
    [InlineData(0x7C00, 5), InlineData(0xFC00, 17), InlineData(0x7E00, 40), InlineData(0xFD01, 63)]
    public unsafe void DotPropagatesInfAndNaNWeights(int special, int at)
    {
        foreach (Tier t in new[] { Tier.Vector256, Tier.Vector512 })
        {
            float[] wf = TestData.Random(64, 23), x = TestData.Random(64, 24);
            ushort[] w = wf.Select(F16.FromSingle).ToArray();
            w[at] = (ushort)special;
            x[at] = 0.5f;
            fixed (ushort* pw = w)
            fixed (float* px = x)
            {
                float vec = F16.Dot(pw, px, w.Length, (SimdTier)t);
                float scalar = F16.Dot(pw, px, w.Length, SimdTier.Scalar);
                Assert.True(float.IsInfinity(scalar) || float.IsNaN(scalar), $"scalar {scalar}");
                Assert.Equal(scalar, vec);
            }
        }
    }

    public static TheoryData<int, int> FourTokenCases()
    {
        var data = new TheoryData<int, int>();
        foreach (SimdTier tier in new[] { SimdTier.Scalar, SimdTier.Vector256, SimdTier.Vector512 })
        {
            foreach (int n in new[] { 0, 1, 7, 8, 9, 16, 17, 24, 31, 33, 259 })
            {
                data.Add((int)tier, n);
            }
        }
        return data;
    }

    /// <summary>The four-token kernel of the batched matmul: each output equals the single dot of its pair, bit for bit,
    /// including rows with an infinity (which take the exact widening).</summary>
    [Theory, MemberData(nameof(FourTokenCases))]
    public unsafe void FourTokenDotEqualsSingleDots(int t, int n)
    {
        var tier = (SimdTier)t;
        foreach (bool withInfinity in new[] { false, true })
        {
            ushort[] w = TestData.Random(n, 25).Select(F16.FromSingle).ToArray();
            if (withInfinity && n > 0)
            {
                w[n / 2] = 0x7C00;
            }
            int stride = n + 5;
            float[] x = TestData.Random(4 * stride, 26).Select(v => F16.ToSingle(F16.FromSingle(v))).ToArray();
            float[] y = new float[4 * 2];
            fixed (ushort* pw = w)
            fixed (float* px = x, py = y)
            {
                F16.Dot4(pw, px, stride, n, py, 2, tier);
                for (int i = 0; i < 4; i++)
                {
                    float single = F16.Dot(pw, px + i * stride, n, tier);
                    Assert.Equal(BitConverter.SingleToInt32Bits(single), BitConverter.SingleToInt32Bits(y[i * 2]));
                }
            }
        }
    }
}

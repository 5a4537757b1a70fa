using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

public class BF16Tests
{
    [Theory]
    [InlineData(0x3F800000u, 0x3F80)]   // 1.0
    [InlineData(0x3F808000u, 0x3F80)]   // 1 + 2^-8: tie → even mantissa (down)
    [InlineData(0x3F818000u, 0x3F82)]   // 1 + 3·2^-8: tie → even mantissa (up)
    [InlineData(0x3F808001u, 0x3F81)]   // just above the tie → up
    [InlineData(0xBF80FFFFu, 0xBF81)]   // negative rounds by magnitude
    [InlineData(0x7F7FFFFFu, 0x7F80)]   // float.MaxValue rounds to +inf
    [InlineData(0x00000001u, 0x0000)]   // smallest subnormal rounds to zero
    [InlineData(0x00018000u, 0x0002)]   // subnormals are rounded, not flushed (current ggml)
    [InlineData(0x7F800001u, 0x7FC0)]   // signalling NaN: truncated, quiet bit forced
    [InlineData(0xFFC12345u, 0xFFC1)]   // quiet NaN keeps its top payload bits
    [InlineData(0x7F800000u, 0x7F80)]   // +inf
    public void KnownConversions(uint floatBits, int expected)
    {
        Assert.Equal((ushort)expected, BF16.FromSingle(BitConverter.UInt32BitsToSingle(floatBits)));
    }

    [Fact]
    public void DecodeIsAShift()
    {
        Assert.Equal(1.0f, BF16.ToSingle(0x3F80));
        Assert.Equal(-2.0f, BF16.ToSingle(0xC000));
        Assert.Equal(0x12340000u, BitConverter.SingleToUInt32Bits(BF16.ToSingle(0x1234)));
    }

    [Fact]
    public void RoundTripErrorIsHalfAnUlpOfBf16()
    {
        float[] x = TestData.Random(4096, 30, 1e6f);
        byte[] enc = new byte[x.Length * 2];
        float[] dec = new float[x.Length];
        TensorTypes.Quantize(GgmlType.BF16, x, enc);
        TensorTypes.Dequantize(GgmlType.BF16, enc, dec);
        for (int i = 0; i < x.Length; i++)
        {
            Assert.True(Math.Abs(dec[i] - x[i]) <= Math.Abs(x[i]) * Math.Pow(2, -8), $"{x[i]} → {dec[i]}");
        }
    }

    public static TheoryData<Tier, int> Cases() => TestData.VectorTiersAndLengths();

    [Theory, MemberData(nameof(Cases))]
    public void DequantizeVectorPathsMatchTheScalarShift(Tier t, int n)
    {
        // Random bit patterns: every sign, exponent (subnormals, inf, NaN payloads included) and mantissa.
        var rng = new Random(n);
        var bytes = new byte[n * 2];
        rng.NextBytes(bytes);
        var got = new float[n];
        BF16.Dequantize(bytes, got, (SimdTier)t);
        for (int i = 0; i < n; i++)
            Assert.Equal((uint)BitConverter.ToUInt16(bytes, 2 * i) << 16, BitConverter.SingleToUInt32Bits(got[i]));
    }

    [Theory, MemberData(nameof(Cases))]
    public unsafe void DotMatchesScalarWithinSummationBound(Tier t, int n)
    {
        var tier = (SimdTier)t;
        float[] wf = TestData.Random(n, 31), x = TestData.Random(n, 32);
        ushort[] w = wf.Select(BF16.FromSingle).ToArray();
        fixed (ushort* pw = w)
        fixed (float* px = x)
        {
            float vec = BF16.Dot(pw, px, n, tier);
            float scalar = BF16.Dot(pw, px, n, SimdTier.Scalar);
            double sumAbs = 0;
            for (int i = 0; i < n; i++)
            {
                sumAbs += Math.Abs(BF16.ToSingle(w[i]) * (double)x[i]);
            }
            Assert.True(Math.Abs(vec - scalar) <= TestData.SummationBound(n, sumAbs), $"vec {vec} scalar {scalar}");
        }
    }
}

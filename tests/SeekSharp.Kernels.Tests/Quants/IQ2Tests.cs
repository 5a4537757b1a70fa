using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

/// <summary>
/// IQ2_XXS, IQ2_XS and IQ2_S (read only): the dot against the decoded values, the dot across tiers, and MatMul on
/// the types. Bit-exactness of the decoding (and so of the grids) with ggml's dequantize_row_iq2_* is in the
/// conformance tests (GgmlDequantizeTests).
/// </summary>
public class IQ2Tests
{
    public static TheoryData<string> Types()
    {
        var data = new TheoryData<string>();
        foreach (var t in new[] { GgmlType.IQ2_XXS, GgmlType.IQ2_XS, GgmlType.IQ2_S })
        {
            if (TensorTypes.IsSupported(t))
            {
                data.Add(t.ToString());
            }
        }
        return data;
    }

    /// <summary>Random blocks: every bit pattern of indices, signs and scales is legal; the half scale d (at 0) is finite.</summary>
    private static byte[] RandomWeights(GgmlType type, int blocks, int seed)
    {
        int blockBytes = TensorTypes.BlockBytes(type);
        var rng = new Random(seed);
        byte[] w = new byte[blocks * blockBytes];
        rng.NextBytes(w);
        for (int b = 0; b < blocks; b++)
        {
            BitConverter.TryWriteBytes(w.AsSpan(b * blockBytes), F16.FromSingle((float)rng.NextDouble() * 0.01f));
        }
        return w;
    }

    private static unsafe float Dot(GgmlType type, byte[] w, byte[] x, int blocks, SimdTier tier)
    {
        fixed (byte* pw = w, px = x)
        {
            return TypeTraits.For(type).Dot(pw, px, blocks, tier);
        }
    }

    [Theory, MemberData(nameof(Types))]
    public void IsRegisteredReadOnlyWithQ8_KActivations(string typeName)
    {
        var type = Enum.Parse<GgmlType>(typeName);
        Assert.True(TensorTypes.IsSupported(type));
        Assert.False(TensorTypes.CanEncode(type));
        Assert.Equal(256, TensorTypes.BlockSize(type));
        Assert.Equal(GgmlType.Q8_K, TypeTraits.For(type).DotType);
    }

    [Theory, MemberData(nameof(Types))]
    public void DotEqualsDecodedDotUpToRounding(string typeName)
    {
        var type = Enum.Parse<GgmlType>(typeName);
        foreach (int blocks in new[] { 1, 4 })
        {
            byte[] w = RandomWeights(type, blocks, 310 + blocks);
            byte[] x = Q8_KTests.Quantize(TestData.Random(blocks * 256, 311 + blocks, 2f), SimdTier.Scalar);
            float dot = Dot(type, w, x, blocks, SimdTier.Scalar);
            float[] wd = new float[blocks * 256], xd = new float[blocks * 256];
            TensorTypes.Dequantize(type, w, wd);
            Q8_K.Dequantize(x, xd);
            double exact = 0, sumAbs = 0;
            for (int i = 0; i < wd.Length; i++)
            {
                exact += (double)wd[i] * xd[i];
                sumAbs += Math.Abs((double)wd[i] * xd[i]);
            }
            // The decoding rounds three times per weight (d·(0.5 + s), ·0.25 is exact, ·magnitude) and Q8_K's decoding
            // once; the dot rounds d·y_d, each block's product and the block sum.
            double bound = 8 * TestData.U * sumAbs + TestData.SummationBound(2 * blocks + 2, sumAbs);
            Assert.True(Math.Abs(dot - exact) <= bound, $"{type}: {dot} vs {exact} (bound {bound})");
        }
    }

    [Theory, MemberData(nameof(Types))]
    public void DotIsBitExactAcrossTiers(string typeName)
    {
        var type = Enum.Parse<GgmlType>(typeName);
        foreach (int blocks in new[] { 0, 1, 3 })
        {
            byte[] w = RandomWeights(type, blocks, 320 + blocks);
            byte[] x = Q8_KTests.Quantize(TestData.Random(blocks * 256, 321 + blocks, 2f), SimdTier.Scalar);
            int scalar = BitConverter.SingleToInt32Bits(Dot(type, w, x, blocks, SimdTier.Scalar));
            Assert.Equal(scalar, BitConverter.SingleToInt32Bits(Dot(type, w, x, blocks, SimdTier.Vector256)));
            Assert.Equal(scalar, BitConverter.SingleToInt32Bits(Dot(type, w, x, blocks, SimdTier.Vector512)));
        }
    }

    [Theory, MemberData(nameof(Types))]
    public unsafe void MatMulGivesTheDotOfEveryRowAndToken(string typeName)
    {
        var type = Enum.Parse<GgmlType>(typeName);
        const int rows = 7, cols = 512;
        byte[] w = RandomWeights(type, rows * cols / 256, 330);
        int rowBytes = (int)TensorTypes.RowBytes(type, cols);
        foreach (int n in new[] { 1, 5 })
        {
            float[] x = TestData.Random(n * cols, 331 + n, 2f);
            float[] y = new float[n * rows];
            fixed (byte* pw = w)
            {
                MatMul.MatMulRows(type, pw, rows, cols, x, y, n);
            }
            for (int i = 0; i < n; i++)
            {
                byte[] xq = Q8_KTests.Quantize(x[(i * cols)..((i + 1) * cols)], SimdTier.Scalar);
                for (int r = 0; r < rows; r++)
                {
                    float expected = Dot(type, w[(r * rowBytes)..((r + 1) * rowBytes)], xq, cols / 256, SimdTier.Scalar);
                    Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(y[i * rows + r]));
                }
            }
        }
    }
}

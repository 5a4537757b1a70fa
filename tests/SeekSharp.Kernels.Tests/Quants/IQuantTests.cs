using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

/// <summary>
/// Checks shared by the i-quant weight types that dot against Q8_K one type at a time (IQ3_XXS, IQ3_S, IQ4_XS): each
/// vector tier of the dot gives the scalar twin's bits, the dot on every tier equals Σ decoded weight · decoded
/// activation up to float rounding, MatMul gives the scalar dot of every row below the GEMM threshold and the exact
/// product of what the dot sees from it on, and the type is registered with Q8_K activations on whole super-blocks.
/// Each type's own layout (a block decoded by hand, its extremes) stays in its own class.
/// </summary>
/// <param name="type">The weight type under test.</param>
/// <param name="blockBytes">Its super-block size in bytes, from the format (checked against the type table, not read from it).</param>
/// <param name="encodes">Whether the type has a quantizer.</param>
/// <param name="firstSeed">First seed of the random weights and activations; each check takes its own range above it.</param>
public abstract class IQuantTests(GgmlType type, int blockBytes, bool encodes, int firstSeed)
{
    internal unsafe float Dot(byte[] w, byte[] x, int blocks, SimdTier tier)
    {
        fixed (byte* pw = w, px = x)
        {
            return TypeTraits.For(type).Dot(pw, px, blocks, tier);
        }
    }

    /// <summary>The super-block scale d (a half at offset 0) of a random block; small so that the int32 sums stay far from float overflow.</summary>
    protected virtual float RandomScale(Random rng) => (float)rng.NextDouble() * 0.01f;

    /// <summary>Random blocks: every bit pattern of indices, signs and sub-block scales is legal; the half scale is finite.</summary>
    internal byte[] RandomWeights(int blocks, int seed)
    {
        var rng = new Random(seed);
        byte[] w = new byte[blocks * blockBytes];
        rng.NextBytes(w);
        for (int b = 0; b < blocks; b++)
        {
            BitConverter.TryWriteBytes(w.AsSpan(b * blockBytes), F16.FromSingle(RandomScale(rng)));
        }
        return w;
    }

    internal static byte[] Activation(int blocks, int seed) => Q8_KTests.Quantize(TestData.Random(blocks * 256, seed, 2f), SimdTier.Scalar);

    /// <summary>
    /// How many float roundings the dot adds on top of the decoding, beyond the 8 per product the bound grants: the
    /// per-block scaling and the sum over blocks.
    /// </summary>
    protected virtual int FloatSteps(int blocks) => blocks + 2;

    [Theory, MemberData(nameof(KQuantTests.Cases), MemberType = typeof(KQuantTests))]
    public void DotIsBitExactAcrossTiers(Tier tier, int blocks)
    {
        byte[] w = RandomWeights(blocks, firstSeed + blocks), x = Activation(blocks, firstSeed + 1 + blocks);
        Assert.Equal(BitConverter.SingleToInt32Bits(Dot(w, x, blocks, SimdTier.Scalar)), BitConverter.SingleToInt32Bits(Dot(w, x, blocks, (SimdTier)tier)));
    }

    public static TheoryData<int, int> TiersWithScalarAndBlocks()
    {
        var data = new TheoryData<int, int>();
        foreach (SimdTier tier in new[] { SimdTier.Scalar, SimdTier.Vector256, SimdTier.Vector512 })
        {
            foreach (int blocks in new[] { 1, 4 })
            {
                data.Add((int)tier, blocks);
            }
        }
        return data;
    }

    [Theory, MemberData(nameof(TiersWithScalarAndBlocks))]
    public void DotEqualsDecodedDotUpToRounding(int tier, int blocks)
    {
        byte[] w = RandomWeights(blocks, firstSeed + 10 + blocks), x = Activation(blocks, firstSeed + 11 + blocks);
        AssertCloseToDecodedDot(w, x, blocks, Dot(w, x, blocks, (SimdTier)tier));
    }

    protected void AssertCloseToDecodedDot(byte[] w, byte[] x, int blocks, float dot) =>
        AssertCloseToDecodedDot(type, w, x, blocks, dot, FloatSteps(blocks));

    /// <summary>
    /// <paramref name="dot"/> against Σ w·x over decoded values in double, within the rounding of the decoding (a few
    /// roundings per product) relative to Σ |w·x|, plus <paramref name="floatSteps"/> float steps of the dot itself. A
    /// wrong index, scale, sign or group sum misses it by orders of magnitude.
    /// </summary>
    internal static void AssertCloseToDecodedDot(GgmlType type, byte[] w, byte[] x, int blocks, float dot, int floatSteps)
    {
        float[] wd = new float[blocks * 256], xd = new float[blocks * 256];
        TensorTypes.Dequantize(type, w, wd);
        Q8_K.Dequantize(x, xd);
        double exact = 0, sumAbs = 0;
        for (int i = 0; i < wd.Length; i++)
        {
            exact += (double)wd[i] * xd[i];
            sumAbs += Math.Abs((double)wd[i] * xd[i]);
        }
        double bound = 8 * TestData.U * sumAbs + TestData.SummationBound(floatSteps, sumAbs);
        Assert.True(Math.Abs(dot - exact) <= bound, $"{type}, {blocks} blocks: {dot} vs {exact} (bound {bound})");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public unsafe void MatMulRowsEqualsPerRowDot(int n)
    {
        const int rows = 7, cols = 512;
        int rowBytes = (int)TensorTypes.RowBytes(type, cols);
        byte[] w = RandomWeights(rows * cols / 256, firstSeed + 20);
        float[] x = TestData.Random(n * cols, firstSeed + 21, 2f), y = new float[n * rows];
        fixed (byte* pw = w)
        {
            MatMul.MatMulRows(type, pw, rows, cols, x, y, n);
        }
        for (int i = 0; i < n; i++)
        {
            byte[] xq = Q8_KTests.Quantize(x[(i * cols)..((i + 1) * cols)], SimdCapabilities.Best);
            for (int r = 0; r < rows; r++)
            {
                float expected = Dot(w[(r * rowBytes)..((r + 1) * rowBytes)], xq, cols / 256, SimdTier.Scalar);
                Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(y[i * rows + r]));
            }
        }
    }

    [Fact]
    public unsafe void BatchesFromTheGemmThresholdEqualTheExactProductOfWhatTheDotSeesWithinTheSummationBound()
    {
        // From MatMul.GemmThreshold tokens on, the weights are decoded (TypeTraits.Dequantize) into a float GEMM
        // against the decoded activation.
        const int rows = 5, cols = 512;
        int n = MatMul.GemmThreshold(type) + 3;
        byte[] w = RandomWeights(rows * cols / 256, firstSeed + 30);
        float[] x = TestData.Random(n * cols, firstSeed + 31, 2f), y = new float[n * rows], decodedW = new float[rows * cols];
        TensorTypes.Dequantize(type, w, decodedW);
        float[] seen = new float[x.Length];
        Q8_K.Dequantize(Q8_KTests.Quantize(x, SimdCapabilities.Best), seen);
        fixed (byte* pw = w)
        {
            MatMul.MatMulRows(type, pw, rows, cols, x, y, n);
        }
        MatMulGemmPathTests.AssertWithinSummationBoundOfExactProduct(type, decodedW, seen, y, rows, cols, n);
    }

    [Fact]
    public void IsRegisteredWithQ8_KActivationsOnWholeSuperBlocks()
    {
        Assert.True(TensorTypes.IsSupported(type));
        Assert.Equal(encodes, TensorTypes.CanEncode(type));
        Assert.Equal(encodes, TensorTypes.CanEncodeWithImportance(type));
        Assert.Equal(GgmlType.Q8_K, TypeTraits.For(type).DotType);
        Assert.Equal(256, TensorTypes.BlockSize(type));
        Assert.Equal(blockBytes, TensorTypes.BlockBytes(type));
        Assert.Equal(2L * blockBytes, TensorTypes.RowBytes(type, 512));
        Assert.Throws<ArgumentException>(() => TensorTypes.RowBytes(type, 128));
    }
}

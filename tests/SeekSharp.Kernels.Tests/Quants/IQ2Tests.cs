using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

/// <summary>
/// IQ2_XXS, IQ2_XS and IQ2_S: the dot against the decoded values, the dot across tiers, and MatMul on
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
    public void IsRegisteredWithQ8_KActivations(string typeName)
    {
        var type = Enum.Parse<GgmlType>(typeName);
        Assert.True(TensorTypes.IsSupported(type));
        // All three write with an importance matrix; like ggml, only IQ2_S also writes without one
        // (GgmlQuantizeTests and GgmlImportanceQuantizeTests pin the bytes).
        Assert.True(TensorTypes.CanEncodeWithImportance(type));
        Assert.Equal(type == GgmlType.IQ2_S, TensorTypes.CanEncode(type));
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
            // The decoding rounds three times per weight (d·(0.5 + s), ·0.25 is exact, ·magnitude) and Q8_K's decoding
            // once; the dot rounds d·y_d, each block's product and the block sum.
            IQuantTests.AssertCloseToDecodedDot(type, w, x, blocks, Dot(type, w, x, blocks, SimdTier.Scalar), 2 * blocks + 2);
        }
    }

    [Theory, MemberData(nameof(Types))]
    public void DotIsBitExactAcrossTiers(string typeName)
    {
        var type = Enum.Parse<GgmlType>(typeName);
        foreach (int blocks in new[] { 0, 1, 2, 3, 8 })
        {
            byte[] w = RandomWeights(type, blocks, 320 + blocks);
            byte[] x = Q8_KTests.Quantize(TestData.Random(blocks * 256, 321 + blocks, 2f), SimdTier.Scalar);
            AssertTiersEqual(type, w, x, blocks);
        }
    }

    /// <summary>
    /// Quants of every value Q8_K holds (−127 .. 127) against random blocks: the dot is an exact function of the bytes,
    /// so every tier agrees even off the quantizer's usual values.
    /// </summary>
    [Theory, MemberData(nameof(Types))]
    public void DotIsBitExactAcrossTiersForAnyQuantBytes(string typeName)
    {
        var type = Enum.Parse<GgmlType>(typeName);
        const int blocks = 4;
        byte[] w = RandomWeights(type, blocks, 340);
        byte[] x = Q8_KTests.Quantize(TestData.Random(blocks * 256, 341, 2f), SimdTier.Scalar);
        var rng = new Random(342);
        for (int b = 0; b < blocks; b++)
        {
            // Any quant Q8_K can hold: −127 .. 127 (its scale is −127/max, so never −128; the dots move the weights'
            // signs onto the quants, as ggml's AVX2 dots do, which needs that).
            for (int j = 0; j < 256; j++)
            {
                x[b * Q8_K.BlockBytes + Q8_K.QsOffset + j] = (byte)(sbyte)rng.Next(-127, 128);
            }
        }
        AssertTiersEqual(type, w, x, blocks);
    }

    /// <summary>
    /// Every weight byte 0xFF (the largest grid index, all scales 15, every sign bit set) or only the signs cleared,
    /// against quants all −127 or all 127 (Q8_K's extremes): the largest integer lanes, and every tier agrees with the
    /// decoded dot.
    /// </summary>
    [Theory, MemberData(nameof(Types))]
    public void DotAtTheExtremesEqualsDecodedDotOnEveryTier(string typeName)
    {
        var type = Enum.Parse<GgmlType>(typeName);
        int blockBytes = TensorTypes.BlockBytes(type);
        const int blocks = 4;
        byte[] w = new byte[blocks * blockBytes];
        byte[] x = new byte[blocks * Q8_K.BlockBytes];
        for (int b = 0; b < blocks; b++)
        {
            w.AsSpan(b * blockBytes, blockBytes).Fill(0xFF);
            BitConverter.TryWriteBytes(w.AsSpan(b * blockBytes), F16.FromSingle(0.5f));
            BitConverter.TryWriteBytes(x.AsSpan(b * Q8_K.BlockBytes), 0.125f);
            x.AsSpan(b * Q8_K.BlockBytes + Q8_K.QsOffset, 256).Fill(b % 2 == 0 ? (byte)0x81 : (byte)0x7F);
        }
        ClearSigns(type, w.AsSpan(2 * blockBytes, blockBytes));
        ClearSigns(type, w.AsSpan(3 * blockBytes, blockBytes));
        IQuantTests.AssertCloseToDecodedDot(type, w, x, blocks, Dot(type, w, x, blocks, SimdTier.Scalar), 2 * blocks + 2);
        AssertTiersEqual(type, w, x, blocks);
    }

    /// <summary>Clears the sign bits of one block (the grid indices and scales stay at their largest).</summary>
    private static void ClearSigns(GgmlType type, Span<byte> block)
    {
        switch (type)
        {
            case GgmlType.IQ2_XXS:
                for (int ib = 0; ib < 8; ib++)
                {
                    BitConverter.TryWriteBytes(block[(2 + 8 * ib + 4)..], 0xF0000000u);   // scale 15, sign indices 0
                }
                break;
            case GgmlType.IQ2_XS:
                for (int k = 0; k < 32; k++)
                {
                    BitConverter.TryWriteBytes(block[(2 + 2 * k)..], (ushort)511);        // grid index 511, sign index 0
                }
                break;
            case GgmlType.IQ2_S:
                block.Slice(34, 32).Clear();                                              // the explicit sign bytes
                break;
        }
    }

    private static void AssertTiersEqual(GgmlType type, byte[] w, byte[] x, int blocks)
    {
        int scalar = BitConverter.SingleToInt32Bits(Dot(type, w, x, blocks, SimdTier.Scalar));
        Assert.Equal(scalar, BitConverter.SingleToInt32Bits(Dot(type, w, x, blocks, SimdTier.Vector256)));
        Assert.Equal(scalar, BitConverter.SingleToInt32Bits(Dot(type, w, x, blocks, SimdTier.Vector512)));
    }

    /// <summary>The four-token dot (for the types that have one) gives each token's one-token dot bit for bit, on every tier.</summary>
    [Theory, MemberData(nameof(Types))]
    public unsafe void Dot4EqualsDotOfEachToken(string typeName)
    {
        var type = Enum.Parse<GgmlType>(typeName);
        var traits = TypeTraits.For(type);
        if (traits.Dot4 == null)
        {
            return;
        }
        foreach (int blocks in new[] { 1, 3 })
        {
            byte[] w = RandomWeights(type, blocks, 350 + blocks);
            long stride = (long)blocks * Q8_K.BlockBytes;
            byte[] x = Q8_KTests.Quantize(TestData.Random(4 * blocks * 256, 351 + blocks, 2f), SimdTier.Scalar);
            x[Q8_K.QsOffset + 5] = 0x81;   // Q8_K's most negative quant, −127, in token 0
            const long yStride = 3;
            float[] outputs = new float[4 * yStride];
            fixed (byte* pw = w, px = x)
            fixed (float* y = outputs)
            {
                foreach (SimdTier tier in new[] { SimdTier.Scalar, SimdTier.Vector256, SimdTier.Vector512 })
                {
                    outputs.AsSpan().Clear();
                    traits.Dot4(pw, px, stride, blocks, y, yStride, tier);
                    for (int t = 0; t < 4; t++)
                    {
                        float expected = traits.Dot(pw, px + t * stride, blocks, SimdTier.Scalar);
                        Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(y[t * yStride]));
                    }
                }
            }
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

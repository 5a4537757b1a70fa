using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

/// <summary>
/// IQ1_S and IQ1_M: the dot against the decoded values, its AVX2 tiers against the scalar twin bit for bit,
/// and MatMul on the types. Bit-exactness of the decoding with ggml's dequantize_row_iq1_s / _iq1_m is in the conformance tests
/// (GgmlDequantizeTests).
/// </summary>
public class IQ1Tests
{
    /// <summary>
    /// Random blocks: every bit pattern of indices, scales and shift signs is legal; the half scale is set to a small
    /// positive value (IQ1_S: the field d at 0; IQ1_M: its four nibbles, the top bits of the four scale words).
    /// </summary>
    internal static byte[] RandomWeights(GgmlType type, int blocks, int seed)
    {
        var rng = new Random(seed);
        int blockBytes = TensorTypes.BlockBytes(type);
        byte[] w = new byte[blocks * blockBytes];
        rng.NextBytes(w);
        for (int b = 0; b < blocks; b++)
        {
            ushort d = F16.FromSingle((float)rng.NextDouble() * 0.01f + 1e-4f);
            Span<byte> block = w.AsSpan(b * blockBytes, blockBytes);
            if (type == GgmlType.IQ1_S)
            {
                BitConverter.TryWriteBytes(block, d);
            }
            else
            {
                SetIq1MScale(block, d);
            }
        }
        return w;
    }

    /// <summary>IQ1_M keeps its half scale in the top nibbles of its four scale words (at 48), nibble k in word k.</summary>
    internal static void SetIq1MScale(Span<byte> block, ushort half)
    {
        for (int k = 0; k < 4; k++)
        {
            int at = 48 + 2 * k;
            ushort word = BitConverter.ToUInt16(block[at..]);
            word = (ushort)((word & 0x0FFF) | (((half >> (4 * k)) & 0xF) << 12));
            BitConverter.TryWriteBytes(block[at..], word);
        }
    }

    private static unsafe float Dot(GgmlType type, byte[] w, byte[] x, int blocks, SimdTier tier)
    {
        fixed (byte* pw = w, px = x)
        {
            return TypeTraits.For(type).Dot(pw, px, blocks, tier);
        }
    }

    public static TheoryData<GgmlType> Types() => new() { GgmlType.IQ1_S, GgmlType.IQ1_M };

    [Theory, MemberData(nameof(Types))]
    public void IsRegistered(GgmlType type)
    {
        Assert.True(TensorTypes.IsSupported(type));
        // Both write with an importance matrix; like ggml, only IQ1_M also writes without one (GgmlQuantizeTests and
        // GgmlImportanceQuantizeTests pin the bytes).
        Assert.True(TensorTypes.CanEncodeWithImportance(type));
        Assert.Equal(type == GgmlType.IQ1_M, TensorTypes.CanEncode(type));
        Assert.Equal(256, TensorTypes.BlockSize(type));
        Assert.Equal(type == GgmlType.IQ1_S ? 50L * 2 : 56L * 2, TensorTypes.RowBytes(type, 512));
    }

    [Theory, MemberData(nameof(Types))]
    public void DotIsTheSameOnEveryTier(GgmlType type)
    {
        foreach (int blocks in new[] { 0, 1, 2, 3, 5, 8 })
        {
            byte[] w = RandomWeights(type, blocks, 300 + blocks);
            byte[] x = Q8_KTests.Quantize(TestData.Random(blocks * 256, 301 + blocks, 2f), SimdTier.Scalar);
            int scalar = BitConverter.SingleToInt32Bits(Dot(type, w, x, blocks, SimdTier.Scalar));
            Assert.Equal(scalar, BitConverter.SingleToInt32Bits(Dot(type, w, x, blocks, SimdTier.Vector256)));
            Assert.Equal(scalar, BitConverter.SingleToInt32Bits(Dot(type, w, x, blocks, SimdTier.Vector512)));
        }
    }

    /// <summary>
    /// Quants of every value Q8_K holds (−127 .. 127: the vector tiers put the weights' signs on them, which −128 would
    /// not survive, and Q8_K never holds it, see Q8_KTests) and weights of every byte 0xFF (largest indices and scales,
    /// negative shifts): the dot is an exact function of the bytes, so every tier agrees even off the quantizer's range.
    /// </summary>
    [Theory, MemberData(nameof(Types))]
    public void DotIsTheSameOnEveryTierForAnyQuantBytesAndTheLargestWeights(GgmlType type)
    {
        const int blocks = 4;
        int blockBytes = TensorTypes.BlockBytes(type);
        byte[] w = RandomWeights(type, blocks, 360);
        for (int b = 2; b < blocks; b++)
        {
            Span<byte> block = w.AsSpan(b * blockBytes, blockBytes);
            block.Fill(0xFF);
            if (type == GgmlType.IQ1_S)
            {
                BitConverter.TryWriteBytes(block, F16.FromSingle(0.5f));
            }
            else
            {
                SetIq1MScale(block, F16.FromSingle(0.5f));
            }
        }
        byte[] x = Q8_KTests.Quantize(TestData.Random(blocks * 256, 361, 2f), SimdTier.Scalar);
        var rng = new Random(362);
        for (int j = 0; j < 256; j++)
        {
            x[Q8_K.QsOffset + j] = (byte)(sbyte)rng.Next(-127, 128);
        }
        x.AsSpan(2 * Q8_K.BlockBytes + Q8_K.QsOffset, 256).Fill(0x81);
        x.AsSpan(3 * Q8_K.BlockBytes + Q8_K.QsOffset, 256).Fill(0x7F);
        float scalar = Dot(type, w, x, blocks, SimdTier.Scalar);
        Assert.Equal(BitConverter.SingleToInt32Bits(scalar), BitConverter.SingleToInt32Bits(Dot(type, w, x, blocks, SimdTier.Vector256)));
        Assert.Equal(BitConverter.SingleToInt32Bits(scalar), BitConverter.SingleToInt32Bits(Dot(type, w, x, blocks, SimdTier.Vector512)));
    }

    /// <summary>
    /// The dot against Σ w·x over decoded values in double. Per weight the decoding rounds twice (dl, then
    /// dl·(grid + shift)) and the dot's float steps per block are few, so the bound is relative to Σ |w|·|x|: a
    /// wrong index, scale, shift sign or group sum breaks it by orders of magnitude.
    /// </summary>
    [Theory, MemberData(nameof(Types))]
    public void DotEqualsDecodedDotUpToRounding(GgmlType type)
    {
        foreach (int blocks in new[] { 1, 4 })
        {
            byte[] w = RandomWeights(type, blocks, 310 + blocks);
            byte[] x = Q8_KTests.Quantize(TestData.Random(blocks * 256, 311 + blocks, 2f), SimdTier.Scalar);
            IQuantTests.AssertCloseToDecodedDot(type, w, x, blocks, Dot(type, w, x, blocks, SimdTier.Scalar), 2 * blocks + 2);
        }
    }

    [Theory, MemberData(nameof(Types))]
    public unsafe void MatMulRowsGivesTheDotOfEveryRowAndToken(GgmlType type)
    {
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
                    Assert.Equal(expected, y[i * rows + r]);
                }
            }
        }
    }
}

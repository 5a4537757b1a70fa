using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

/// <summary>
/// IQ3_XXS: decoding of a block worked out by hand and the dot at its extremes; the dot's tiers, its rounding and MatMul
/// are the checks shared in <see cref="IQuantTests"/>. Bit-exactness of the decoding (and so of the grid and sign tables) with ggml's dequantize_row_iq3_xxs
/// is in the conformance tests (GgmlDequantizeTests).
/// </summary>
public class IQ3_XXSTests() : IQuantTests(GgmlType.IQ3_XXS, blockBytes: 98, encodes: true, firstSeed: 300)
{
    private const int BlockBytes = IQ3_XXS.BlockBytes;

    [Fact]
    public void DequantizeKnownBlock()
    {
        byte[] q = new byte[BlockBytes];
        BitConverter.TryWriteBytes(q.AsSpan(0), (ushort)0x3C00);  // d = 1
        // Sub-block 0: scale 3 → db = (0.5 + 3)·0.5 = 1.75. Group 0: indices 0 (4, 4, 4, 4) and 1 (0x04040414:
        // 20, 4, 4, 4); sign index 1 expands to 0b1000_0001, negating elements 0 and 7.
        q[2 + 0] = 0;
        q[2 + 1] = 1;
        BitConverter.TryWriteBytes(q.AsSpan(66), (3u << 28) | 1u);
        // Sub-block 5: scale 15 → db = 7.75; group 2 (elements 160 + 16 ..) index 5 (0x04040c3e: 62, 12, 4, 4), sign index 0.
        q[2 + 8 * 5 + 4] = 5;
        BitConverter.TryWriteBytes(q.AsSpan(66 + 4 * 5), 15u << 28);
        float[] y = new float[256];
        TensorTypes.Dequantize(GgmlType.IQ3_XXS, q, y);
        Assert.Equal(-1.75f * 4, y[0]);
        Assert.Equal(1.75f * 4, y[1]);
        Assert.Equal(1.75f * 20, y[4]);
        Assert.Equal(-1.75f * 4, y[7]);
        Assert.Equal(1.75f * 4, y[8]);                 // group 1: indices 0, sign index 0
        Assert.Equal(7.75f * 62, y[160 + 16]);
        Assert.Equal(7.75f * 12, y[160 + 17]);
        Assert.Equal(7.75f * 4, y[160 + 19]);
        Assert.Equal(0.25f * 4, y[32]);                // sub-block 1: scale 0 → db = 0.25
    }

    /// <summary>Largest magnitudes and scales, the most negative activations Q8_K holds: the int32 block sums must not overflow, and every tier agrees.</summary>
    [Fact]
    public void DotAtTheExtremesEqualsDecodedDot()
    {
        const int blocks = 2;
        byte[] w = new byte[blocks * BlockBytes];
        byte[] x = new byte[blocks * Q8_K.BlockBytes];
        for (int b = 0; b < blocks; b++)
        {
            BitConverter.TryWriteBytes(w.AsSpan(b * BlockBytes), F16.FromSingle(0.5f));
            w.AsSpan(b * BlockBytes + 2, 64).Fill(255);                      // 0x3e2c0404 … every grid has a 62
            for (int ib = 0; ib < 8; ib++)
            {
                BitConverter.TryWriteBytes(w.AsSpan(b * BlockBytes + 66 + 4 * ib), 0xF0000000u | (b == 0 ? 0u : 0x0FFFFFFFu));
            }
            BitConverter.TryWriteBytes(x.AsSpan(b * Q8_K.BlockBytes), 0.125f);
            x.AsSpan(b * Q8_K.BlockBytes + Q8_K.QsOffset, 256).Fill(0x81);   // −127: Q8_K never holds −128 (Q8_KTests)
        }
        float scalar = Dot(w, x, blocks, SimdTier.Scalar);
        AssertCloseToDecodedDot(w, x, blocks, scalar);
        // The vector tiers put the weights' signs on the activation (vpsignb): exact for every quant Q8_K holds.
        Assert.Equal(BitConverter.SingleToInt32Bits(scalar), BitConverter.SingleToInt32Bits(Dot(w, x, blocks, SimdTier.Vector256)));
        Assert.Equal(BitConverter.SingleToInt32Bits(scalar), BitConverter.SingleToInt32Bits(Dot(w, x, blocks, SimdTier.Vector512)));
    }
}

using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

/// <summary>
/// IQ3_S: decoding of a block worked out by hand and the dot at its extremes; the dot's tiers, its rounding and MatMul
/// are the checks shared in <see cref="IQuantTests"/>. Bit-exactness of the decoding (and so of the grid) with ggml's dequantize_row_iq3_s
/// is in the conformance tests (GgmlDequantizeTests).
/// </summary>
public class IQ3_STests() : IQuantTests(GgmlType.IQ3_S, blockBytes: 110, encodes: true, firstSeed: 400)
{
    private const int BlockBytes = IQ3_S.BlockBytes;

    [Fact]
    public void DequantizeKnownBlock()
    {
        byte[] q = new byte[BlockBytes];
        BitConverter.TryWriteBytes(q.AsSpan(0), (ushort)0x3C00);  // d = 1
        // Sub-block 0: scale 2 → db = 1 + 2·2 = 5. Index 0 (qs 0, qh bit 0 clear): 0x01010101 → 1, 1, 1, 1;
        // index 1: qs 4 | qh bit 1 → 256 + 4 = 260. Signs of group 0: 0b1000_0010 negates elements 1 and 7.
        q[106] = 0xF2;                    // sub-block 0: scale 2; sub-block 1: scale 15 → db = 31
        q[2 + 1] = 4;
        q[66] = 0b10;
        q[74] = 0b1000_0010;
        // Sub-block 1, group 3, second index (k = 7): qs 3 (0x0101010b → 11, 1, 1, 1), qh bit 7 clear.
        q[2 + 8 + 7] = 3;
        float[] y = new float[256];
        TensorTypes.Dequantize(GgmlType.IQ3_S, q, y);
        uint g260 = Iq3Grids.Iq3sGrid[260];
        Assert.Equal(5f * 1, y[0]);
        Assert.Equal(-5f * 1, y[1]);
        for (int j = 0; j < 4; j++)
        {
            Assert.Equal(5f * ((g260 >> (8 * j)) & 0xFF) * (j == 3 ? -1 : 1), y[4 + j]);
        }
        Assert.Equal(31f * 11, y[32 + 28]);
        Assert.Equal(31f * 1, y[32 + 29]);
        Assert.Equal(1f, y[64]);                      // sub-block 2: scale 0 → db = 1
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
            w.AsSpan(b * BlockBytes + 2, 64).Fill(255);                      // index 511 (0x0f0f0101) and, with qh, 255
            w.AsSpan(b * BlockBytes + 66, 8).Fill(b == 0 ? (byte)0xFF : (byte)0x55);
            w.AsSpan(b * BlockBytes + 74, 32).Fill(b == 0 ? (byte)0 : (byte)0xFF);
            w.AsSpan(b * BlockBytes + 106, 4).Fill(0xFF);                   // scale 15 → 31
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

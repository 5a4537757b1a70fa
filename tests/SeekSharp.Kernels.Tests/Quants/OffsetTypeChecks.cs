using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

/// <summary>Checks shared by the offset types Q4_1 and Q5_1 (<c>w = q·d + m</c>, dotted against Q8_1).</summary>
internal static class OffsetTypeChecks
{
    /// <summary>
    /// Reference round trip: every value within half a step of its decoding, plus what rounding d and m to half moves
    /// the grid (q ≤ 31 steps of d, and m itself), plus a few float ulps.
    /// </summary>
    public static void AssertRoundTripWithinHalfAStep(GgmlType type, int levels)
    {
        int blockBytes = TensorTypes.BlockBytes(type);
        float[] x = TestData.Random(32 * 64, 50, 10f);
        byte[] q = new byte[blockBytes * 64];
        float[] y = new float[x.Length];
        TensorTypes.Quantize(type, x, q);
        TensorTypes.Dequantize(type, q, y);
        for (int b = 0; b < 64; b++)
        {
            float[] block = x[(b * 32)..((b + 1) * 32)];
            float min = block.Min(), max = block.Max();
            double d = (max - min) / (double)(levels - 1);
            double dh = F16.ToSingle(BitConverter.ToUInt16(q, b * blockBytes));
            double mh = F16.ToSingle(BitConverter.ToUInt16(q, b * blockBytes + 2));
            double bound = d / 2 + (levels - 1) * Math.Abs(d - dh) + Math.Abs(min - mh) + 8 * TestData.U * (Math.Abs(min) + Math.Abs(max));
            for (int j = 0; j < 32; j++)
            {
                Assert.True(Math.Abs(y[b * 32 + j] - block[j]) <= bound, $"block {b} j {j}: {block[j]} → {y[b * 32 + j]}");
            }
        }
    }

    /// <summary>
    /// Restates llama.cpp's AVX2 ggml_vec_dot_q4_1_q8_1 / q5_1_q8_1 from the bytes: eight float lanes, lane l taking
    /// elements 4l..4l+3 of every block as fma(d_w·d_x, Σ q_w·q_x, lane); the offsets in one float, fma(m_w, s_x, summs)
    /// (vfmadd231ss in LLamaSharp's x86 builds); then hsum_float_8(lanes) + summs.
    /// </summary>
    public static unsafe void AssertDotIsLlamaCppsAvx2Formula(GgmlType type, Block32DotChecks.Dot dot, Func<byte[], int, int, int> quant)
    {
        const int blocks = 5;
        int blockBytes = TensorTypes.BlockBytes(type);
        byte[] w = new byte[blocks * blockBytes];
        TensorTypes.Quantize(type, TestData.Random(blocks * 32, 80, 4f), w);
        byte[] a = Block32DotChecks.QuantizeActivation(type, TestData.Random(blocks * 32, 81), SimdTier.Scalar);
        float[] lane = new float[8];
        float summs = 0f;
        for (int b = 0; b < blocks; b++)
        {
            int wo = b * blockBytes, xo = b * Q8_1.BlockBytes;
            float dx = F16.ToSingle(BitConverter.ToUInt16(a, xo)), sx = F16.ToSingle(BitConverter.ToUInt16(a, xo + 2));
            float scale = F16.ToSingle(BitConverter.ToUInt16(w, wo)) * dx;
            summs = MathF.FusedMultiplyAdd(F16.ToSingle(BitConverter.ToUInt16(w, wo + 2)), sx, summs);
            for (int l = 0; l < 8; l++)
            {
                int isum = 0;
                for (int j = 4 * l; j < 4 * l + 4; j++)
                {
                    isum += quant(w, wo, j) * (sbyte)a[xo + 4 + j];
                }
                lane[l] = MathF.FusedMultiplyAdd(scale, isum, lane[l]);
            }
        }
        float expected = (((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]))) + summs;
        fixed (byte* pw = w, pa = a)
        {
            foreach (SimdTier tier in new[] { SimdTier.Scalar, SimdTier.Vector256, SimdTier.Vector512 })
            {
                Assert.Equal(expected, dot(pw, pa, blocks, tier));
            }
        }
    }
}

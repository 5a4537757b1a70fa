using System.Diagnostics;
using System.Runtime.InteropServices;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_IQ1_S: super-blocks of 256 weights in 8 sub-blocks of 32 (four groups of 8), 50 bytes each
/// (ggml-common.h block_iq1_s):
/// <code>
/// offset  0  ushort d       super-block scale, IEEE half
/// offset  2  byte   qs[32]  qs[4ib + l]: low 8 bits of the codebook index of group l of sub-block ib
/// offset 34  ushort qh[8]   qh[ib]: bits 3l..3l+2 the high 3 bits of group l's index (l = 0..3),
///                           bits 12..14 the 3-bit sub-block scale s, bit 15 the sign of the shift
/// dl = d·(2s + 1), shift = bit15 ? −Delta : +Delta,
/// element 32ib + 8l + j = dl·(grid[qs[4ib + l] | ((qh[ib] &gt;&gt; 3l) &amp; 7) &lt;&lt; 8][j] + shift)
/// </code>
/// grid is <see cref="Iq1Grid"/> (each weight −1, 0 or +1). Its vec_dot_type is Q8_K.
/// </summary>
internal static class IQ1_S
{
    public const int BlockSize = Q8_K.BlockSize;
    public const int BlockBytes = 50;
    private const int QsOffset = 2;
    private const int QhOffset = 34;

    /// <summary>ggml-common.h IQ1S_DELTA: the shift that moves the ternary grid off zero, by sub-block.</summary>
    internal const float Delta = 0.125f;

    /// <summary>
    /// dequantize_row_iq1_s: per sub-block <c>dl = d·(2s + 1)</c> in float, then each weight
    /// <c>dl·(grid + shift)</c>, the sum rounded to float first, as ggml does.
    /// </summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        ulong[] grid = Iq1Grid.Values;
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * BlockBytes, BlockBytes);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            float d = F16.ToSingle(MemoryMarshal.Read<ushort>(block));
            for (int ib = 0; ib < 8; ib++)
            {
                int qh = MemoryMarshal.Read<ushort>(block[(QhOffset + 2 * ib)..]);
                float dl = d * (2 * ((qh >> 12) & 7) + 1);
                float shift = (qh & 0x8000) != 0 ? -Delta : Delta;
                for (int l = 0; l < 4; l++)
                {
                    ulong g = grid[block[QsOffset + 4 * ib + l] | (((qh >> (3 * l)) & 7) << 8)];
                    for (int j = 0; j < 8; j++)
                    {
                        y[32 * ib + 8 * l + j] = dl * ((sbyte)(g >> (8 * j)) + shift);
                    }
                }
            }
        }
    }

    /// <summary>
    /// IQ1_S row · Q8_K activation over <paramref name="blocks"/> super-blocks, as ggml_vec_dot_iq1_s_q8_K's scalar
    /// path: per super-block two exact integer sums, <c>S = Σ_ib (2s+1)·Σ grid·q</c> and the shift term
    /// <c>T = Σ_ib (2s+1)·(±1)·(bsums[2ib] + bsums[2ib+1])</c> from the activation's group sums (the shift is the same for
    /// all 32 weights of a sub-block), then <c>sum += (d·y_d)·(S + Delta·T)</c> in float. Scalar only: the result does
    /// not depend on <paramref name="tier"/>.
    /// </summary>
    public static unsafe float Dot(byte* w, byte* x, int blocks, SimdTier tier)
    {
        _ = tier;
        ulong[] grid = Iq1Grid.Values;
        float sum = 0f;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            byte* xb = x + (long)b * Q8_K.BlockBytes;
            sbyte* q8 = (sbyte*)(xb + Q8_K.QsOffset);
            short* bsums = (short*)(xb + Q8_K.BsumsOffset);
            ushort* qhs = (ushort*)(wb + QhOffset);
            int sumi = 0, sumShift = 0;
            for (int ib = 0; ib < 8; ib++)
            {
                int qh = qhs[ib];
                int ls = 2 * ((qh >> 12) & 7) + 1;
                int sign = (qh & 0x8000) != 0 ? -1 : 1;
                int lsum = 0;
                for (int l = 0; l < 4; l++)
                {
                    ulong g = grid[wb[QsOffset + 4 * ib + l] | (((qh >> (3 * l)) & 7) << 8)];
                    for (int j = 0; j < 8; j++)
                    {
                        lsum += q8[j] * (sbyte)(g >> (8 * j));
                    }
                    q8 += 8;
                }
                sumi += ls * lsum;
                sumShift += ls * sign * (bsums[2 * ib] + bsums[2 * ib + 1]);
            }
            float d = F16.ToSingle(*(ushort*)wb);
            sum += d * *(float*)xb * (sumi + Delta * sumShift);
        }
        return sum;
    }
}

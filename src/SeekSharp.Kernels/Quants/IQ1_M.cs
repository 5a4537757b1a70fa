using System.Diagnostics;
using System.Runtime.InteropServices;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_IQ1_M: super-blocks of 256 weights in 8 sub-blocks of 32, each two halves of 16 (two groups of 8 each),
/// 56 bytes per super-block (ggml-common.h block_iq1_m):
/// <code>
/// offset  0  byte   qs[32]     qs[4ib + l]: low 8 bits of the codebook index of group l of sub-block ib
/// offset 32  byte   qh[16]     qh[2ib + l/2], nibble l % 2: bits 0..2 the high 3 bits of group l's index,
///                              bit 3 the sign of group l's shift
/// offset 48  ushort sc[4]      sc[ib/2] bits 6(ib%2) .. +2: 3-bit scale s1 of the first half of sub-block ib,
///                              bits 6(ib%2)+3 .. +5: s2 of the second half; bits 12..15 of sc[k]: nibble k of d
/// d = IEEE half assembled from the four top nibbles (ggml-common.h iq1m_scale_t), no field of its own
/// group l of sub-block ib: dl = d·(2s + 1) with s = s1 for l &lt; 2, s2 otherwise, shift = sign ? −Delta : +Delta,
/// element 32ib + 8l + j = dl·(grid[index][j] + shift)
/// </code>
/// grid is <see cref="Iq1Grid"/>, shared with IQ1_S. Its vec_dot_type is Q8_K.
/// </summary>
internal static class IQ1_M
{
    public const int BlockSize = Q8_K.BlockSize;
    public const int BlockBytes = 56;
    private const int QhOffset = 32;
    private const int ScalesOffset = 48;

    /// <summary>ggml-common.h IQ1M_DELTA (equal to IQ1S_DELTA, which ggml's dequantize uses for this type).</summary>
    internal const float Delta = 0.125f;

    /// <summary>The super-block scale's half bits: nibble k sits in the top 4 bits of scale word k.</summary>
    internal static ushort ScaleBits(ushort sc0, ushort sc1, ushort sc2, ushort sc3) =>
        (ushort)((sc0 >> 12) | ((sc1 >> 8) & 0x00F0) | ((sc2 >> 4) & 0x0F00) | (sc3 & 0xF000));

    /// <summary>Codebook index of group l (0..3) of a sub-block: qs byte plus 3 bits from the group's qh nibble.</summary>
    private static int Index(byte qs, byte qh, int l) => qs | ((qh << (8 - 4 * (l & 1))) & 0x700);

    /// <summary>
    /// dequantize_row_iq1_m: per half sub-block <c>dl = d·(2s + 1)</c> in float, then each weight
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
            ReadOnlySpan<ushort> sc = MemoryMarshal.Cast<byte, ushort>(block.Slice(ScalesOffset, 8));
            float d = F16.ToSingle(ScaleBits(sc[0], sc[1], sc[2], sc[3]));
            for (int ib = 0; ib < 8; ib++)
            {
                int word = sc[ib / 2], shiftBits = 6 * (ib % 2);
                float dl1 = d * (2 * ((word >> shiftBits) & 7) + 1);
                float dl2 = d * (2 * ((word >> (shiftBits + 3)) & 7) + 1);
                for (int l = 0; l < 4; l++)
                {
                    byte qh = block[QhOffset + 2 * ib + l / 2];
                    ulong g = grid[Index(block[4 * ib + l], qh, l)];
                    float shift = (qh & (0x08 << (4 * (l & 1)))) != 0 ? -Delta : Delta;
                    float dl = l < 2 ? dl1 : dl2;
                    for (int j = 0; j < 8; j++)
                    {
                        y[32 * ib + 8 * l + j] = dl * ((sbyte)(g >> (8 * j)) + shift);
                    }
                }
            }
        }
    }

    /// <summary>
    /// IQ1_M row · Q8_K activation over <paramref name="blocks"/> super-blocks, as ggml_vec_dot_iq1_m_q8_K's scalar
    /// path: per super-block two exact integer sums, <c>S = Σ (2s+1)·Σ grid·q</c> and the shift term
    /// <c>T = Σ (2s+1)·Σ_groups (±1)·Σ q</c> (the shift's sign changes every 8 weights, finer than the activation's
    /// 16-wide bsums, so the group sums come from the quants), then <c>sum += (d·y_d)·(S + Delta·T)</c> in float.
    /// Scalar only: the result does not depend on <paramref name="tier"/>.
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
            ushort* sc = (ushort*)(wb + ScalesOffset);
            int sumi = 0, sumShift = 0;
            for (int ib = 0; ib < 8; ib++)
            {
                // Index 0: first half of the sub-block (groups 0, 1), index 1: second half (groups 2, 3).
                int grid0 = 0, grid1 = 0, shift0 = 0, shift1 = 0;
                for (int l = 0; l < 4; l++)
                {
                    byte qh = wb[QhOffset + 2 * ib + l / 2];
                    ulong g = grid[Index(wb[4 * ib + l], qh, l)];
                    int sign = (qh & (0x08 << (4 * (l & 1)))) != 0 ? -1 : 1;
                    int lsum = 0, qsum = 0;
                    for (int j = 0; j < 8; j++)
                    {
                        lsum += q8[j] * (sbyte)(g >> (8 * j));
                        qsum += q8[j];
                    }
                    q8 += 8;
                    if (l < 2)
                    {
                        grid0 += lsum;
                        shift0 += qsum * sign;
                    }
                    else
                    {
                        grid1 += lsum;
                        shift1 += qsum * sign;
                    }
                }
                int word = sc[ib / 2], shiftBits = 6 * (ib % 2);
                int ls1 = 2 * ((word >> shiftBits) & 7) + 1;
                int ls2 = 2 * ((word >> (shiftBits + 3)) & 7) + 1;
                sumi += grid0 * ls1 + grid1 * ls2;
                sumShift += shift0 * ls1 + shift1 * ls2;
            }
            float d = F16.ToSingle(ScaleBits(sc[0], sc[1], sc[2], sc[3]));
            sum += d * *(float*)xb * (sumi + Delta * sumShift);
        }
        return sum;
    }
}

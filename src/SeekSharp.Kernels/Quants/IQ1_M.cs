using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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
    /// The vector tiers compute the same two integers with AVX2 (<see cref="DotAvx2"/>; the Vector512 tier runs the
    /// 256-bit code), so every tier gives the same bits.
    /// </summary>
    public static unsafe float Dot(byte* w, byte* x, int blocks, SimdTier tier)
    {
        if (tier != SimdTier.Scalar && Avx2.IsSupported)
        {
            return DotAvx2(w, x, blocks);
        }
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

    /// <summary>
    /// <see cref="Dot"/> with AVX2. Delta is 1/8, so <c>S + Delta·T = (8S + T)/8</c> and one integer sum serves both:
    /// each weight becomes <c>8·grid ± 1</c> (at most 9 in magnitude, so <see cref="IqGroup.ScaledLanes"/> is exact) and
    /// its half sub-block's scale multiplies the pair sums. |8S + T| ≤ 9·15·256·128 &lt; 2^24, so it converts to float
    /// exactly and the division by 8 is exact: the float equals the scalar path's <c>S + Delta·T</c>, itself exact, and
    /// the float steps after it are the scalar path's. In its own compilation root with the block loop, as IQ1_S's.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe float DotAvx2(byte* w, byte* x, int blocks)
    {
        fixed (ulong* grid = Iq1Grid.Values)
        {
            float sum = 0f;
            for (int b = 0; b < blocks; b++)
            {
                byte* wb = w + (long)b * BlockBytes;
                byte* xb = x + (long)b * Q8_K.BlockBytes;
                sbyte* q8 = (sbyte*)(xb + Q8_K.QsOffset);
                ushort* sc = (ushort*)(wb + ScalesOffset);
                Vector256<int> even = SubBlockAvx2(wb, 0, sc[0], q8, grid);
                Vector256<int> odd = SubBlockAvx2(wb, 1, sc[0] >> 6, q8 + 32, grid);
                even += SubBlockAvx2(wb, 2, sc[1], q8 + 64, grid);
                odd += SubBlockAvx2(wb, 3, sc[1] >> 6, q8 + 96, grid);
                even += SubBlockAvx2(wb, 4, sc[2], q8 + 128, grid);
                odd += SubBlockAvx2(wb, 5, sc[2] >> 6, q8 + 160, grid);
                even += SubBlockAvx2(wb, 6, sc[3], q8 + 192, grid);
                odd += SubBlockAvx2(wb, 7, sc[3] >> 6, q8 + 224, grid);
                int eightSPlusT = Vector256.Sum(even + odd);
                float d = F16.ToSingle(ScaleBits(sc[0], sc[1], sc[2], sc[3]));
                sum += d * *(float*)xb * (eightSPlusT * Delta);
            }
            return sum;
        }
    }

    /// <summary>
    /// Eight int32 lanes summing to <c>Σ ls·(8·grid + sign)·q</c> over sub-block <paramref name="ib"/>, whose scales s1
    /// and s2 are bits 0..2 and 3..5 of <paramref name="scales"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<int> SubBlockAvx2(byte* wb, int ib, int scales, sbyte* q8, ulong* grid)
    {
        byte* qs = wb + 4 * ib;
        byte* qh = wb + QhOffset + 2 * ib;
        Vector256<sbyte> ternary = IqGroup.Groups(grid[Index(qs[0], qh[0], 0)], grid[Index(qs[1], qh[0], 1)],
                                                  grid[Index(qs[2], qh[1], 2)], grid[Index(qs[3], qh[1], 3)]);
        // Group l's shift sign is bit 3 + 4(l % 2) of qh byte l / 2: that byte is spread over the group's eight bytes
        // (vpshufb works within 128-bit halves, which hold groups 0-1 and 2-3), each testing the group's bit. The
        // constants are 64-bit lanes so that this small IL still inlines eight times.
        Vector256<byte> spread = Avx2.Shuffle(Vector256.Create(*(ushort*)qh).AsByte(),
            Vector256.Create(0UL, 0UL, 0x0101010101010101UL, 0x0101010101010101UL).AsByte());
        Vector256<byte> bit = Vector256.Create(0x0808080808080808UL, 0x8080808080808080UL, 0x0808080808080808UL, 0x8080808080808080UL).AsByte();
        Vector256<sbyte> sign = (Vector256.Equals(spread & bit, bit) | Vector256.Create((byte)1)).AsSByte();   // −1 where set, else +1
        Vector256<sbyte> weights = Avx2.Sign(Vector256.Create((sbyte)8), ternary) + sign;                    // grid is −1, 0 or +1
        Vector256<short> scale = Vector256.Create(Vector128.Create((short)(2 * (scales & 7) + 1)), Vector128.Create((short)(2 * ((scales >> 3) & 7) + 1)));
        return IqGroup.ScaledLanes(weights, Vector256.Load(q8), scale);
    }
}

using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_IQ2_XXS: super-blocks of 256 weights in 8 sub-blocks of 32, 66 bytes each (ggml-common.h block_iq2_xxs):
/// <code>
/// offset 0  ushort d       super-block scale, IEEE half
/// offset 2  byte   qs[64]  sub-block ib: 8 bytes at 2 + 8ib, read as two little-endian uints a0, a1
///   group l = 0..3 (elements 32ib + 8l .. +7): magnitudes = Iq2XxsGrid[byte l of a0],
///                                             signs = KSigns[(a1 &gt;&gt; 7l) &amp; 127] (bit j → element j negative)
///   scale s = a1 &gt;&gt; 28 (4 bits)
/// value = (d·(0.5 + s)·0.25)·magnitude·(±1)
/// </code>
/// Its vec_dot_type is Q8_K. 2.06 bits per weight: the smallest of llama.cpp's "true" 2-bit types.
/// </summary>
internal static class IQ2_XXS
{
    public const int BlockSize = Q8_K.BlockSize;
    public const int BlockBytes = 66;
    private const int QsOffset = 2;

    /// <summary>dequantize_row_iq2_xxs: <c>y = ((d·(0.5 + s))·0.25)·magnitude·(±1)</c>, rounded to float at each step.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        ulong[] grid = Iq2Grids.Iq2XxsGrid;
        byte[] signTable = Iq2Grids.KSigns;
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * BlockBytes, BlockBytes);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            float d = F16.ToSingle(MemoryMarshal.Read<ushort>(block));
            for (int ib = 0; ib < 8; ib++)
            {
                ReadOnlySpan<byte> sub = block.Slice(QsOffset + 8 * ib, 8);
                uint a1 = MemoryMarshal.Read<uint>(sub[4..]);
                // Same float steps as ggml: the 4-bit scale plus a half, times d, then the quarter.
                float db = d * (0.5f + (a1 >> 28)) * 0.25f;
                for (int l = 0; l < 4; l++)
                {
                    ulong magnitudes = grid[sub[l]];
                    int signs = signTable[(a1 >> (7 * l)) & 127];
                    Span<float> yg = y.Slice(32 * ib + 8 * l, 8);
                    IqGroup.Decode(yg, db, magnitudes, signs);
                }
            }
        }
    }

    /// <summary>
    /// IQ2_XXS row · Q8_K activation over <paramref name="blocks"/> super-blocks, as ggml's scalar
    /// ggml_vec_dot_iq2_xxs_q8_K: per sub-block the exact int32 <c>Σ ±magnitude·q8</c> times the odd scale
    /// <c>2s + 1</c> (the doubled <c>0.5 + s</c>) into an int32 per super-block, then
    /// <c>sum += (d·y_d)·bsum</c> in float, and <c>0.125·sum</c> at the end (the 0.25 and the undoubling). Scalar only,
    /// so every tier gives the same bits.
    /// </summary>
    public static unsafe float Dot(byte* w, byte* x, int blocks, SimdTier tier)
    {
        ulong[] grid = Iq2Grids.Iq2XxsGrid;
        byte[] signTable = Iq2Grids.KSigns;
        float sum = 0f;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            byte* xb = x + (long)b * Q8_K.BlockBytes;
            float d = F16.ToSingle(Unsafe.ReadUnaligned<ushort>(wb)) * Unsafe.ReadUnaligned<float>(xb);
            sbyte* q8 = (sbyte*)(xb + Q8_K.QsOffset);
            int bsum = 0;
            for (int ib = 0; ib < 8; ib++)
            {
                byte* sub = wb + QsOffset + 8 * ib;
                uint a1 = Unsafe.ReadUnaligned<uint>(sub + 4);
                int sumi = 0;
                for (int l = 0; l < 4; l++)
                {
                    sumi += IqGroup.Dot(grid[sub[l]], signTable[(a1 >> (7 * l)) & 127], q8);
                    q8 += 8;
                }
                bsum += sumi * (int)(2 * (a1 >> 28) + 1);
            }
            sum += d * bsum;
        }
        return 0.125f * sum;
    }
}

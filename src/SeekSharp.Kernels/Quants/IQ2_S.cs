using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_IQ2_S: super-blocks of 256 weights in 8 sub-blocks of 32, 82 bytes each (ggml-common.h block_iq2_s):
/// <code>
/// offset  0  ushort d           super-block scale, IEEE half
/// offset  2  byte   qs[32]      group g = 4ib + l (elements 8g .. 8g+7): low 8 bits of its grid index
/// offset 34  byte   signs[32]   group g: bit j → element j negative (all eight signs stored, no parity trick)
/// offset 66  byte   qh[8]       sub-block ib: bits 2l, 2l+1 are bits 8, 9 of group l's grid index
/// offset 74  byte   scales[8]   sub-block ib: low nibble scales groups l = 0, 1, high nibble groups l = 2, 3
/// magnitudes = Iq2SGrid[index], value = (d·(0.5 + s)·0.25)·magnitude·(±1)
/// </code>
/// Its vec_dot_type is Q8_K. 2.56 bits per weight.
/// </summary>
internal static class IQ2_S
{
    public const int BlockSize = Q8_K.BlockSize;
    public const int BlockBytes = 82;
    private const int QsOffset = 2;
    private const int SignsOffset = 34;
    private const int QhOffset = 66;
    private const int ScalesOffset = 74;

    /// <summary>Grid index of group l of sub-block ib: its low byte and the two high bits from qh.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Index(byte low, byte qh, int l) => low | ((qh << (8 - 2 * l)) & 0x300);

    /// <summary>dequantize_row_iq2_s: <c>y = ((d·(0.5 + s))·0.25)·magnitude·(±1)</c>, rounded to float at each step.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        ulong[] grid = Iq2Grids.Iq2SGrid;
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * BlockBytes, BlockBytes);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            float d = F16.ToSingle(MemoryMarshal.Read<ushort>(block));
            for (int ib = 0; ib < 8; ib++)
            {
                byte sc = block[ScalesOffset + ib];
                float db0 = d * (0.5f + (sc & 0xF)) * 0.25f;
                float db1 = d * (0.5f + (sc >> 4)) * 0.25f;
                byte qh = block[QhOffset + ib];
                for (int l = 0; l < 4; l++)
                {
                    ulong magnitudes = grid[Index(block[QsOffset + 4 * ib + l], qh, l)];
                    int signs = block[SignsOffset + 4 * ib + l];
                    float db = l < 2 ? db0 : db1;
                    Span<float> yg = y.Slice(32 * ib + 8 * l, 8);
                    IqGroup.Decode(yg, db, magnitudes, signs);
                }
            }
        }
    }

    /// <summary>
    /// IQ2_S row · Q8_K activation over <paramref name="blocks"/> super-blocks, as ggml's scalar
    /// ggml_vec_dot_iq2_s_q8_K: per half sub-block the exact int32 <c>Σ ±magnitude·q8</c> times its odd scale
    /// <c>2s + 1</c>, into an int32 per super-block; then <c>sum += (d·y_d)·bsum</c> in float and <c>0.125·sum</c> at
    /// the end. Scalar only, so every tier gives the same bits.
    /// </summary>
    public static unsafe float Dot(byte* w, byte* x, int blocks, SimdTier tier)
    {
        ulong[] grid = Iq2Grids.Iq2SGrid;
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
                byte sc = wb[ScalesOffset + ib];
                byte qh = wb[QhOffset + ib];
                for (int half = 0; half < 2; half++)
                {
                    int sumi = 0;
                    for (int l = 2 * half; l < 2 * half + 2; l++)
                    {
                        int k = 4 * ib + l;
                        sumi += IqGroup.Dot(grid[Index(wb[QsOffset + k], qh, l)], wb[SignsOffset + k], q8);
                        q8 += 8;
                    }
                    bsum += sumi * (2 * ((sc >> (4 * half)) & 0xF) + 1);
                }
            }
            sum += d * bsum;
        }
        return 0.125f * sum;
    }
}

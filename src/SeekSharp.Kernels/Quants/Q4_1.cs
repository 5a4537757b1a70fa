using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_Q4_1: blocks of 32 weights, 20 bytes each (ggml-common.h block_q4_1):
/// <code>
/// offset 0  ushort d       scale, IEEE half
/// offset 2  ushort m       minimum, IEEE half
/// offset 4  byte   qs[16]  low nibble of qs[j] → element j, high nibble → element j + 16
/// value = nibble * d + m
/// </code>
/// Its vec_dot_type is <see cref="Q8_1"/>.
/// </summary>
internal static class Q4_1
{
    public const int BlockSize = 32;
    public const int BlockBytes = 20;

    private const int QsOffset = 4;

    /// <summary>
    /// Reference quantizer (ggml-quants.c quantize_row_q4_1_ref): <c>m = min</c>, <c>d = (max − min) / 15</c>,
    /// <c>q = min(15, (int8)((x − min)·id + 0.5))</c>, truncating, so halves round up.
    /// </summary>
    public static void QuantizeReference(ReadOnlySpan<float> src, Span<byte> dst)
    {
        Debug.Assert(src.Length % BlockSize == 0 && dst.Length == src.Length / BlockSize * BlockBytes);
        for (int b = 0; b < src.Length / BlockSize; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> block = dst.Slice(b * BlockBytes, BlockBytes);

            float min = float.MaxValue, max = -float.MaxValue;
            foreach (float v in x)
            {
                if (v < min) min = v;
                if (v > max) max = v;
            }
            float d = (max - min) / 15f;
            float id = d != 0f ? 1f / d : 0f;
            MemoryMarshal.Write(block, F16.FromSingle(d));
            MemoryMarshal.Write(block[2..], F16.FromSingle(min));
            for (int j = 0; j < BlockSize / 2; j++)
            {
                // Each step rounded to float as in C (no wider intermediates, no fused multiply-add).
                float x0 = (float)(x[j] - min) * id, x1 = (float)(x[j + 16] - min) * id;
                int q0 = Math.Min(15, (int)(sbyte)(float)(x0 + 0.5f));
                int q1 = Math.Min(15, (int)(sbyte)(float)(x1 + 0.5f));
                block[QsOffset + j] = (byte)(q0 | (q1 << 4));
            }
        }
    }

    /// <summary>
    /// What llama-quantize writes with an importance matrix (ggml-quants.c quantize_row_q4_1_impl), one row of
    /// <paramref name="src"/>: per block the weighted affine fit make_qkx3_quants (levels 0..15, weights
    /// <c>importance·sqrt(σ² + x²)</c>, σ² the row's mean square); the levels are the fit's, not requantized.
    /// </summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst) =>
        WeightedFits.QuantizeBlocks(src, columnWeights, dst, BlockSize, BlockBytes, static (x, weights, levels, aux, block) =>
        {
            float d = WeightedFits.MakeQkx3Quants(15, x, weights, levels, out float min, aux, -0.9f, 0.05f, 36);
            MemoryMarshal.Write(block, F16.FromSingle(d));
            MemoryMarshal.Write(block[2..], F16.FromSingle(-min));
            for (int j = 0; j < BlockSize / 2; j++)
            {
                block[QsOffset + j] = (byte)(levels[j] | (levels[j + 16] << 4));
            }
        });

    /// <summary>ggml-quants.c dequantize_row_q4_1: <c>y = nibble * d + m</c>, a product and a sum each rounded (no fma).</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * BlockBytes, BlockBytes);
            float d = F16.ToSingle(MemoryMarshal.Read<ushort>(block));
            float m = F16.ToSingle(MemoryMarshal.Read<ushort>(block[2..]));
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            for (int j = 0; j < BlockSize / 2; j++)
            {
                y[j] = (float)((block[QsOffset + j] & 0x0F) * d) + m;
                y[j + 16] = (float)((block[QsOffset + j] >> 4) * d) + m;
            }
        }
    }

    /// <summary>
    /// Q4_1 row · Q8_1 activation over <paramref name="blocks"/> blocks:
    /// <c>Σ_b d_w·d_x · Σ_j q_j·x.qs[j] + Σ_b m_w·s_x</c>, in the order of llama.cpp's AVX2 ggml_vec_dot_q4_1_q8_1 (see
    /// <see cref="OffsetBlockDot"/>). Every tier gives the same bits.
    /// </summary>
    public static unsafe float Dot(byte* w, byte* x, int blocks, SimdTier tier) =>
        tier == SimdTier.Scalar ? OffsetBlockDot.Scalar<Block>(w, x, blocks) : OffsetBlockDot.Vector<Block>(w, x, blocks);

    /// <summary>
    /// <see cref="Dot"/> of one weight row with four activation rows (<c>x + t·xStride</c>), written to
    /// <c>y[t·yStride]</c>; each output is <see cref="Dot"/> of its pair bit for bit.
    /// </summary>
    public static unsafe void Dot4(byte* w, byte* x, long xStride, int blocks, float* y, long yStride, SimdTier tier)
    {
        if (tier == SimdTier.Scalar)
        {
            for (int t = 0; t < 4; t++)
            {
                y[t * yStride] = OffsetBlockDot.Scalar<Block>(w, x + t * xStride, blocks);
            }
            return;
        }
        OffsetBlockDot.Vector4<Block>(w, x, xStride, blocks, y, yStride);
    }

    private readonly unsafe struct Block : IOffsetBlock
    {
        public static int BlockBytes => Q4_1.BlockBytes;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Quants(byte* block) => Q4_0.Nibbles(block + QsOffset);

        public static void Unpack(byte* block, sbyte* q)
        {
            for (int j = 0; j < BlockSize / 2; j++)
            {
                q[j] = (sbyte)(block[QsOffset + j] & 0x0F);
                q[j + 16] = (sbyte)(block[QsOffset + j] >> 4);
            }
        }
    }
}

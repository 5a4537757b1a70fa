using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_Q5_0: blocks of 32 weights, 22 bytes each (ggml-common.h block_q5_0):
/// <code>
/// offset 0  ushort d       scale, IEEE half
/// offset 2  uint   qh      bit j = fifth (high) bit of element j, little-endian
/// offset 6  byte   qs[16]  low nibble of qs[j] → low 4 bits of element j, high nibble → of element j + 16
/// value = (q - 16) * d, q = nibble | (bit &lt;&lt; 4) in 0..31
/// </code>
/// Its vec_dot_type is Q8_0. llama.cpp's Q4_K_M falls back to it for tensors whose rows are not whole 256-blocks
/// (DeepSeek's attn_k_b rows of 128, V2-Lite's ffn_down_exps rows of 1408).
/// </summary>
internal static class Q5_0
{
    public const int BlockSize = 32;
    public const int BlockBytes = 22;

    private const int QhOffset = 2;
    private const int QsOffset = 6;

    /// <summary>
    /// Reference quantizer (ggml-quants.c quantize_row_q5_0_ref), as Q4_0's with one more bit: the signed value of
    /// largest magnitude (the first one on ties) sets <c>d = max / -16</c>, so it maps to q = 0 (−16·d);
    /// <c>q = min(31, (int8)(x·id + 16.5))</c> truncates, which rounds halves up.
    /// </summary>
    public static void QuantizeReference(ReadOnlySpan<float> src, Span<byte> dst)
    {
        Debug.Assert(src.Length % BlockSize == 0 && dst.Length == src.Length / BlockSize * BlockBytes);
        for (int b = 0; b < src.Length / BlockSize; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> block = dst.Slice(b * BlockBytes, BlockBytes);

            float amax = 0f, max = 0f;
            foreach (float v in x)
            {
                if (amax < MathF.Abs(v))
                {
                    amax = MathF.Abs(v);
                    max = v;
                }
            }
            float d = max / -16f;
            float id = d != 0f ? 1f / d : 0f;
            MemoryMarshal.Write(block, F16.FromSingle(d));
            uint qh = 0;
            for (int j = 0; j < BlockSize / 2; j++)
            {
                // Each step rounded to float as in C (no wider intermediates, no fused multiply-add).
                float x0 = x[j] * id, x1 = x[j + 16] * id;
                int q0 = Math.Min(31, (int)(sbyte)(float)(x0 + 16.5f));
                int q1 = Math.Min(31, (int)(sbyte)(float)(x1 + 16.5f));
                block[QsOffset + j] = (byte)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
                qh |= (uint)(q0 >> 4 & 1) << j;
                qh |= (uint)(q1 >> 4 & 1) << (j + 16);
            }
            MemoryMarshal.Write(block[QhOffset..], qh);
        }
    }

    /// <summary>
    /// What llama-quantize writes with an importance matrix (ggml-quants.c quantize_row_q5_0_impl), one row of
    /// <paramref name="src"/>: per block the symmetric fit make_qx_quants (levels −16..15) weighted by
    /// <c>importance·sqrt(σ² + x²)</c>, σ² the row's mean square; the levels are the fit's, not requantized.
    /// </summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst) =>
        WeightedFits.QuantizeBlocks(src, columnWeights, dst, BlockSize, BlockBytes, static (x, weights, levels, _, block) =>
        {
            float d = WeightedFits.MakeQxQuants(16, x, levels, weights);
            MemoryMarshal.Write(block, F16.FromSingle(d));
            PackFiveBits(levels, block[QhOffset..], block[QsOffset..]);
        });

    /// <summary>Levels 0..31 of one 32-weight block as Q5_0 and Q5_1 store them: low nibbles of j and j+16 in
    /// <paramref name="qs"/>[j], fifth bits in the 32-bit <paramref name="qh"/> (bit j for level j).</summary>
    internal static void PackFiveBits(ReadOnlySpan<byte> levels, Span<byte> qh, Span<byte> qs)
    {
        uint high = 0;
        for (int j = 0; j < BlockSize / 2; j++)
        {
            int l0 = levels[j], l1 = levels[j + 16];
            qs[j] = (byte)((l0 & 0x0F) | ((l1 & 0x0F) << 4));
            high |= (uint)(l0 >> 4) << j;
            high |= (uint)(l1 >> 4) << (j + 16);
        }
        MemoryMarshal.Write(qh, high);
    }

    /// <summary>ggml-quants.c dequantize_row_q5_0: <c>y = (q - 16) * d</c>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * BlockBytes, BlockBytes);
            float d = F16.ToSingle(MemoryMarshal.Read<ushort>(block));
            uint qh = MemoryMarshal.Read<uint>(block[QhOffset..]);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            for (int j = 0; j < BlockSize / 2; j++)
            {
                y[j] = (Low(block[QsOffset + j], qh, j) - 16) * d;
                y[j + 16] = (High(block[QsOffset + j], qh, j) - 16) * d;
            }
        }
    }

    /// <summary>
    /// Q5_0 row · Q8_0 activation over <paramref name="blocks"/> blocks: <c>Σ_b d_w·d_x · Σ_j (q_j − 16)·x.qs[j]</c>,
    /// accumulated in the eight float lanes of <see cref="Int8BlockDot"/>, the order of llama.cpp's AVX2
    /// ggml_vec_dot_q5_0_q8_0 (one fused step per block with <c>d_w·d_x</c>, then hsum_float_8). Every tier gives the
    /// same bits.
    /// </summary>
    public static unsafe float Dot(byte* w, byte* x, int blocks, SimdTier tier)
    {
        if (tier == SimdTier.Scalar)
        {
            return DotScalar(w, x, blocks);
        }
        Vector256<float> acc = Vector256<float>.Zero;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + b * BlockBytes, xb = x + b * Q8_0.BlockBytes;
            acc = Int8BlockDot.Accumulate(acc, Q8_0.Scale(wb, xb), Int8BlockDot.PartialsOffset(Quants(wb), ActivationQuants(xb), 16));
        }
        return Int8BlockDot.Sum(acc);
    }

    /// <summary>
    /// <see cref="Dot"/> of one weight row with four activation rows (<c>x + t·xStride</c>), written to
    /// <c>y[t·yStride]</c>; the 5-bit quants are unpacked once for the four tokens. Each output is <see cref="Dot"/> of
    /// its pair bit for bit.
    /// </summary>
    public static unsafe void Dot4(byte* w, byte* x, long xStride, int blocks, float* y, long yStride, SimdTier tier)
    {
        if (tier == SimdTier.Scalar)
        {
            for (int t = 0; t < 4; t++)
            {
                y[t * yStride] = DotScalar(w, x + t * xStride, blocks);
            }
            return;
        }
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        byte* x0 = x, x1 = x + xStride, x2 = x + 2 * xStride, x3 = x + 3 * xStride;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            long o = (long)b * Q8_0.BlockBytes;
            Vector256<byte> q = Quants(wb);
            float dw = F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb));
            acc0 = Int8BlockDot.Accumulate(acc0, dw * Q8_0.XScale(x0 + o), Int8BlockDot.PartialsOffset(q, ActivationQuants(x0 + o), 16));
            acc1 = Int8BlockDot.Accumulate(acc1, dw * Q8_0.XScale(x1 + o), Int8BlockDot.PartialsOffset(q, ActivationQuants(x1 + o), 16));
            acc2 = Int8BlockDot.Accumulate(acc2, dw * Q8_0.XScale(x2 + o), Int8BlockDot.PartialsOffset(q, ActivationQuants(x2 + o), 16));
            acc3 = Int8BlockDot.Accumulate(acc3, dw * Q8_0.XScale(x3 + o), Int8BlockDot.PartialsOffset(q, ActivationQuants(x3 + o), 16));
        }
        y[0] = Int8BlockDot.Sum(acc0);
        y[yStride] = Int8BlockDot.Sum(acc1);
        y[2 * yStride] = Int8BlockDot.Sum(acc2);
        y[3 * yStride] = Int8BlockDot.Sum(acc3);
    }

    private static unsafe float DotScalar(byte* w, byte* x, int blocks)
    {
        float* acc = stackalloc float[Int8BlockDot.Lanes];
        new Span<float>(acc, Int8BlockDot.Lanes).Clear();
        sbyte* q = stackalloc sbyte[BlockSize];
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + b * BlockBytes, xb = x + b * Q8_0.BlockBytes;
            uint qh = Unsafe.ReadUnaligned<uint>(wb + QhOffset);
            for (int j = 0; j < BlockSize / 2; j++)
            {
                q[j] = (sbyte)(Low(wb[QsOffset + j], qh, j) - 16);
                q[j + 16] = (sbyte)(High(wb[QsOffset + j], qh, j) - 16);
            }
            Int8BlockDot.Accumulate(acc, Q8_0.Scale(wb, xb), q, (sbyte*)(xb + 2));
        }
        return Int8BlockDot.Sum(acc);
    }

    /// <summary>Element j (j &lt; 16) of a 5-bit block: the low nibble of qs[j] and bit j of qh.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Low(byte qs, uint qh, int j) => (qs & 0x0F) | (int)(qh >> j & 1) << 4;

    /// <summary>Element j + 16 of a 5-bit block: the high nibble of qs[j] and bit j + 16 of qh.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int High(byte qs, uint qh, int j) => (qs >> 4) | (int)(qh >> (j + 16) & 1) << 4;

    /// <summary>The block's 32 quants q = nibble | bit·16 as unsigned values 0..31 in element order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<byte> Quants(byte* block) =>
        Q4_0.Nibbles(block + QsOffset) | HighBits(Unsafe.ReadUnaligned<uint>(block + QhOffset));

    /// <summary>
    /// 16 in byte j where bit j of <paramref name="qh"/> is set, else 0 (llama.cpp's bytes_from_bits_32): byte j takes
    /// a copy of qh's byte j / 8, keeps bit j % 8 and compares.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> HighBits(uint qh)
    {
        Vector256<byte> all = Vector256.Create(qh).AsByte();
        // The byte indices are lane-local for vpshufb; qh repeats in every 4 bytes, so both readings pick the same byte.
        Vector256<byte> index = Vector256.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        Vector256<byte> spread = Avx2.IsSupported ? Avx2.Shuffle(all, index) : Vector256.Shuffle(all, index);
        Vector256<byte> bit = Vector256.Create(0x8040201008040201UL).AsByte();
        return Vector256.Equals(spread & bit, bit) & Vector256.Create((byte)0x10);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<sbyte> ActivationQuants(byte* block) => Vector256.Load((sbyte*)(block + 2));
}

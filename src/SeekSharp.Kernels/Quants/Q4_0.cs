using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_Q4_0: blocks of 32 weights, 18 bytes each (ggml-common.h block_q4_0):
/// <code>
/// offset 0  ushort d       scale, IEEE half
/// offset 2  byte   qs[16]  low nibble of qs[j] → element j, high nibble → element j + 16
/// value = (nibble - 8) * d
/// </code>
/// Its vec_dot_type is Q8_0: the dot runs against the activation quantized to Q8_0.
/// </summary>
internal static class Q4_0
{
    public const int BlockSize = 32;
    public const int BlockBytes = 18;

    /// <summary>
    /// Reference quantizer (ggml-quants.c quantize_row_q4_0_ref). The scale comes from the signed value of
    /// largest magnitude (the first one on ties), <c>d = max / -8</c>, so that value maps to nibble 0
    /// (−8·d) and the range is used asymmetrically; <c>q = min(15, (int8)(x·id + 8.5))</c> truncates,
    /// which rounds halves up.
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
            float d = max / -8f;
            float id = d != 0f ? 1f / d : 0f;
            MemoryMarshal.Write(block, F16.FromSingle(d));
            for (int j = 0; j < BlockSize / 2; j++)
            {
                // Each step rounded to float as in C (no wider intermediates, no fused multiply-add).
                float x0 = x[j] * id, x1 = x[j + 16] * id;
                int q0 = Math.Min(15, (int)(sbyte)(float)(x0 + 8.5f));
                int q1 = Math.Min(15, (int)(sbyte)(float)(x1 + 8.5f));
                block[2 + j] = (byte)(q0 | (q1 << 4));
            }
        }
    }

    /// <summary>
    /// What llama-quantize writes with an importance matrix (ggml-quants.c quantize_row_q4_0_impl), one row of
    /// <paramref name="src"/>: per block the symmetric fit make_qx_quants (levels −8..7) weighted by
    /// <c>importance·sqrt(σ² + x²)</c>, σ² the mean square of the whole row; the levels are the fit's, not requantized.
    /// </summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst) =>
        WeightedFits.QuantizeBlocks(src, columnWeights, dst, BlockSize, BlockBytes, static (x, weights, levels, _, block) =>
        {
            float d = WeightedFits.MakeQxQuants(8, x, levels, weights);
            MemoryMarshal.Write(block, F16.FromSingle(d));
            for (int j = 0; j < BlockSize / 2; j++)
            {
                block[2 + j] = (byte)(levels[j] | (levels[j + 16] << 4));
            }
        });

    /// <summary>ggml-quants.c dequantize_row_q4_0: <c>y = (nibble - 8) * d</c>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
        => Dequantize(src, dst, SimdCapabilities.Best);

    /// <summary>The decoder at <paramref name="tier"/>: eight lanes at a time (<see cref="DequantizeLanes"/>) or the scalar twin, the same bits.</summary>
    internal static unsafe void Dequantize(ReadOnlySpan<byte> src, Span<float> dst, SimdTier tier) =>
        DequantizeLanes.Run<LaneDecoder>(src, dst, tier, &DequantizeScalar);

    private readonly unsafe struct LaneDecoder : DequantizeLanes.IBlockDecoder
    {
        public static int BlockSize => Q4_0.BlockSize;
        public static int BlockBytes => Q4_0.BlockBytes;

        public static void Decode(byte* block, float* y)
        {
            float d = F16.ToSingle(Unsafe.ReadUnaligned<ushort>(block));
            for (int j = 0; j < BlockSize / 2; j += 8)
            {
                // The scalar's (q − 8)·d as d·(q − 8): one product, and IEEE products commute.
                Vector256<int> q = DequantizeLanes.Widen(block + 2 + j);
                DequantizeLanes.StoreScaled(y + j, (q & Vector256.Create(0xF)) - Vector256.Create(8), d);
                DequantizeLanes.StoreScaled(y + j + 16, (q >>> 4) - Vector256.Create(8), d);
            }
        }
    }

    private static void DequantizeScalar(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * BlockBytes, BlockBytes);
            float d = F16.ToSingle(MemoryMarshal.Read<ushort>(block));
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            for (int j = 0; j < BlockSize / 2; j++)
            {
                y[j] = ((block[2 + j] & 0x0F) - 8) * d;
                y[j + 16] = ((block[2 + j] >> 4) - 8) * d;
            }
        }
    }

    /// <summary>
    /// Q4_0 row · Q8_0 activation over <paramref name="blocks"/> blocks: <c>Σ_b d_w·d_x · Σ_j (nibble_j − 8)·x.qs[j]</c>,
    /// accumulated in the eight float lanes of <see cref="Int8BlockDot"/> as for Q8_0. Element j of a block is the
    /// low nibble of byte j for j &lt; 16 and the high nibble of byte j − 16 otherwise. Every tier gives the same bits.
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
            acc = Int8BlockDot.Accumulate(acc, Q8_0.Scale(wb, xb), Int8BlockDot.PartialsOffset(Nibbles(wb + 2), ActivationQuants(xb), 8));
        }
        return Int8BlockDot.Sum(acc);
    }

    /// <summary>
    /// <see cref="Dot"/> of one weight row with four activation rows (<c>x + t·xStride</c>), written to
    /// <c>y[t·yStride]</c>; the nibbles are unpacked once for the four tokens. Each output is <see cref="Dot"/> of its
    /// pair bit for bit.
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
            Vector256<byte> q = Nibbles(wb + 2);
            float dw = F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb));
            acc0 = Int8BlockDot.Accumulate(acc0, dw * Q8_0.XScale(x0 + o), Int8BlockDot.PartialsOffset(q, ActivationQuants(x0 + o), 8));
            acc1 = Int8BlockDot.Accumulate(acc1, dw * Q8_0.XScale(x1 + o), Int8BlockDot.PartialsOffset(q, ActivationQuants(x1 + o), 8));
            acc2 = Int8BlockDot.Accumulate(acc2, dw * Q8_0.XScale(x2 + o), Int8BlockDot.PartialsOffset(q, ActivationQuants(x2 + o), 8));
            acc3 = Int8BlockDot.Accumulate(acc3, dw * Q8_0.XScale(x3 + o), Int8BlockDot.PartialsOffset(q, ActivationQuants(x3 + o), 8));
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
            for (int j = 0; j < BlockSize / 2; j++)
            {
                q[j] = (sbyte)((wb[2 + j] & 0x0F) - 8);
                q[j + 16] = (sbyte)((wb[2 + j] >> 4) - 8);
            }
            Int8BlockDot.Accumulate(acc, Q8_0.Scale(wb, xb), q, (sbyte*)(xb + 2));
        }
        return Int8BlockDot.Sum(acc);
    }

    /// <summary>
    /// The 32 nibbles of 16 packed bytes <paramref name="qs"/> as unsigned values 0..15 in element order (low nibbles,
    /// then high nibbles): the packing of every 32-block 4- and 5-bit type.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe Vector256<byte> Nibbles(byte* qs)
    {
        Vector128<ushort> q = Vector128.Load((ushort*)qs);
        return Vector256.Create(q, q >>> 4).AsByte() & Vector256.Create((byte)0x0F);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<sbyte> ActivationQuants(byte* block) => Vector256.Load((sbyte*)(block + 2));
}

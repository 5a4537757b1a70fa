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

    /// <summary>ggml-quants.c dequantize_row_q4_0: <c>y = (nibble - 8) * d</c>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
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

    /// <summary>The 32 signed values (nibble − 8) of one block, in element order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<sbyte> Unpack(byte* block)
    {
        Vector128<byte> q = Vector128.Load(block + 2);
        Vector256<byte> nibbles = Vector256.Create(q & Vector128.Create((byte)0x0F), Vector128.ShiftRightLogical(q, 4));
        return nibbles.AsSByte() - Vector256.Create((sbyte)8);
    }

    /// <summary>
    /// Partial sums of one Q4_0 × Q8_0 block pair. The nibbles stay unsigned (0..15), which is what vpmaddubsw
    /// wants in its first operand; with the activation as the signed operand each int16 pair sum is at most
    /// 2·15·128 &lt; 32767, so it cannot saturate, and neither can 2·8·128 for the offset term. Subtracting
    /// 8·(x_{2k} + x_{2k+1}) re-centres every pair exactly (|result| ≤ 2·8·128) before vpmaddwd widens to int32.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<int> Partials(byte* w, byte* x)
    {
        Vector128<ushort> q = Vector128.Load((ushort*)(w + 2));
        Vector256<byte> nibbles = Vector256.Create(q, q >>> 4).AsByte() & Vector256.Create((byte)0x0F);
        Vector256<sbyte> xq = Vector256.Load((sbyte*)(x + 2));
        Vector256<short> pairs = Avx2.MultiplyAddAdjacent(nibbles, xq) - Avx2.MultiplyAddAdjacent(Vector256.Create((byte)8), xq);
        return Avx2.MultiplyAddAdjacent(pairs, Vector256.Create((short)1));
    }

    /// <summary>
    /// Q4_0 row · Q8_0 activation over <paramref name="blocks"/> blocks:
    /// <c>Σ_b (float)(Σ_j (nibble_j − 8)·x.qs[j]) · (w.d · x.d)</c>, blocks summed in order in float
    /// (ggml_vec_dot_q4_0_q8_0_generic). Every tier gives the same bits.
    /// </summary>
    public static unsafe float Dot(byte* w, byte* x, int blocks, SimdTier tier)
    {
        float sum = 0f;
        int b = 0;
        if (tier >= SimdTier.Vector512)
        {
            for (; b + 2 <= blocks; b += 2)
            {
                byte* w0 = w + b * BlockBytes, x0 = x + b * Q8_0.BlockBytes;
                var (s0, s1) = Int8BlockDot.Dot(
                    Vector512.Create(Unpack(w0), Unpack(w0 + BlockBytes)),
                    Vector512.Create(Vector256.Load((sbyte*)(x0 + 2)), Vector256.Load((sbyte*)(x0 + Q8_0.BlockBytes + 2))));
                sum += s0 * Q8_0.Scale(w0, x0);
                sum += s1 * Q8_0.Scale(w0 + BlockBytes, x0 + Q8_0.BlockBytes);
            }
        }
        if (tier == SimdTier.Vector256 && Avx2.IsSupported)
        {
            // Four blocks per step, as in Q8_0.Dot: one reduction, then scale and add in block order.
            for (; b + 4 <= blocks; b += 4)
            {
                byte* wb = w + b * BlockBytes, xb = x + b * Q8_0.BlockBytes;
                Vector128<int> dots = Int8BlockDot.Reduce4(Partials(wb, xb), Partials(wb + BlockBytes, xb + Q8_0.BlockBytes),
                    Partials(wb + 2 * BlockBytes, xb + 2 * Q8_0.BlockBytes), Partials(wb + 3 * BlockBytes, xb + 3 * Q8_0.BlockBytes));
                Vector128<float> terms = Vector128.ConvertToSingle(dots) * Vector128.Create(
                    Q8_0.Scale(wb, xb), Q8_0.Scale(wb + BlockBytes, xb + Q8_0.BlockBytes),
                    Q8_0.Scale(wb + 2 * BlockBytes, xb + 2 * Q8_0.BlockBytes), Q8_0.Scale(wb + 3 * BlockBytes, xb + 3 * Q8_0.BlockBytes));
                sum += terms.GetElement(0);
                sum += terms.GetElement(1);
                sum += terms.GetElement(2);
                sum += terms.GetElement(3);
            }
        }
        if (tier >= SimdTier.Vector256)
        {
            for (; b < blocks; b++)
            {
                byte* wb = w + b * BlockBytes, xb = x + b * Q8_0.BlockBytes;
                sum += Int8BlockDot.Dot(Unpack(wb), Vector256.Load((sbyte*)(xb + 2))) * Q8_0.Scale(wb, xb);
            }
        }
        for (; b < blocks; b++)
        {
            byte* wb = w + b * BlockBytes, xb = x + b * Q8_0.BlockBytes;
            sbyte* xq = (sbyte*)(xb + 2);
            int s = 0;
            for (int j = 0; j < BlockSize / 2; j++)
            {
                s += ((wb[2 + j] & 0x0F) - 8) * xq[j];
                s += ((wb[2 + j] >> 4) - 8) * xq[j + 16];
            }
            sum += s * Q8_0.Scale(wb, xb);
        }
        return sum;
    }
}

using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_Q8_0: blocks of 32 weights, 34 bytes each (ggml-common.h block_q8_0):
/// <code>
/// offset 0  ushort d       scale, IEEE half
/// offset 2  sbyte  qs[32]  value j = qs[j] * d
/// </code>
/// Q8_0 is also the vec_dot_type of Q8_0 and Q4_0: the CPU backend quantizes the activation to Q8_0 and
/// takes an exact integer dot per block, scaled by <c>d_w * d_x</c>.
/// </summary>
internal static class Q8_0
{
    public const int BlockSize = 32;
    public const int BlockBytes = 34;

    /// <summary>
    /// Reference quantizer (ggml-quants.c quantize_row_q8_0_ref), used for model files:
    /// <c>d = amax / 127</c>, <c>id = 1 / d</c>, <c>q = roundf(x * id)</c> (halves away from zero).
    /// </summary>
    public static void QuantizeReference(ReadOnlySpan<float> src, Span<byte> dst)
    {
        Debug.Assert(src.Length % BlockSize == 0 && dst.Length == src.Length / BlockSize * BlockBytes);
        for (int b = 0; b < src.Length / BlockSize; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> block = dst.Slice(b * BlockBytes, BlockBytes);

            float amax = 0f;
            foreach (float v in x)
            {
                float a = MathF.Abs(v);
                amax = amax > a ? amax : a;   // ggml's MAX(amax, fabsf(v))
            }
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            MemoryMarshal.Write(block, F16.FromSingle(d));
            for (int j = 0; j < BlockSize; j++)
            {
                block[2 + j] = (byte)(sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
            }
        }
    }

    /// <summary>
    /// Activation quantizer as the x86 CPU backend runs it (ggml-cpu/arch/x86/quants.c quantize_row_q8_0,
    /// AVX/AVX2/AVX-512 builds alike). It differs from the reference in two places, both kept on purpose so
    /// that our integer sums match llama.cpp's: <c>id = 127 / amax</c> (not <c>1 / d</c>), and rounding is to
    /// nearest even (<c>_mm256_round_ps(_MM_ROUND_NEAREST)</c>), not away from zero.
    /// </summary>
    public static unsafe void QuantizeActivation(float* src, byte* dst, int n, SimdTier tier)
    {
        Debug.Assert(n % BlockSize == 0);
        for (int b = 0; b < n / BlockSize; b++)
        {
            float* x = src + b * BlockSize;
            byte* block = dst + b * BlockBytes;
            switch (tier)
            {
                case SimdTier.Vector512: QuantizeActivationBlock512(x, block); break;
                case SimdTier.Vector256: QuantizeActivationBlock256(x, block); break;
                default: QuantizeActivationBlockScalar(x, block); break;
            }
        }
    }

    private static unsafe void QuantizeActivationBlockScalar(float* x, byte* block)
    {
        float amax = 0f;
        for (int j = 0; j < BlockSize; j++)
        {
            float a = MathF.Abs(x[j]);
            amax = amax > a ? amax : a;
        }
        WriteScale(block, amax, out float id);
        sbyte* qs = (sbyte*)(block + 2);
        for (int j = 0; j < BlockSize; j++)
        {
            qs[j] = (sbyte)MathF.Round(x[j] * id, MidpointRounding.ToEven);
        }
    }

    private static unsafe void QuantizeActivationBlock256(float* x, byte* block)
    {
        Vector256<float> v0 = Vector256.Load(x), v1 = Vector256.Load(x + 8), v2 = Vector256.Load(x + 16), v3 = Vector256.Load(x + 24);
        Vector256<float> m = Vector256.Max(Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)), Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
        WriteScale(block, HorizontalMax(Vector128.Max(m.GetLower(), m.GetUpper())), out float id);
        Vector256<float> s = Vector256.Create(id);
        Vector256<short> lo = Vector256.Narrow(Vector256.ConvertToInt32(Vector256.Round(v0 * s)), Vector256.ConvertToInt32(Vector256.Round(v1 * s)));
        Vector256<short> hi = Vector256.Narrow(Vector256.ConvertToInt32(Vector256.Round(v2 * s)), Vector256.ConvertToInt32(Vector256.Round(v3 * s)));
        Vector256.Narrow(lo, hi).Store((sbyte*)(block + 2));
    }

    private static unsafe void QuantizeActivationBlock512(float* x, byte* block)
    {
        Vector512<float> v0 = Vector512.Load(x), v1 = Vector512.Load(x + 16);
        Vector512<float> m512 = Vector512.Max(Vector512.Abs(v0), Vector512.Abs(v1));
        Vector256<float> m = Vector256.Max(m512.GetLower(), m512.GetUpper());
        WriteScale(block, HorizontalMax(Vector128.Max(m.GetLower(), m.GetUpper())), out float id);
        Vector512<float> s = Vector512.Create(id);
        Vector512<short> q = Vector512.Narrow(Vector512.ConvertToInt32(Vector512.Round(v0 * s)), Vector512.ConvertToInt32(Vector512.Round(v1 * s)));
        Vector256.Narrow(q.GetLower(), q.GetUpper()).Store((sbyte*)(block + 2));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalMax(Vector128<float> m)
    {
        float a = m.GetElement(0), b = m.GetElement(1), c = m.GetElement(2), d = m.GetElement(3);
        float ab = a > b ? a : b, cd = c > d ? c : d;
        return ab > cd ? ab : cd;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void WriteScale(byte* block, float amax, out float id)
    {
        Unsafe.WriteUnaligned(block, BitConverter.HalfToUInt16Bits((Half)(amax / 127f)));
        id = amax != 0f ? 127f / amax : 0f;
    }

    /// <summary>ggml-quants.c dequantize_row_q8_0: <c>y = qs[j] * d</c>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * BlockBytes, BlockBytes);
            float d = F16.ToSingle(MemoryMarshal.Read<ushort>(block));
            for (int j = 0; j < BlockSize; j++)
            {
                dst[b * BlockSize + j] = (sbyte)block[2 + j] * d;
            }
        }
    }

    /// <summary>
    /// Q8_0 row · Q8_0 activation over <paramref name="blocks"/> blocks:
    /// <c>Σ_b (float)(Σ_j w.qs[j]·x.qs[j]) · (w.d · x.d)</c>, blocks summed in order in float
    /// (the order of ggml_vec_dot_q8_0_q8_0_generic). Every tier gives the same bits.
    /// </summary>
    public static unsafe float Dot(byte* w, byte* x, int blocks, SimdTier tier)
    {
        float sum = 0f;
        int b = 0;
        if (tier >= SimdTier.Vector512)
        {
            for (; b + 2 <= blocks; b += 2)
            {
                byte* w0 = w + b * BlockBytes, x0 = x + b * BlockBytes;
                var (s0, s1) = Int8BlockDot.Dot(
                    Vector512.Create(Vector256.Load((sbyte*)(w0 + 2)), Vector256.Load((sbyte*)(w0 + BlockBytes + 2))),
                    Vector512.Create(Vector256.Load((sbyte*)(x0 + 2)), Vector256.Load((sbyte*)(x0 + BlockBytes + 2))));
                sum += s0 * Scale(w0, x0);
                sum += s1 * Scale(w0 + BlockBytes, x0 + BlockBytes);
            }
        }
        if (tier == SimdTier.Vector256 && Avx2.IsSupported)
        {
            // Four blocks per step: their integer dots come out of one reduction, then scale and add in block order.
            for (; b + 4 <= blocks; b += 4)
            {
                byte* wb = w + b * BlockBytes, xb = x + b * BlockBytes;
                Vector128<int> dots = Int8BlockDot.Reduce4(Partials(wb, xb), Partials(wb + BlockBytes, xb + BlockBytes),
                    Partials(wb + 2 * BlockBytes, xb + 2 * BlockBytes), Partials(wb + 3 * BlockBytes, xb + 3 * BlockBytes));
                Vector128<float> terms = Vector128.ConvertToSingle(dots) * Vector128.Create(
                    Scale(wb, xb), Scale(wb + BlockBytes, xb + BlockBytes),
                    Scale(wb + 2 * BlockBytes, xb + 2 * BlockBytes), Scale(wb + 3 * BlockBytes, xb + 3 * BlockBytes));
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
                byte* wb = w + b * BlockBytes, xb = x + b * BlockBytes;
                int s = Int8BlockDot.Dot(Vector256.Load((sbyte*)(wb + 2)), Vector256.Load((sbyte*)(xb + 2)));
                sum += s * Scale(wb, xb);
            }
        }
        for (; b < blocks; b++)
        {
            byte* wb = w + b * BlockBytes, xb = x + b * BlockBytes;
            sum += Int8BlockDot.Scalar((sbyte*)(wb + 2), (sbyte*)(xb + 2)) * Scale(wb, xb);
        }
        return sum;
    }

    /// <summary>Partial sums of one Q8_0 × Q8_0 block pair (quants start 2 bytes into each block).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<int> Partials(byte* w, byte* x) => Int8BlockDot.Partials(
        Int8BlockDot.Load16((sbyte*)(w + 2)), Int8BlockDot.Load16((sbyte*)(w + 18)),
        Int8BlockDot.Load16((sbyte*)(x + 2)), Int8BlockDot.Load16((sbyte*)(x + 18)));

    /// <summary><c>d_w · d_x</c> of two blocks that both start with a half scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe float Scale(byte* w, byte* x) =>
        F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(w)) * F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(x));
}

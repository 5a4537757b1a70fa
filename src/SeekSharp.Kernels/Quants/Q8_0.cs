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
/// Q8_0 is also the vec_dot_type of Q8_0, Q4_0 and Q5_0: the CPU backend quantizes the activation to Q8_0 and
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
            byte* block = dst + b * BlockBytes;
            QuantizeActivationBlock(src + b * BlockSize, block, (sbyte*)(block + 2), tier);
        }
    }

    /// <summary>
    /// One 32-value block of <see cref="QuantizeActivation"/>: the half scale to <paramref name="scale"/>, the quants
    /// to <paramref name="qs"/>. Returns the scale before rounding to half, <c>amax / 127</c>, which Q8_1's block sum
    /// is multiplied by.
    /// </summary>
    internal static unsafe float QuantizeActivationBlock(float* x, byte* scale, sbyte* qs, SimdTier tier)
    {
        switch (tier)
        {
            case SimdTier.Vector512: return QuantizeActivationBlock512(x, scale, qs);
            case SimdTier.Vector256: return QuantizeActivationBlock256(x, scale, qs);
            default: return QuantizeActivationBlockScalar(x, scale, qs);
        }
    }

    private static unsafe float QuantizeActivationBlockScalar(float* x, byte* scale, sbyte* qs)
    {
        float amax = 0f;
        for (int j = 0; j < BlockSize; j++)
        {
            float a = MathF.Abs(x[j]);
            amax = amax > a ? amax : a;
        }
        float d = WriteScale(scale, amax, out float id);
        for (int j = 0; j < BlockSize; j++)
        {
            qs[j] = (sbyte)MathF.Round(x[j] * id, MidpointRounding.ToEven);
        }
        return d;
    }

    private static unsafe float QuantizeActivationBlock256(float* x, byte* scale, sbyte* qs)
    {
        Vector256<float> v0 = Vector256.Load(x), v1 = Vector256.Load(x + 8), v2 = Vector256.Load(x + 16), v3 = Vector256.Load(x + 24);
        Vector256<float> m = Vector256.Max(Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)), Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
        float d = WriteScale(scale, HorizontalMax(Vector128.Max(m.GetLower(), m.GetUpper())), out float id);
        Vector256<float> s = Vector256.Create(id);
        Vector256<short> lo = Vector256.Narrow(Vector256.ConvertToInt32(Vector256.Round(v0 * s)), Vector256.ConvertToInt32(Vector256.Round(v1 * s)));
        Vector256<short> hi = Vector256.Narrow(Vector256.ConvertToInt32(Vector256.Round(v2 * s)), Vector256.ConvertToInt32(Vector256.Round(v3 * s)));
        Vector256.Narrow(lo, hi).Store(qs);
        return d;
    }

    private static unsafe float QuantizeActivationBlock512(float* x, byte* scale, sbyte* qs)
    {
        Vector512<float> v0 = Vector512.Load(x), v1 = Vector512.Load(x + 16);
        Vector512<float> m512 = Vector512.Max(Vector512.Abs(v0), Vector512.Abs(v1));
        Vector256<float> m = Vector256.Max(m512.GetLower(), m512.GetUpper());
        float d = WriteScale(scale, HorizontalMax(Vector128.Max(m.GetLower(), m.GetUpper())), out float id);
        Vector512<float> s = Vector512.Create(id);
        Vector512<short> q = Vector512.Narrow(Vector512.ConvertToInt32(Vector512.Round(v0 * s)), Vector512.ConvertToInt32(Vector512.Round(v1 * s)));
        Vector256.Narrow(q.GetLower(), q.GetUpper()).Store(qs);
        return d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalMax(Vector128<float> m)
    {
        float a = m.GetElement(0), b = m.GetElement(1), c = m.GetElement(2), d = m.GetElement(3);
        float ab = a > b ? a : b, cd = c > d ? c : d;
        return ab > cd ? ab : cd;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe float WriteScale(byte* scale, float amax, out float id)
    {
        float d = amax / 127f;
        Unsafe.WriteUnaligned(scale, BitConverter.HalfToUInt16Bits((Half)d));
        id = amax != 0f ? 127f / amax : 0f;
        return d;
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
    /// Decodes <paramref name="blocks"/> whole blocks to float, eight values per vector step: each value is
    /// <c>qs[j] * d</c> with one rounding, so every tier gives <see cref="Dequantize"/>'s bits.
    /// </summary>
    public static unsafe void Decode(byte* src, float* dst, int blocks, SimdTier tier)
    {
        if (tier == SimdTier.Scalar)
        {
            Dequantize(new ReadOnlySpan<byte>(src, blocks * BlockBytes), new Span<float>(dst, blocks * BlockSize));
            return;
        }
        for (int b = 0; b < blocks; b++)
        {
            byte* block = src + (long)b * BlockBytes;
            float* o = dst + (long)b * BlockSize;
            Vector256<float> d = Vector256.Create(XScale(block));
            (Vector256<short> lo, Vector256<short> hi) = Vector256.Widen(Quants(block));
            (Vector256<int> q0, Vector256<int> q1) = Vector256.Widen(lo);
            (Vector256<int> q2, Vector256<int> q3) = Vector256.Widen(hi);
            Vector256.Store(Vector256.ConvertToSingle(q0) * d, o);
            Vector256.Store(Vector256.ConvertToSingle(q1) * d, o + 8);
            Vector256.Store(Vector256.ConvertToSingle(q2) * d, o + 16);
            Vector256.Store(Vector256.ConvertToSingle(q3) * d, o + 24);
        }
    }

    /// <summary>
    /// Q8_0 row · Q8_0 activation over <paramref name="blocks"/> blocks: <c>Σ_b d_w·d_x · Σ_j w.qs[j]·x.qs[j]</c>,
    /// accumulated in the eight float lanes of <see cref="Int8BlockDot"/> (llama.cpp's AVX2 order). Every tier gives
    /// the same bits; the Vector512 tier runs the 256-bit code, since a 512-bit accumulator would pair the lanes
    /// differently.
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
            byte* wb = w + b * BlockBytes, xb = x + b * BlockBytes;
            StreamPrefetch.Ahead(wb);
            acc = Int8BlockDot.Accumulate(acc, Scale(wb, xb), Int8BlockDot.Partials(Quants(wb), Quants(xb)));
        }
        return Int8BlockDot.Sum(acc);
    }

    /// <summary>
    /// <see cref="Dot"/> of one weight row with four activation rows (<c>x + t·xStride</c>), written to
    /// <c>y[t·yStride]</c>: the batched matmul's inner kernel. Each weight block is loaded once for the four
    /// tokens, and each output is <see cref="Dot"/> of its pair bit for bit.
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
            long o = (long)b * BlockBytes;
            byte* wb = w + o;
            Vector256<sbyte> q = Quants(wb);
            float dw = F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb));
            acc0 = Int8BlockDot.Accumulate(acc0, dw * XScale(x0 + o), Int8BlockDot.Partials(q, Quants(x0 + o)));
            acc1 = Int8BlockDot.Accumulate(acc1, dw * XScale(x1 + o), Int8BlockDot.Partials(q, Quants(x1 + o)));
            acc2 = Int8BlockDot.Accumulate(acc2, dw * XScale(x2 + o), Int8BlockDot.Partials(q, Quants(x2 + o)));
            acc3 = Int8BlockDot.Accumulate(acc3, dw * XScale(x3 + o), Int8BlockDot.Partials(q, Quants(x3 + o)));
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
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + b * BlockBytes, xb = x + b * BlockBytes;
            Int8BlockDot.Accumulate(acc, Scale(wb, xb), (sbyte*)(wb + 2), (sbyte*)(xb + 2));
        }
        return Int8BlockDot.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<sbyte> Quants(byte* block) => Vector256.Load((sbyte*)(block + 2));

    /// <summary>The half scale of a Q8_0 block (activation or weight) as a float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe float XScale(byte* block) => F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(block));

    /// <summary><c>d_w · d_x</c> of two blocks that both start with a half scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe float Scale(byte* w, byte* x) =>
        F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(w)) * F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(x));
}

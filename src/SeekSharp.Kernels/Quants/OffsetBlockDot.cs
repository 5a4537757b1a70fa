using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SeekSharp.Kernels.Quants;

/// <summary>A 32-block weight type with a scale and an offset, <c>w = q·d + m</c> (d at byte 0, m at byte 2, halves).</summary>
internal unsafe interface IOffsetBlock
{
    static abstract int BlockBytes { get; }

    /// <summary>The block's 32 quants as unsigned values (at most 5 bits) in element order.</summary>
    static abstract Vector256<byte> Quants(byte* block);

    /// <summary>Scalar twin of <see cref="Quants"/>.</summary>
    static abstract void Unpack(byte* block, sbyte* q);
}

/// <summary>
/// The dot of an offset weight type (<see cref="IOffsetBlock"/>: Q4_1, Q5_1) with a <see cref="Q8_1"/> activation:
/// <c>Σ_b d_w·d_x · Σ_j q_j·x.qs[j] + Σ_b m_w·s_x</c>.
/// </summary>
/// <remarks>
/// The order is llama.cpp's AVX2 ggml_vec_dot_q4_1_q8_1 / ggml_vec_dot_q5_1_q8_1: the integer part accumulates in the
/// eight float lanes of <see cref="Int8BlockDot"/> (<c>acc_l = fma(d_w·d_x, lane_l, acc_l)</c>), the offset part in
/// one float <c>summs</c>, block by block, and the result is <c>hsum(acc) + summs</c>. The C source writes
/// <c>summs += m·s</c>, but GCC contracts it (its default -ffp-contract=fast with -mfma): the x86 builds that
/// LLamaSharp ships compute it with vfmadd231ss, one rounding, so we take <c>summs = fma(m, s, summs)</c>.
/// </remarks>
internal static unsafe class OffsetBlockDot
{
    public static float Vector<T>(byte* w, byte* x, int blocks) where T : struct, IOffsetBlock
    {
        Vector256<float> acc = Vector256<float>.Zero;
        float summs = 0f;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * T.BlockBytes, xb = x + (long)b * Q8_1.BlockBytes;
            summs = MathF.FusedMultiplyAdd(Offset(wb), Q8_1.XSum(xb), summs);
            acc = Int8BlockDot.Accumulate(acc, Scale(wb) * Q8_1.XScale(xb), Int8BlockDot.PartialsUnsigned(T.Quants(wb), ActivationQuants(xb)));
        }
        return Int8BlockDot.Sum(acc) + summs;
    }

    /// <summary><see cref="Vector{T}"/> of one weight row with four activation rows, the weight quants unpacked once.</summary>
    public static void Vector4<T>(byte* w, byte* x, long xStride, int blocks, float* y, long yStride) where T : struct, IOffsetBlock
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        byte* x0 = x, x1 = x + xStride, x2 = x + 2 * xStride, x3 = x + 3 * xStride;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * T.BlockBytes;
            long o = (long)b * Q8_1.BlockBytes;
            Vector256<byte> q = T.Quants(wb);
            float dw = Scale(wb), m = Offset(wb);
            s0 = MathF.FusedMultiplyAdd(m, Q8_1.XSum(x0 + o), s0);
            s1 = MathF.FusedMultiplyAdd(m, Q8_1.XSum(x1 + o), s1);
            s2 = MathF.FusedMultiplyAdd(m, Q8_1.XSum(x2 + o), s2);
            s3 = MathF.FusedMultiplyAdd(m, Q8_1.XSum(x3 + o), s3);
            acc0 = Int8BlockDot.Accumulate(acc0, dw * Q8_1.XScale(x0 + o), Int8BlockDot.PartialsUnsigned(q, ActivationQuants(x0 + o)));
            acc1 = Int8BlockDot.Accumulate(acc1, dw * Q8_1.XScale(x1 + o), Int8BlockDot.PartialsUnsigned(q, ActivationQuants(x1 + o)));
            acc2 = Int8BlockDot.Accumulate(acc2, dw * Q8_1.XScale(x2 + o), Int8BlockDot.PartialsUnsigned(q, ActivationQuants(x2 + o)));
            acc3 = Int8BlockDot.Accumulate(acc3, dw * Q8_1.XScale(x3 + o), Int8BlockDot.PartialsUnsigned(q, ActivationQuants(x3 + o)));
        }
        y[0] = Int8BlockDot.Sum(acc0) + s0;
        y[yStride] = Int8BlockDot.Sum(acc1) + s1;
        y[2 * yStride] = Int8BlockDot.Sum(acc2) + s2;
        y[3 * yStride] = Int8BlockDot.Sum(acc3) + s3;
    }

    /// <summary>Scalar twin of <see cref="Vector{T}"/>, lane by lane.</summary>
    public static float Scalar<T>(byte* w, byte* x, int blocks) where T : struct, IOffsetBlock
    {
        float* acc = stackalloc float[Int8BlockDot.Lanes];
        new Span<float>(acc, Int8BlockDot.Lanes).Clear();
        sbyte* q = stackalloc sbyte[32];
        float summs = 0f;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * T.BlockBytes, xb = x + (long)b * Q8_1.BlockBytes;
            summs = MathF.FusedMultiplyAdd(Offset(wb), Q8_1.XSum(xb), summs);
            T.Unpack(wb, q);
            Int8BlockDot.Accumulate(acc, Scale(wb) * Q8_1.XScale(xb), q, (sbyte*)(xb + 4));
        }
        return Int8BlockDot.Sum(acc) + summs;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Scale(byte* block) => F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(block));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Offset(byte* block) => F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(block + 2));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> ActivationQuants(byte* block) => Vector256.Load((sbyte*)(block + 4));
}

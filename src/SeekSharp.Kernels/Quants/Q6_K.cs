using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_Q6_K: super-blocks of 256 weights in 16 groups of 16, 210 bytes each (ggml-common.h block_q6_K):
/// <code>
/// offset   0  byte   ql[128]     low 4 bits
/// offset 128  byte   qh[64]      high 2 bits
/// offset 192  sbyte  scales[16]  signed 8-bit scale of group g = element / 16
/// offset 208  ushort d           super-block scale, IEEE half (last, unlike the other K-quants)
/// Half h (elements 128h .. 128h+127) uses ql[64h ..], qh[32h ..]; for l = 0..31 its quants are
///   element 128h+l    : ql[l]    &amp; 0xF | (qh[l] bits 0-1) &lt;&lt; 4
///   element 128h+32+l : ql[l+32] &amp; 0xF | (qh[l] bits 2-3) &lt;&lt; 4
///   element 128h+64+l : ql[l]    &gt;&gt; 4  | (qh[l] bits 4-5) &lt;&lt; 4
///   element 128h+96+l : ql[l+32] &gt;&gt; 4  | (qh[l] bits 6-7) &lt;&lt; 4
/// value = d·scales[g]·(q − 32)
/// </code>
/// Its vec_dot_type is Q8_K.
/// </summary>
internal static class Q6_K
{
    public const int BlockSize = Q8_K.BlockSize;
    public const int BlockBytes = 210;
    private const int QhOffset = 128;
    private const int ScalesOffset = 192;
    private const int DOffset = 208;

    // ggml-quants.c GROUP_MAX_EPS: groups whose largest magnitude is below this are treated as zero.
    private const float GroupMaxEps = 1e-15f;

    /// <summary>
    /// Reference quantizer (ggml-quants.c quantize_row_q6_K_ref): a symmetric fit per group of 16
    /// (make_qx_quants, levels −32..31, weights x²), the 16 group scales quantized to int8 against the scale of
    /// largest magnitude (<c>iscale = −128 / max_scale</c>), then every weight requantized against the stored scales.
    /// </summary>
    public static void QuantizeReference(ReadOnlySpan<float> src, Span<byte> dst)
    {
        Debug.Assert(src.Length % BlockSize == 0 && dst.Length == src.Length / BlockSize * BlockBytes);
        Span<byte> levels = stackalloc byte[BlockSize];
        Span<float> scales = stackalloc float[16];
        for (int b = 0; b < src.Length / BlockSize; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> block = dst.Slice(b * BlockBytes, BlockBytes);

            float maxScale = 0f, maxAbsScale = 0f;
            for (int g = 0; g < 16; g++)
            {
                float scale = MakeQxQuants(32, x.Slice(16 * g, 16), levels.Slice(16 * g, 16));
                scales[g] = scale;
                float abs = MathF.Abs(scale);
                if (abs > maxAbsScale)
                {
                    maxAbsScale = abs;
                    maxScale = scale;
                }
            }
            if (maxAbsScale < GroupMaxEps)
            {
                block.Clear();
                continue;
            }

            float iscale = -128f / maxScale;
            ushort dBits = F16.FromSingle(1 / iscale);
            MemoryMarshal.Write(block[DOffset..], dBits);
            Span<byte> packedScales = block.Slice(ScalesOffset, 16);
            for (int g = 0; g < 16; g++)
            {
                packedScales[g] = (byte)(sbyte)Math.Min(127, Q8_K.NearestInt(iscale * scales[g]));
            }

            float dAll = F16.ToSingle(dBits);
            for (int g = 0; g < 16; g++)
            {
                float d = dAll * (sbyte)packedScales[g];
                if (d == 0f)
                {
                    continue; // keeps the levels of the fit, as ggml does
                }
                for (int l = 0; l < 16; l++)
                {
                    int q = Q8_K.NearestInt(x[16 * g + l] / d);
                    levels[16 * g + l] = (byte)(Math.Clamp(q, -32, 31) + 32);
                }
            }

            Span<byte> ql = block[..QhOffset], qh = block.Slice(QhOffset, 64);
            for (int h = 0; h < 2; h++)
            {
                ReadOnlySpan<byte> L = levels.Slice(128 * h, 128);
                for (int l = 0; l < 32; l++)
                {
                    ql[64 * h + l] = (byte)((L[l] & 0xF) | ((L[l + 64] & 0xF) << 4));
                    ql[64 * h + l + 32] = (byte)((L[l + 32] & 0xF) | ((L[l + 96] & 0xF) << 4));
                    qh[32 * h + l] = (byte)((L[l] >> 4) | ((L[l + 32] >> 4) << 2) | ((L[l + 64] >> 4) << 4) | ((L[l + 96] >> 4) << 6));
                }
            }
        }
    }

    /// <summary>
    /// ggml-quants.c make_qx_quants with rmse_type = 1 and no importance weights: the symmetric fit
    /// <c>x ≈ scale·l</c>, l in −nmax..nmax−1, weighted by x². Starts at <c>iscale = −nmax / max</c> (max: the signed
    /// value of largest magnitude) and tries <c>−(nmax + 0.1·is) / max</c> for is = ±1..±9, keeping the best
    /// <c>Σwxl² / Σwl²</c>. Writes levels + nmax; returns the scale. Single float operations in C's order.
    /// </summary>
    internal static float MakeQxQuants(int nmax, ReadOnlySpan<float> x, Span<byte> levels)
    {
        int n = x.Length;
        float max = 0, amax = 0;
        for (int i = 0; i < n; i++)
        {
            float ax = MathF.Abs(x[i]);
            if (ax > amax)
            {
                amax = ax;
                max = x[i];
            }
        }
        if (amax < GroupMaxEps)
        {
            levels[..n].Clear();
            return 0f;
        }
        float iscale = -nmax / max;
        float sumLX = 0, sumL2 = 0;
        for (int i = 0; i < n; i++)
        {
            int l = Math.Clamp(Q8_K.NearestInt(iscale * x[i]), -nmax, nmax - 1);
            levels[i] = (byte)(l + nmax);
            float w = x[i] * x[i];
            sumLX += w * x[i] * l;
            sumL2 += w * l * l;
        }
        float scale = sumL2 != 0 ? sumLX / sumL2 : 0f;
        float best = scale * sumLX;
        for (int step = -9; step <= 9; step++)
        {
            if (step == 0)
            {
                continue;
            }
            iscale = -(nmax + 0.1f * step) / max;
            sumLX = sumL2 = 0;
            for (int i = 0; i < n; i++)
            {
                int l = Math.Clamp(Q8_K.NearestInt(iscale * x[i]), -nmax, nmax - 1);
                float w = x[i] * x[i];
                sumLX += w * x[i] * l;
                sumL2 += w * l * l;
            }
            if (sumL2 > 0 && sumLX * sumLX > best * sumL2)
            {
                for (int i = 0; i < n; i++)
                {
                    levels[i] = (byte)(nmax + Math.Clamp(Q8_K.NearestInt(iscale * x[i]), -nmax, nmax - 1));
                }
                scale = sumLX / sumL2;
                best = scale * sumLX;
            }
        }
        return scale;
    }

    /// <summary>dequantize_row_q6_K: <c>y = (d·scale)·(q − 32)</c>, each product rounded to float.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * BlockBytes, BlockBytes);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            float d = F16.ToSingle(MemoryMarshal.Read<ushort>(block[DOffset..]));
            ReadOnlySpan<sbyte> sc = MemoryMarshal.Cast<byte, sbyte>(block.Slice(ScalesOffset, 16));
            for (int h = 0; h < 2; h++)
            {
                ReadOnlySpan<byte> ql = block.Slice(64 * h, 64), qh = block.Slice(QhOffset + 32 * h, 32);
                for (int l = 0; l < 32; l++)
                {
                    int g = 8 * h + l / 16;
                    y[128 * h + l] = d * sc[g] * (((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32);
                    y[128 * h + 32 + l] = d * sc[g + 2] * (((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                    y[128 * h + 64 + l] = d * sc[g + 4] * (((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                    y[128 * h + 96 + l] = d * sc[g + 6] * (((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
                }
            }
        }
    }

    /// <summary>
    /// Q6_K row · Q8_K activation over <paramref name="blocks"/> super-blocks. Per super-block the integer sum
    /// <c>S = Σ_g scales[g]·Σ (q − 32)·y</c> is exact (the vector tiers take Σ q·y and subtract
    /// <c>32·Σ_g scales[g]·bsums[g]</c>), then <c>sum += (d·y.d)·S</c> in float, super-blocks in order
    /// (ggml_vec_dot_q6_K_q8_K: the same integers, float part spread over 8 lanes). Every tier gives the same bits.
    /// </summary>
    public static unsafe float Dot(byte* w, byte* x, int blocks, SimdTier tier)
    {
        float sum = 0f;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            byte* xb = x + (long)b * Q8_K.BlockBytes;
            sbyte* sc = (sbyte*)(wb + ScalesOffset);
            sbyte* y = (sbyte*)(xb + Q8_K.QsOffset);
            int s;
            if (tier == SimdTier.Scalar)
            {
                s = SumScalar(wb, y, sc);
            }
            else
            {
                s = tier == SimdTier.Vector512 ? Sum512(wb, y, sc) : Sum256(wb, y, sc);
                s -= 32 * Offset(sc, xb);
            }
            sum += F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb + DOffset)) * Unsafe.ReadUnaligned<float>(xb) * s;
        }
        return sum;
    }

    private static unsafe int SumScalar(byte* wb, sbyte* y, sbyte* sc)
    {
        int total = 0;
        for (int h = 0; h < 2; h++)
        {
            byte* ql = wb + 64 * h, qh = wb + QhOffset + 32 * h;
            sbyte* yh = y + 128 * h;
            for (int k = 0; k < 4; k++)
            {
                // Quarter k: elements 32k .. 32k+31 of the half, groups 8h+2k and 8h+2k+1.
                int s0 = 0, s1 = 0;
                for (int l = 0; l < 32; l++)
                {
                    int low = (k & 1) == 0 ? ql[l] : ql[l + 32];
                    int q = ((k < 2 ? low & 0xF : low >> 4) | (((qh[l] >> (2 * k)) & 3) << 4)) - 32;
                    if (l < 16) s0 += q * yh[32 * k + l];
                    else s1 += q * yh[32 * k + l];
                }
                total += sc[8 * h + 2 * k] * s0 + sc[8 * h + 2 * k + 1] * s1;
            }
        }
        return total;
    }

    /// <summary>
    /// The unsigned 6-bit quants (0..63) of quarters k and k+2 of a half (shift = 2k): the low nibbles of
    /// <paramref name="ql"/> with qh bits 2k..2k+1 on top, and its high nibbles with qh bits 2k+4..2k+5 on top.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<byte> Low, Vector256<byte> High) Unpack(Vector256<byte> ql, Vector256<byte> qh, int shift)
    {
        Vector256<byte> mask = Vector256.Create((byte)0x0F), three = Vector256.Create((byte)0x30);
        // Shift 16-bit lanes and mask per byte: the bits that cross a byte boundary are masked away.
        Vector256<ushort> shifted = Vector256.ShiftRightLogical(qh.AsUInt16(), shift);
        Vector256<byte> lowTop = Vector256.ShiftLeft(shifted, 4).AsByte() & three;
        Vector256<byte> highTop = shifted.AsByte() & three;
        return ((ql & mask) | lowTop, (Vector256.ShiftRightLogical(ql.AsUInt16(), 4).AsByte() & mask) | highTop);
    }

    /// <summary>
    /// <c>Σ_g sc[g]·bsums[g]</c>: the weights' offset of 32, taken out of the unsigned quants' sum, over the activation's
    /// 16-quant group sums; exact, so any order gives the same integer.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe int Offset(sbyte* sc, byte* xb)
    {
        if (Avx2.IsSupported)
        {
            return Q8_K.GroupSumDot(Avx2.ConvertToVector256Int16(sc), xb);
        }
        short* bsums = (short*)(xb + Q8_K.BsumsOffset);
        int offset = 0;
        for (int g = 0; g < 16; g++)
        {
            offset += sc[g] * bsums[g];
        }
        return offset;
    }

    /// <summary>
    /// <see cref="Dot"/> of one weight row with four activation rows (<c>x + t·xStride</c>), written to
    /// <c>y[t·yStride]</c>: each super-block's 6-bit quants and scales are unpacked once for the four tokens. Every
    /// output is <see cref="Dot"/> of its pair bit for bit (exact integer sums, the same float step).
    /// </summary>
    public static unsafe void Dot4(byte* w, byte* x, long xStride, int blocks, float* y, long yStride, SimdTier tier)
    {
        if (tier == SimdTier.Scalar || !Avx2.IsSupported)
        {
            for (int t = 0; t < 4; t++)
            {
                y[t * yStride] = Dot(w, x + t * xStride, blocks, tier);
            }
            return;
        }
        float sum0 = 0f, sum1 = 0f, sum2 = 0f, sum3 = 0f;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            long o = (long)b * Q8_K.BlockBytes;
            byte* x0 = x + o, x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
            sbyte* sc = (sbyte*)(wb + ScalesOffset);
            Vector256<int> acc0 = Vector256<int>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
            for (int h = 0; h < 2; h++)
            {
                Vector256<byte> qh = Vector256.Load(wb + QhOffset + 32 * h);
                sbyte* s = sc + 8 * h;
                for (int k = 0; k < 2; k++)
                {
                    var (qa, qb) = Unpack(Vector256.Load(wb + 64 * h + 32 * k), qh, 2 * k);
                    Vector256<short> sa = Q8_K.Scales(s[2 * k], s[2 * k + 1]), sb = Q8_K.Scales(s[2 * k + 4], s[2 * k + 5]);
                    int ya = Q8_K.QsOffset + 128 * h + 32 * k, yb = ya + 64;
                    acc0 = Q8_K.MultiplyAddScaled(Q8_K.MultiplyAddScaled(acc0, qa, Vector256.Load((sbyte*)(x0 + ya)), sa), qb, Vector256.Load((sbyte*)(x0 + yb)), sb);
                    acc1 = Q8_K.MultiplyAddScaled(Q8_K.MultiplyAddScaled(acc1, qa, Vector256.Load((sbyte*)(x1 + ya)), sa), qb, Vector256.Load((sbyte*)(x1 + yb)), sb);
                    acc2 = Q8_K.MultiplyAddScaled(Q8_K.MultiplyAddScaled(acc2, qa, Vector256.Load((sbyte*)(x2 + ya)), sa), qb, Vector256.Load((sbyte*)(x2 + yb)), sb);
                    acc3 = Q8_K.MultiplyAddScaled(Q8_K.MultiplyAddScaled(acc3, qa, Vector256.Load((sbyte*)(x3 + ya)), sa), qb, Vector256.Load((sbyte*)(x3 + yb)), sb);
                }
            }
            Vector256<short> groupScales = Avx2.ConvertToVector256Int16(sc);
            float d = F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb + DOffset));
            sum0 += d * Unsafe.ReadUnaligned<float>(x0) * (Vector256.Sum(acc0) - 32 * Q8_K.GroupSumDot(groupScales, x0));
            sum1 += d * Unsafe.ReadUnaligned<float>(x1) * (Vector256.Sum(acc1) - 32 * Q8_K.GroupSumDot(groupScales, x1));
            sum2 += d * Unsafe.ReadUnaligned<float>(x2) * (Vector256.Sum(acc2) - 32 * Q8_K.GroupSumDot(groupScales, x2));
            sum3 += d * Unsafe.ReadUnaligned<float>(x3) * (Vector256.Sum(acc3) - 32 * Q8_K.GroupSumDot(groupScales, x3));
        }
        y[0] = sum0;
        y[yStride] = sum1;
        y[2 * yStride] = sum2;
        y[3 * yStride] = sum3;
    }

    private static unsafe int Sum256(byte* wb, sbyte* y, sbyte* sc)
    {
        Vector256<int> acc = Vector256<int>.Zero;
        for (int h = 0; h < 2; h++)
        {
            byte* ql = wb + 64 * h;
            Vector256<byte> qh = Vector256.Load(wb + QhOffset + 32 * h);
            sbyte* yh = y + 128 * h;
            sbyte* s = sc + 8 * h;
            for (int k = 0; k < 2; k++)
            {
                // Quarter k from bits 2k-2k+1 of qh and the low nibbles; quarter k+2 from bits 2k+4-2k+5 and the high nibbles.
                var (qa, qb) = Unpack(Vector256.Load(ql + 32 * k), qh, 2 * k);
                acc = Q8_K.MultiplyAddScaled(acc, qa, Vector256.Load(yh + 32 * k), s[2 * k], s[2 * k + 1]);
                acc = Q8_K.MultiplyAddScaled(acc, qb, Vector256.Load(yh + 32 * k + 64), s[2 * k + 4], s[2 * k + 5]);
            }
        }
        return Vector256.Sum(acc);
    }

    private static unsafe int Sum512(byte* wb, sbyte* y, sbyte* sc)
    {
        Vector512<int> acc = Vector512<int>.Zero;
        for (int h = 0; h < 2; h++)
        {
            byte* ql = wb + 64 * h;
            Vector256<byte> qh = Vector256.Load(wb + QhOffset + 32 * h);
            sbyte* yh = y + 128 * h;
            sbyte* s = sc + 8 * h;
            var (q0, q2) = Unpack(Vector256.Load(ql), qh, 0);
            var (q1, q3) = Unpack(Vector256.Load(ql + 32), qh, 2);
            // Quarters 0 and 1 are elements 0..63 of the half, quarters 2 and 3 elements 64..127.
            acc = Q8_K.MultiplyAddScaled(acc, Vector512.Create(q0, q1), Vector512.Load(yh), s[0], s[1], s[2], s[3]);
            acc = Q8_K.MultiplyAddScaled(acc, Vector512.Create(q2, q3), Vector512.Load(yh + 64), s[4], s[5], s[6], s[7]);
        }
        return Vector512.Sum(acc);
    }
}

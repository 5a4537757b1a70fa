using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_Q8_K: super-blocks of 256 values, 292 bytes each (ggml-common.h block_q8_K):
/// <code>
/// offset   0  float  d          scale, IEEE single (not half: this type never reaches a file)
/// offset   4  sbyte  qs[256]    value j = qs[j] * d
/// offset 260  short  bsums[16]  bsums[g] = Σ qs[16g .. 16g+15]
/// </code>
/// The vec_dot_type of every K-quant: the CPU backend quantizes each activation row to Q8_K and dots the weight
/// rows against it. The group sums let the Q4_K/Q5_K dots apply their per-sub-block minimum, and the Q6_K dot
/// its −32 offset, without another pass over the quants.
/// </summary>
internal static class Q8_K
{
    /// <summary>QK_K: elements per super-block, shared by every K-quant.</summary>
    public const int BlockSize = 256;
    public const int BlockBytes = 292;
    public const int QsOffset = 4;
    public const int BsumsOffset = 260;

    /// <summary>
    /// ggml-quants.c nearest_int: adding 1.5·2^23 leaves the integer part, rounded to nearest even by the FPU, in the
    /// low mantissa bits. Exact for |x| ≤ 2^22 − 1; beyond that (or for inf/NaN, possible with degenerate inputs)
    /// it returns the same wrapped value as ggml, which the quantizers then clamp, so we keep the bit trick.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int NearestInt(float x) => (BitConverter.SingleToInt32Bits(x + 12582912f) & 0x007FFFFF) - 0x00400000;

    /// <summary>
    /// quantize_row_q8_K_ref, which is also what the x86 CPU backend runs for activations (its quantize_row_q8_K
    /// forwards to the reference). The scale comes from the signed value of largest magnitude (the first on ties):
    /// <c>iscale = −127 / max</c>, <c>q = min(127, nearest_int(iscale·x))</c>, <c>d = 1 / iscale</c>. An all-zero
    /// block gets d = 0 and zero quants.
    /// </summary>
    public static unsafe void QuantizeActivation(float* src, byte* dst, int n, SimdTier tier)
    {
        Debug.Assert(n % BlockSize == 0);
        for (int b = 0; b < n / BlockSize; b++)
        {
            float* x = src + b * BlockSize;
            byte* block = dst + b * BlockBytes;
            float max = tier switch
            {
                SimdTier.Vector512 => SignedAbsMax512(x),
                SimdTier.Vector256 => SignedAbsMax256(x),
                _ => SignedAbsMaxScalar(x),
            };
            if (max == 0f)
            {
                new Span<byte>(block, BlockBytes).Clear();
                continue;
            }
            float iscale = -127f / max;
            sbyte* qs = (sbyte*)(block + QsOffset);
            short* bsums = (short*)(block + BsumsOffset);
            switch (tier)
            {
                case SimdTier.Vector512: Quantize512(x, iscale, qs, bsums); break;
                case SimdTier.Vector256: Quantize256(x, iscale, qs, bsums); break;
                default: QuantizeScalar(x, iscale, qs, bsums); break;
            }
            Unsafe.WriteUnaligned(block, 1f / iscale);
        }
    }

    private static unsafe float SignedAbsMaxScalar(float* x)
    {
        float amax = 0f, max = 0f;
        for (int j = 0; j < BlockSize; j++)
        {
            float ax = MathF.Abs(x[j]);
            if (ax > amax)
            {
                amax = ax;
                max = x[j];
            }
        }
        return max;
    }

    // The vector tiers find the largest magnitude first, then the first element that has it: the same value the
    // scalar scan keeps (strict '>' keeps the first of equal magnitudes, whatever their signs).
    private static unsafe float SignedAbsMax256(float* x)
    {
        Vector256<float> m = Vector256<float>.Zero;
        for (int j = 0; j < BlockSize; j += 8)
        {
            m = Vector256.Max(m, Vector256.Abs(Vector256.Load(x + j)));
        }
        return FirstWithMagnitude(x, HorizontalMax(Vector128.Max(m.GetLower(), m.GetUpper())));
    }

    private static unsafe float SignedAbsMax512(float* x)
    {
        Vector512<float> m = Vector512<float>.Zero;
        for (int j = 0; j < BlockSize; j += 16)
        {
            m = Vector512.Max(m, Vector512.Abs(Vector512.Load(x + j)));
        }
        Vector256<float> h = Vector256.Max(m.GetLower(), m.GetUpper());
        return FirstWithMagnitude(x, HorizontalMax(Vector128.Max(h.GetLower(), h.GetUpper())));
    }

    private static unsafe float FirstWithMagnitude(float* x, float amax)
    {
        if (amax == 0f)
        {
            return 0f;
        }
        Vector256<float> target = Vector256.Create(amax);
        for (int j = 0; j < BlockSize; j += 8)
        {
            Vector256<float> v = Vector256.Load(x + j);
            uint hits = Vector256.Equals(Vector256.Abs(v), target).ExtractMostSignificantBits();
            if (hits != 0)
            {
                return x[j + BitOperations.TrailingZeroCount(hits)];
            }
        }
        return SignedAbsMaxScalar(x); // NaN inputs: no lane compares equal; let the scalar scan decide
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalMax(Vector128<float> m)
    {
        float a = m.GetElement(0), b = m.GetElement(1), c = m.GetElement(2), d = m.GetElement(3);
        float ab = a > b ? a : b, cd = c > d ? c : d;
        return ab > cd ? ab : cd;
    }

    private static unsafe void QuantizeScalar(float* x, float iscale, sbyte* qs, short* bsums)
    {
        for (int j = 0; j < BlockSize; j++)
        {
            qs[j] = (sbyte)Math.Min(127, NearestInt(iscale * x[j]));
        }
        for (int g = 0; g < BlockSize / 16; g++)
        {
            int sum = 0;
            for (int j = 0; j < 16; j++)
            {
                sum += qs[16 * g + j];
            }
            bsums[g] = (short)sum;
        }
    }

    // |iscale·x| ≤ 127 (up to rounding) and Round is ties-to-even, so Round equals nearest_int here.
    private static unsafe void Quantize256(float* x, float iscale, sbyte* qs, short* bsums)
    {
        Vector256<float> s = Vector256.Create(iscale);
        Vector256<int> top = Vector256.Create(127);
        for (int g = 0; g < BlockSize / 16; g++)
        {
            float* xg = x + 16 * g;
            Vector256<int> i0 = Vector256.Min(top, Vector256.ConvertToInt32(Vector256.Round(Vector256.Load(xg) * s)));
            Vector256<int> i1 = Vector256.Min(top, Vector256.ConvertToInt32(Vector256.Round(Vector256.Load(xg + 8) * s)));
            Vector128<short> q16 = Vector128.Narrow(i0.GetLower(), i0.GetUpper());
            Vector128<short> r16 = Vector128.Narrow(i1.GetLower(), i1.GetUpper());
            Vector128.Narrow(q16, r16).Store(qs + 16 * g);
            bsums[g] = (short)Vector256.Sum(i0 + i1);
        }
    }

    private static unsafe void Quantize512(float* x, float iscale, sbyte* qs, short* bsums)
    {
        Vector512<float> s = Vector512.Create(iscale);
        Vector512<int> top = Vector512.Create(127);
        for (int g = 0; g < BlockSize / 16; g++)
        {
            Vector512<int> i = Vector512.Min(top, Vector512.ConvertToInt32(Vector512.Round(Vector512.Load(x + 16 * g) * s)));
            Vector256<short> q16 = Vector256.Narrow(i.GetLower(), i.GetUpper());
            Vector128.Narrow(q16.GetLower(), q16.GetUpper()).Store(qs + 16 * g);
            bsums[g] = (short)Vector512.Sum(i);
        }
    }

    /// <summary>
    /// A K-quant's float step for two tokens at once, as the eight-token dots take it: token a's eight lanes in the low
    /// half of the accumulator, token b's in the high half, each lane the sum of the two 256-bit halves of that token's
    /// 512-bit integer lanes, times its own y_d·d (<paramref name="xa"/>, <paramref name="xb"/>: the tokens' Q8_K blocks).
    /// Each lane sees the products of the type's one-token step.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe Vector512<float> TwoTokenStep(Vector512<float> acc, float d, byte* xa, byte* xb, Vector512<int> sa, Vector512<int> sb) =>
        TwoTokenStep(acc, d, xa, xb, sa, sb, Vector512<int>.Zero);

    /// <summary>As <see cref="TwoTokenStep(Vector512{float}, float, byte*, byte*, Vector512{int}, Vector512{int})"/>, with
    /// <paramref name="minus"/> (token a's eight lanes low, token b's high) taken from the integer lanes first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe Vector512<float> TwoTokenStep(Vector512<float> acc, float d, byte* xa, byte* xb, Vector512<int> sa, Vector512<int> sb,
        Vector512<int> minus)
    {
        Vector512<int> lanes = Avx512F.Shuffle4x128(sa, sb, 0x44) + Avx512F.Shuffle4x128(sa, sb, 0xEE) - minus;
        return Vector512.FusedMultiplyAdd(PairScale(xa, xb, d), Vector512.ConvertToSingle(lanes), acc);
    }

    /// <summary>
    /// [y_d of block a ×8, y_d of block b ×8] times <paramref name="d"/>: each lane the product the one-token step forms
    /// in a scalar register. Two broadcasts from memory and a blend; building it from two 256-bit broadcasts and
    /// inserts took seven instructions.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe Vector512<float> PairScale(byte* xa, byte* xb, float d) =>
        Vector512.ConditionalSelect(UpperHalf512, Vector512.Create(Unsafe.ReadUnaligned<float>(xb)), Vector512.Create(Unsafe.ReadUnaligned<float>(xa)))
        * Vector512.Create(d);

    /// <summary>As <see cref="PairScale"/> for 256-bit vectors of two tokens' four lanes each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe Vector256<float> PairScale256(byte* xa, byte* xb, float d) =>
        Vector256.ConditionalSelect(UpperHalf256, Vector256.Create(Unsafe.ReadUnaligned<float>(xb)), Vector256.Create(Unsafe.ReadUnaligned<float>(xa)))
        * Vector256.Create(d);

    private static readonly Vector512<float> UpperHalf512 = Vector512.Create(Vector256<float>.Zero, Vector256<float>.AllBitsSet);
    private static readonly Vector256<float> UpperHalf256 = Vector256.Create(Vector128<float>.Zero, Vector128<float>.AllBitsSet);

    /// <summary>
    /// <c>acc + Σ_j q[j]·y[j]·scale(j)</c> over 32 weight quants q (unsigned, ≤ 63) and activation quants y, where
    /// bytes 0..15 take <paramref name="scale0"/> and bytes 16..31 <paramref name="scale1"/>; the lanes of the
    /// result hold partial sums whose total is exact (products fit: 2·63·128 &lt; 2^15 for the pair sums).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MultiplyAddScaled(Vector256<int> acc, Vector256<byte> q, Vector256<sbyte> y, short scale0, short scale1)
    {
        if (Avx2.IsSupported)
        {
            // vpmaddubsw: u8·s8 products summed in adjacent pairs to int16 (16 lanes, 8 per 16-byte half);
            // vpmaddwd by the scales: adjacent int16 pairs times int16 scales summed to int32.
            Vector256<short> pairs = Avx2.MultiplyAddAdjacent(q, y);
            return acc + Avx2.MultiplyAddAdjacent(pairs, Vector256.Create(Vector128.Create(scale0), Vector128.Create(scale1)));
        }
        var (q0, q1) = Vector256.Widen(q);
        var (y0, y1) = Vector256.Widen(y);
        var (a0, a1) = Vector256.Widen(q0.AsInt16() * y0);   // bytes 0..15
        var (b0, b1) = Vector256.Widen(q1.AsInt16() * y1);   // bytes 16..31
        return acc + (a0 + a1) * scale0 + (b0 + b1) * scale1;
    }

    /// <summary>
    /// As <see cref="MultiplyAddScaled(Vector256{int}, Vector256{byte}, Vector256{sbyte}, short, short)"/> with the
    /// scales already broadcast (int16 lanes 0..7 for bytes 0..15, lanes 8..15 for bytes 16..31), for kernels that build
    /// them once per sub-block and reuse them. AVX2 only.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MultiplyAddScaled(Vector256<int> acc, Vector256<byte> q, Vector256<sbyte> y, Vector256<short> scales) =>
        acc + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, y), scales);

    /// <summary>As the 256-bit overload over 64 quants: bytes 16k .. 16k+15 take scale k.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> MultiplyAddScaled(Vector512<int> acc, Vector512<byte> q, Vector512<sbyte> y,
        short scale0, short scale1, short scale2, short scale3)
    {
        if (Avx512BW.IsSupported)
        {
            Vector512<short> pairs = Avx512BW.MultiplyAddAdjacent(q, y);
            Vector512<short> scales = Vector512.Create(
                Vector256.Create(Vector128.Create(scale0), Vector128.Create(scale1)),
                Vector256.Create(Vector128.Create(scale2), Vector128.Create(scale3)));
            return acc + Avx512BW.MultiplyAddAdjacent(pairs, scales);
        }
        Vector256<int> lo = MultiplyAddScaled(Vector256<int>.Zero, q.GetLower(), y.GetLower(), scale0, scale1);
        Vector256<int> hi = MultiplyAddScaled(Vector256<int>.Zero, q.GetUpper(), y.GetUpper(), scale2, scale3);
        return acc + Vector512.Create(lo, hi);
    }

    /// <summary>dequantize_row_q8_K: <c>y = d * qs[j]</c>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * BlockBytes, BlockBytes);
            float d = MemoryMarshal.Read<float>(block);
            for (int j = 0; j < BlockSize; j++)
            {
                dst[b * BlockSize + j] = d * (sbyte)block[QsOffset + j];
            }
        }
    }
}

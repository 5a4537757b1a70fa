using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_F16: IEEE 754 binary16, little endian, 2 bytes per element, no blocks.
/// </summary>
/// <remarks>
/// Conversion float → half is round-to-nearest-even with overflow to ±inf, which is what ggml's portable
/// routine (ggml-impl.h, ggml_compute_fp32_to_fp16) and the F16C instruction (vcvtps2ph, imm 0) used by
/// the CPU backend both do, and what .NET's <c>(Half)float</c> does. They differ only for NaN: ggml's
/// portable routine writes the canonical quiet NaN <c>sign | 0x7E00</c>, .NET and F16C keep the top payload
/// bits. <see cref="FromSingle"/> follows ggml's reference (used to write model files);
/// activations use the runtime's converter, where NaN payloads cannot matter.
/// Dot products (ggml_vec_dot_f16): both operands are halves, each product of two halves is exact in
/// float (11 + 11 significand bits), and products are accumulated in float.
/// </remarks>
internal static class F16
{
    public const int BlockBytes = 2;

    /// <summary>float → half bits, bit-exact with ggml_compute_fp32_to_fp16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromSingle(float f)
    {
        if (float.IsNaN(f))
        {
            return (ushort)((BitConverter.SingleToUInt32Bits(f) >> 16) & 0x8000 | 0x7E00);
        }
        return BitConverter.HalfToUInt16Bits((Half)f);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle(ushort h) => (float)BitConverter.UInt16BitsToHalf(h);

    /// <summary>
    /// half → float by table lookup (256 KiB, as ggml's ggml_table_f32_f16): the block scales of the quant
    /// dots are converted twice per 32 elements, where the runtime's software conversion is measurable.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingleFast(ushort h) => Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(Table), h);

    private static readonly float[] Table = BuildTable();

    private static float[] BuildTable()
    {
        var t = new float[65536];
        for (int i = 0; i < t.Length; i++)
        {
            t[i] = ToSingle((ushort)i);
        }
        return t;
    }

    /// <summary>Reference encoding of a row (model files).</summary>
    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        Debug.Assert(dst.Length == src.Length * BlockBytes);
        Span<ushort> h = MemoryMarshal.Cast<byte, ushort>(dst);
        for (int i = 0; i < src.Length; i++)
        {
            h[i] = FromSingle(src[i]);
        }
    }

    /// <summary>half → float is exact, so any correct converter is bit-exact with ggml's.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(src.Length == dst.Length * BlockBytes);
        TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(src), dst);
    }

    /// <summary>
    /// Rounds an activation to half precision and back, in place: <c>x[i] = (float)(half)x[i]</c>.
    /// A float holding a half value multiplies exactly like the half would, so the matmul can convert the
    /// activation once (ggml's vec_dot_type for F16 is F16) and keep float loads in the inner loop.
    /// </summary>
    public static void RoundActivation(Span<float> x)
    {
        Span<Half> h = stackalloc Half[256];
        for (int i = 0; i < x.Length; i += h.Length)
        {
            Span<float> part = x.Slice(i, Math.Min(h.Length, x.Length - i));
            TensorPrimitives.ConvertToHalf(part, h[..part.Length]);
            TensorPrimitives.ConvertToSingle(h[..part.Length], part);
        }
    }

    /// <summary>
    /// Widens 8 half values (zero-extended to uint32 lanes) to float, exactly, for every class of input.
    /// The magnitude bits shifted into float position read as a float 2^-112 times the value (float's exponent
    /// bias is 112 more than half's), so one multiplication by 2^112 rebiases normals and also renormalises
    /// subnormals, which land on float subnormals, exactly. Exponent 31 (inf/NaN) comes out as 2^16 or more and
    /// is then forced to exponent 255, NaNs quieted (as .NET's (float)Half, F16C and ggml's portable routine do).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Widen(Vector256<uint> h)
    {
        Vector256<int> bits = ((h & Vector256.Create(0x7FFFu)) << 13).AsInt32();
        Vector256<int> f = (bits.AsSingle() * Vector256.Create(0x77800000).AsSingle()).AsInt32();
        Vector256<int> special = f | Vector256.Create(0x7F800000);
        special |= Vector256.GreaterThan(special, Vector256.Create(0x7F800000)) & Vector256.Create(0x00400000);
        f = Vector256.ConditionalSelect(Vector256.GreaterThan(bits, Vector256.Create(0x0F7FFFFF)), special, f);
        return (f.AsUInt32() | ((h & Vector256.Create(0x8000u)) << 16)).AsSingle();
    }

    /// <inheritdoc cref="Widen(Vector256{uint})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Widen(Vector512<uint> h)
    {
        Vector512<int> bits = ((h & Vector512.Create(0x7FFFu)) << 13).AsInt32();
        Vector512<int> f = (bits.AsSingle() * Vector512.Create(0x77800000).AsSingle()).AsInt32();
        Vector512<int> special = f | Vector512.Create(0x7F800000);
        special |= Vector512.GreaterThan(special, Vector512.Create(0x7F800000)) & Vector512.Create(0x00400000);
        f = Vector512.ConditionalSelect(Vector512.GreaterThan(bits, Vector512.Create(0x0F7FFFFF)), special, f);
        return (f.AsUInt32() | ((h & Vector512.Create(0x8000u)) << 16)).AsSingle();
    }

    /// <summary>
    /// <c>Σ w[i]·x[i]</c> for an F16 weight row and an activation already rounded to half (see
    /// <see cref="RoundActivation"/>). Products are exact; the sum is in float.
    /// </summary>
    public static unsafe float Dot(ushort* w, float* x, int n, SimdTier tier)
    {
        int i = 0;
        float sum = 0f;
        if (tier >= SimdTier.Vector512 && n >= Vector512<float>.Count)
        {
            if (!(Avx512BW.IsSupported && TryDotSignExtend512(w, x, n, ref i, ref sum)))
            {
                sum = DotVector512(w, x, n, ref i);
            }
        }
        else if (tier >= SimdTier.Vector256 && n >= Vector256<float>.Count && !(Avx2.IsSupported && TryDotSignExtend(w, x, n, ref i, ref sum)))
        {
            Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
            for (; i <= n - 32; i += 32)
            {
                var (a, b) = Vector256.Widen(Vector256.Load(w + i));
                var (c, d) = Vector256.Widen(Vector256.Load(w + i + 16));
                acc0 = Vector256.FusedMultiplyAdd(Widen(a), Vector256.Load(x + i), acc0);
                acc1 = Vector256.FusedMultiplyAdd(Widen(b), Vector256.Load(x + i + 8), acc1);
                acc2 = Vector256.FusedMultiplyAdd(Widen(c), Vector256.Load(x + i + 16), acc2);
                acc3 = Vector256.FusedMultiplyAdd(Widen(d), Vector256.Load(x + i + 24), acc3);
            }
            for (; i <= n - 8; i += 8)
            {
                acc0 = Vector256.FusedMultiplyAdd(Widen(Vector256.WidenLower(Vector128.Load(w + i).ToVector256())), Vector256.Load(x + i), acc0);
            }
            sum = Vector256.Sum((acc0 + acc1) + (acc2 + acc3));
        }
        for (; i < n; i++)
        {
            sum += ToSingle(w[i]) * x[i];
        }
        return sum;
    }

    /// <summary>
    /// The Vector512 loop of <see cref="Dot"/> with the exact widening, for any input and without AVX-512: the steps and
    /// accumulators of <see cref="TryDotSignExtend512"/>, so a finite row gives the same bits either way.
    /// </summary>
    private static unsafe float DotVector512(ushort* w, float* x, int n, ref int i)
    {
        Vector512<float> acc0 = Vector512<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (; i <= n - 64; i += 64)
        {
            StreamPrefetch.Ahead((byte*)(w + i));
            StreamPrefetch.Ahead((byte*)(w + i + 32));
            var (a, b) = Vector512.Widen(Vector512.Load(w + i));
            var (c, d) = Vector512.Widen(Vector512.Load(w + i + 32));
            acc0 = Vector512.FusedMultiplyAdd(Widen(a), Vector512.Load(x + i), acc0);
            acc1 = Vector512.FusedMultiplyAdd(Widen(b), Vector512.Load(x + i + 16), acc1);
            acc2 = Vector512.FusedMultiplyAdd(Widen(c), Vector512.Load(x + i + 32), acc2);
            acc3 = Vector512.FusedMultiplyAdd(Widen(d), Vector512.Load(x + i + 48), acc3);
        }
        for (; i <= n - 16; i += 16)
        {
            acc0 = Vector512.FusedMultiplyAdd(Widen(Vector512.WidenLower(Vector256.Load(w + i).ToVector512())), Vector512.Load(x + i), acc0);
        }
        return Vector512.Sum((acc0 + acc1) + (acc2 + acc3));
    }

    /// <summary>
    /// Eight halves at <paramref name="h"/> to float, exactly for finite values: vpmovsxwd straight from memory puts
    /// the sign in bits 31..16, so after a shift by 13 bit 31 is the sign, bits 28..30 are sign copies that
    /// <paramref name="keep"/> clears and bits 27..13 the magnitude; the 2^112 <paramref name="rebias"/> of
    /// <see cref="Widen(Vector256{uint})"/> then follows. Infinities and NaNs come out finite (callers screen for them).
    /// The constants are parameters so that the loops keep them in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe Vector256<float> WidenFinite(ushort* h, Vector256<int> keep, Vector256<float> rebias) =>
        ((Avx2.ConvertToVector256Int32((short*)h) << 13) & keep).AsSingle() * rebias;

    /// <summary>
    /// The Vector256 loop of <see cref="Dot"/> (same steps, same accumulators, so the same bits) with the cheaper
    /// <see cref="WidenFinite"/>. Infinities and NaNs (exponent 31) would come out finite, so their presence is
    /// tracked with unsigned maxima (two per 32 halves) of <c>h &lt;&lt; 1</c> (≥ 0xF800 for them) and the caller
    /// falls back to the exact widening when any is seen.
    /// </summary>
    /// <returns>false (and <paramref name="i"/>, <paramref name="sum"/> untouched) when the row holds an inf or NaN.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe bool TryDotSignExtend(ushort* w, float* x, int n, ref int i, ref float sum)
    {
        Vector256<int> keep = Vector256.Create(unchecked((int)0x8FFFE000));
        Vector256<float> rebias = Vector256.Create(0x77800000).AsSingle();
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        Vector256<ushort> top = Vector256<ushort>.Zero;
        int j = i;
        for (; j <= n - 32; j += 32)
        {
            StreamPrefetch.Ahead((byte*)(w + j));
            top = Avx2.Max(top, Avx2.Max(Vector256.Load(w + j) << 1, Vector256.Load(w + j + 16) << 1));
            Vector256<float> a = WidenFinite(w + j, keep, rebias);
            Vector256<float> b = WidenFinite(w + j + 8, keep, rebias);
            Vector256<float> c = WidenFinite(w + j + 16, keep, rebias);
            Vector256<float> d = WidenFinite(w + j + 24, keep, rebias);
            acc0 = Vector256.FusedMultiplyAdd(a, Vector256.Load(x + j), acc0);
            acc1 = Vector256.FusedMultiplyAdd(b, Vector256.Load(x + j + 8), acc1);
            acc2 = Vector256.FusedMultiplyAdd(c, Vector256.Load(x + j + 16), acc2);
            acc3 = Vector256.FusedMultiplyAdd(d, Vector256.Load(x + j + 24), acc3);
        }
        for (; j <= n - 8; j += 8)
        {
            top = Avx2.Max(top, Vector256.Create(Vector128.Load(w + j) << 1, Vector128<ushort>.Zero));
            Vector256<float> v = WidenFinite(w + j, keep, rebias);
            acc0 = Vector256.FusedMultiplyAdd(v, Vector256.Load(x + j), acc0);
        }
        if (Vector256.GreaterThanOrEqualAny(top, Vector256.Create((ushort)0xF800)))
        {
            return false;
        }
        i = j;
        sum = Vector256.Sum((acc0 + acc1) + (acc2 + acc3));
        return true;
    }

    /// <summary>
    /// The Vector512 loop of <see cref="Dot"/> on AVX-512 hardware, as <see cref="TryDotSignExtend"/>: 64 halves (two
    /// cache lines, each prefetched ahead) into four accumulators per step, widened by vpmovsxwd, shift, mask and the
    /// rebias multiply, with the same screen for infinities and NaNs (rows holding one take <see cref="DotVector512"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe bool TryDotSignExtend512(ushort* w, float* x, int n, ref int i, ref float sum)
    {
        Vector512<int> keep = Vector512.Create(unchecked((int)0x8FFFE000));
        Vector512<float> rebias = Vector512.Create(0x77800000).AsSingle();
        Vector512<float> acc0 = Vector512<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        Vector512<ushort> top = Vector512<ushort>.Zero;
        int j = i;
        for (; j <= n - 64; j += 64)
        {
            StreamPrefetch.Ahead((byte*)(w + j));
            StreamPrefetch.Ahead((byte*)(w + j + 32));
            top = Avx512BW.Max(top, Avx512BW.Max(Vector512.Load(w + j) << 1, Vector512.Load(w + j + 32) << 1));
            acc0 = Vector512.FusedMultiplyAdd(WidenFinite512(w + j, keep, rebias), Vector512.Load(x + j), acc0);
            acc1 = Vector512.FusedMultiplyAdd(WidenFinite512(w + j + 16, keep, rebias), Vector512.Load(x + j + 16), acc1);
            acc2 = Vector512.FusedMultiplyAdd(WidenFinite512(w + j + 32, keep, rebias), Vector512.Load(x + j + 32), acc2);
            acc3 = Vector512.FusedMultiplyAdd(WidenFinite512(w + j + 48, keep, rebias), Vector512.Load(x + j + 48), acc3);
        }
        for (; j <= n - 16; j += 16)
        {
            top = Avx512BW.Max(top, Vector512.Create(Vector256.Load(w + j) << 1, Vector256<ushort>.Zero));
            acc0 = Vector512.FusedMultiplyAdd(WidenFinite512(w + j, keep, rebias), Vector512.Load(x + j), acc0);
        }
        if (Vector512.GreaterThanOrEqualAny(top, Vector512.Create((ushort)0xF800)))
        {
            return false;
        }
        i = j;
        sum = Vector512.Sum((acc0 + acc1) + (acc2 + acc3));
        return true;
    }

    /// <summary><see cref="WidenFinite"/> for 16 halves (AVX-512F).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe Vector512<float> WidenFinite512(ushort* h, Vector512<int> keep, Vector512<float> rebias) =>
        ((Avx512F.ConvertToVector512Int32(Vector256.Load((short*)h)) << 13) & keep).AsSingle() * rebias;

    /// <summary>
    /// <see cref="Dot"/> of one weight row with four activation rows (<c>x + t·xStride</c>), written to
    /// <c>y[t·yStride]</c>: each 32 halves are widened once per pair of tokens. On the AVX2 path every output is
    /// <see cref="Dot"/> of its pair bit for bit (same accumulators, same steps); other tiers, and rows holding an
    /// infinity or NaN, take four single dots.
    /// </summary>
    public static unsafe void Dot4(ushort* w, float* x, long xStride, int n, float* y, long yStride, SimdTier tier)
    {
        if (tier != SimdTier.Vector256 || !Avx2.IsSupported || n < Vector256<float>.Count || !TryDot4SignExtend(w, x, xStride, n, y, yStride))
        {
            for (int t = 0; t < 4; t++)
            {
                y[t * yStride] = Dot(w, x + t * xStride, n, tier);
            }
        }
    }

    /// <summary>The four-token form of <see cref="TryDotSignExtend"/>, with the scalar tail of <see cref="Dot"/>.</summary>
    private static unsafe bool TryDot4SignExtend(ushort* w, float* x, long xStride, int n, float* y, long yStride)
    {
        Vector256<ushort> top = Vector256<ushort>.Zero;
        int j = 0;
        for (; j <= n - 16; j += 16)
        {
            top = Avx2.Max(top, Vector256.Load(w + j) << 1);
        }
        for (; j <= n - 8; j += 8)
        {
            top = Avx2.Max(top, Vector256.Create(Vector128.Load(w + j) << 1, Vector128<ushort>.Zero));
        }
        if (Vector256.GreaterThanOrEqualAny(top, Vector256.Create((ushort)0xF800)))
        {
            return false;
        }
        // Four tokens would need sixteen accumulators, all the AVX2 registers, so the tokens go in two pairs; the
        // second pair finds the row in L1.
        DotPairSignExtend(w, x, x + xStride, n, y, y + yStride);
        DotPairSignExtend(w, x + 2 * xStride, x + 3 * xStride, n, y + 2 * yStride, y + 3 * yStride);
        return true;
    }

    /// <summary><see cref="TryDotSignExtend"/>'s steps for two tokens at once, on a row known to be finite.</summary>
    private static unsafe void DotPairSignExtend(ushort* w, float* x0, float* x1, int n, float* y0, float* y1)
    {
        Vector256<int> keep = Vector256.Create(unchecked((int)0x8FFFE000));
        Vector256<float> rebias = Vector256.Create(0x77800000).AsSingle();
        Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        int i = 0;
        for (; i <= n - 32; i += 32)
        {
            Vector256<float> w0 = WidenFinite(w + i, keep, rebias);
            Vector256<float> w1 = WidenFinite(w + i + 8, keep, rebias);
            Vector256<float> w2 = WidenFinite(w + i + 16, keep, rebias);
            Vector256<float> w3 = WidenFinite(w + i + 24, keep, rebias);
            a0 = Vector256.FusedMultiplyAdd(w0, Vector256.Load(x0 + i), a0);
            a1 = Vector256.FusedMultiplyAdd(w1, Vector256.Load(x0 + i + 8), a1);
            a2 = Vector256.FusedMultiplyAdd(w2, Vector256.Load(x0 + i + 16), a2);
            a3 = Vector256.FusedMultiplyAdd(w3, Vector256.Load(x0 + i + 24), a3);
            b0 = Vector256.FusedMultiplyAdd(w0, Vector256.Load(x1 + i), b0);
            b1 = Vector256.FusedMultiplyAdd(w1, Vector256.Load(x1 + i + 8), b1);
            b2 = Vector256.FusedMultiplyAdd(w2, Vector256.Load(x1 + i + 16), b2);
            b3 = Vector256.FusedMultiplyAdd(w3, Vector256.Load(x1 + i + 24), b3);
        }
        for (; i <= n - 8; i += 8)
        {
            Vector256<float> v = WidenFinite(w + i, keep, rebias);
            a0 = Vector256.FusedMultiplyAdd(v, Vector256.Load(x0 + i), a0);
            b0 = Vector256.FusedMultiplyAdd(v, Vector256.Load(x1 + i), b0);
        }
        float s0 = Vector256.Sum((a0 + a1) + (a2 + a3)), s1 = Vector256.Sum((b0 + b1) + (b2 + b3));
        for (; i < n; i++)
        {
            float wv = ToSingle(w[i]);
            s0 += wv * x0[i];
            s1 += wv * x1[i];
        }
        *y0 = s0;
        *y1 = s1;
    }
}

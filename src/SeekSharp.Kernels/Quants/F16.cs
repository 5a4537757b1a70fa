using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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
    public static void RoundActivation(Span<float> x, Span<Half> scratch)
    {
        Debug.Assert(scratch.Length >= x.Length);
        Span<Half> h = scratch[..x.Length];
        TensorPrimitives.ConvertToHalf(x, h);
        TensorPrimitives.ConvertToSingle(h, x);
    }

    /// <summary>
    /// Widens 8 half values (zero-extended to uint32 lanes) to float, exactly, for every class of input:
    /// normals are rebiased, subnormals are renormalised with a float subtraction, inf/NaN get exponent 255
    /// and NaNs are quieted (as .NET's (float)Half, F16C and ggml's portable routine all do).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Widen(Vector256<uint> h)
    {
        Vector256<uint> sign = (h & Vector256.Create(0x8000u)) << 16;
        Vector256<uint> bits = (h & Vector256.Create(0x7FFFu)) << 13;        // exponent+mantissa aligned to float
        Vector256<uint> exp = bits & Vector256.Create(0x0F800000u);
        bits += Vector256.Create((127u - 15u) << 23);                         // rebias
        Vector256<uint> quiet = ~Vector256.Equals(h & Vector256.Create(0x03FFu), Vector256<uint>.Zero) & Vector256.Create(0x00400000u);
        bits = Vector256.ConditionalSelect(Vector256.Equals(exp, Vector256.Create(0x0F800000u)),
            (bits + Vector256.Create((128u - 16u) << 23)) | quiet, bits);                // inf/NaN: exponent all ones
        Vector256<float> sub = (bits + Vector256.Create(1u << 23)).AsSingle() - Vector256.Create(113u << 23).AsSingle();
        bits = Vector256.ConditionalSelect(Vector256.Equals(exp, Vector256<uint>.Zero), sub.AsUInt32(), bits);
        return (bits | sign).AsSingle();
    }

    /// <inheritdoc cref="Widen(Vector256{uint})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Widen(Vector512<uint> h)
    {
        Vector512<uint> sign = (h & Vector512.Create(0x8000u)) << 16;
        Vector512<uint> bits = (h & Vector512.Create(0x7FFFu)) << 13;
        Vector512<uint> exp = bits & Vector512.Create(0x0F800000u);
        bits += Vector512.Create((127u - 15u) << 23);
        Vector512<uint> quiet = ~Vector512.Equals(h & Vector512.Create(0x03FFu), Vector512<uint>.Zero) & Vector512.Create(0x00400000u);
        bits = Vector512.ConditionalSelect(Vector512.Equals(exp, Vector512.Create(0x0F800000u)),
            (bits + Vector512.Create((128u - 16u) << 23)) | quiet, bits);
        Vector512<float> sub = (bits + Vector512.Create(1u << 23)).AsSingle() - Vector512.Create(113u << 23).AsSingle();
        bits = Vector512.ConditionalSelect(Vector512.Equals(exp, Vector512<uint>.Zero), sub.AsUInt32(), bits);
        return (bits | sign).AsSingle();
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
            Vector512<float> acc0 = Vector512<float>.Zero, acc1 = Vector512<float>.Zero;
            for (; i <= n - 32; i += 32)
            {
                var (lo, hi) = Vector512.Widen(Vector512.Load(w + i));
                acc0 = Vector512.FusedMultiplyAdd(Widen(lo), Vector512.Load(x + i), acc0);
                acc1 = Vector512.FusedMultiplyAdd(Widen(hi), Vector512.Load(x + i + 16), acc1);
            }
            for (; i <= n - 16; i += 16)
            {
                acc0 = Vector512.FusedMultiplyAdd(Widen(Vector512.WidenLower(Vector256.Load(w + i).ToVector512())), Vector512.Load(x + i), acc0);
            }
            sum = Vector512.Sum(acc0 + acc1);
        }
        else if (tier >= SimdTier.Vector256 && n >= Vector256<float>.Count)
        {
            Vector256<float> acc0 = Vector256<float>.Zero, acc1 = Vector256<float>.Zero;
            for (; i <= n - 16; i += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Load(w + i));
                acc0 = Vector256.FusedMultiplyAdd(Widen(lo), Vector256.Load(x + i), acc0);
                acc1 = Vector256.FusedMultiplyAdd(Widen(hi), Vector256.Load(x + i + 8), acc1);
            }
            for (; i <= n - 8; i += 8)
            {
                acc0 = Vector256.FusedMultiplyAdd(Widen(Vector256.WidenLower(Vector128.Load(w + i).ToVector256())), Vector256.Load(x + i), acc0);
            }
            sum = Vector256.Sum(acc0 + acc1);
        }
        for (; i < n; i++)
        {
            sum += ToSingle(w[i]) * x[i];
        }
        return sum;
    }
}

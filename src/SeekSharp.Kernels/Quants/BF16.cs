using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_BF16: bfloat16 (the top 16 bits of an IEEE binary32), little endian, 2 bytes per element.
/// </summary>
/// <remarks>
/// Encoding follows ggml-impl.h ggml_compute_fp32_to_bf16: round to nearest even by adding
/// <c>0x7FFF + lsb</c> to the float bits (finite values near float.MaxValue round to ±inf), subnormals kept
/// (current ggml no longer flushes them), NaN truncated with the quiet bit (0x40) forced.
/// The CPU backend converts activations with the same function (ggml_cpu_fp32_to_bf16 without AVX512-BF16).
/// Decoding is a 16-bit shift and exact. A product of two bf16 values (8 + 8 significand bits) is exact in
/// float; ggml_vec_dot_bf16 accumulates products in float.
/// </remarks>
internal static class BF16
{
    public const int BlockBytes = 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromSingle(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if ((u & 0x7FFFFFFFu) > 0x7F800000u)
        {
            return (ushort)((u >> 16) | 0x40);
        }
        return (ushort)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle(ushort b) => BitConverter.UInt32BitsToSingle((uint)b << 16);

    public static void Quantize(ReadOnlySpan<float> src, Span<byte> dst)
    {
        Debug.Assert(dst.Length == src.Length * BlockBytes);
        Span<ushort> b = MemoryMarshal.Cast<byte, ushort>(dst);
        for (int i = 0; i < src.Length; i++)
        {
            b[i] = FromSingle(src[i]);
        }
    }

    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst) => Dequantize(src, dst, SimdCapabilities.Best);

    /// <summary>bf16 → float at <paramref name="tier"/>: each value widened to 32 bits and shifted into the top half,
    /// exact, so every tier gives the scalar loop's bits (converting a BF16 checkpoint is mostly this).</summary>
    internal static unsafe void Dequantize(ReadOnlySpan<byte> src, Span<float> dst, SimdTier tier)
    {
        Debug.Assert(src.Length == dst.Length * BlockBytes);
        int n = dst.Length, i = 0;
        fixed (byte* s = src)
        fixed (float* d = dst)
        {
            ushort* b = (ushort*)s;
            uint* o = (uint*)d;
            if (tier >= SimdTier.Vector512)
            {
                for (; i <= n - 32; i += 32)
                {
                    var (lo, hi) = Vector512.Widen(Vector512.Load(b + i));
                    (lo << 16).Store(o + i);
                    (hi << 16).Store(o + i + 16);
                }
            }
            if (tier >= SimdTier.Vector256)
            {
                for (; i <= n - 16; i += 16)
                {
                    var (lo, hi) = Vector256.Widen(Vector256.Load(b + i));
                    (lo << 16).Store(o + i);
                    (hi << 16).Store(o + i + 8);
                }
            }
            for (; i < n; i++)
            {
                d[i] = ToSingle(b[i]);
            }
        }
    }

    /// <summary>
    /// Rounds an activation to bf16 and back, in place (ggml's vec_dot_type for BF16 is BF16); a float
    /// holding a bf16 value multiplies exactly like the bf16 would.
    /// </summary>
    public static void RoundActivation(Span<float> x)
    {
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = ToSingle(FromSingle(x[i]));
        }
    }

    /// <summary><c>Σ w[i]·x[i]</c> for a BF16 weight row and an activation already rounded to bf16.</summary>
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
                acc0 = Vector512.FusedMultiplyAdd((lo << 16).AsSingle(), Vector512.Load(x + i), acc0);
                acc1 = Vector512.FusedMultiplyAdd((hi << 16).AsSingle(), Vector512.Load(x + i + 16), acc1);
            }
            for (; i <= n - 16; i += 16)
            {
                Vector512<uint> b = Vector512.WidenLower(Vector256.Load(w + i).ToVector512());
                acc0 = Vector512.FusedMultiplyAdd((b << 16).AsSingle(), Vector512.Load(x + i), acc0);
            }
            sum = Vector512.Sum(acc0 + acc1);
        }
        else if (tier >= SimdTier.Vector256 && n >= Vector256<float>.Count)
        {
            Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
            for (; i <= n - 32; i += 32)
            {
                StreamPrefetch.Ahead((byte*)(w + i));
                var (a, b) = Vector256.Widen(Vector256.Load(w + i));
                var (c, d) = Vector256.Widen(Vector256.Load(w + i + 16));
                acc0 = Vector256.FusedMultiplyAdd((a << 16).AsSingle(), Vector256.Load(x + i), acc0);
                acc1 = Vector256.FusedMultiplyAdd((b << 16).AsSingle(), Vector256.Load(x + i + 8), acc1);
                acc2 = Vector256.FusedMultiplyAdd((c << 16).AsSingle(), Vector256.Load(x + i + 16), acc2);
                acc3 = Vector256.FusedMultiplyAdd((d << 16).AsSingle(), Vector256.Load(x + i + 24), acc3);
            }
            for (; i <= n - 8; i += 8)
            {
                Vector256<uint> v = Vector256.WidenLower(Vector128.Load(w + i).ToVector256());
                acc0 = Vector256.FusedMultiplyAdd((v << 16).AsSingle(), Vector256.Load(x + i), acc0);
            }
            sum = Vector256.Sum((acc0 + acc1) + (acc2 + acc3));
        }
        for (; i < n; i++)
        {
            sum += ToSingle(w[i]) * x[i];
        }
        return sum;
    }
}

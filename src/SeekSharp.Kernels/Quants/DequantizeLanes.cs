using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// Eight weights at a time for the dequantizers' AVX2 paths, which feed the float GEMM of prompt processing (each weight
/// is decoded once per matrix product, so a scalar decoder was a sixth of a Q4_K_M prompt's time). Quants are widened
/// from bytes to int32 lanes, and every lane takes the float operations of its type's scalar loop in the same order
/// (a product, then a difference, each rounded), so both paths give the same bits.
/// </summary>
internal static unsafe class DequantizeLanes
{
    /// <summary>Whether <paramref name="tier"/> runs the eight-lane decoders.</summary>
    public static bool Enabled(SimdTier tier) => tier >= SimdTier.Vector256 && Avx2.IsSupported;

    /// <summary>One super-block's (or block's) eight-lane decoder, as a type's operator struct.</summary>
    public interface IBlockDecoder
    {
        static abstract int BlockSize { get; }
        static abstract int BlockBytes { get; }
        /// <summary>Decodes the block at <paramref name="block"/> into BlockSize floats at <paramref name="y"/>.</summary>
        static abstract void Decode(byte* block, float* y);
    }

    /// <summary>Decodes whole blocks of <paramref name="src"/> into <paramref name="dst"/> with <typeparamref name="T"/>, or with <paramref name="scalar"/> where the tier has no eight-lane path.</summary>
    public static void Run<T>(ReadOnlySpan<byte> src, Span<float> dst, SimdTier tier, delegate*<ReadOnlySpan<byte>, Span<float>, void> scalar)
        where T : IBlockDecoder
    {
        if (!Enabled(tier))
        {
            scalar(src, dst);
            return;
        }
        Debug.Assert(dst.Length % T.BlockSize == 0 && src.Length == dst.Length / T.BlockSize * T.BlockBytes);
        fixed (byte* s = src)
        fixed (float* d = dst)
        {
            for (int b = 0; b < dst.Length / T.BlockSize; b++)
            {
                T.Decode(s + (long)b * T.BlockBytes, d + (long)b * T.BlockSize);
            }
        }
    }

    /// <summary>The eight bytes at <paramref name="p"/>, zero-extended.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Widen(byte* p) => Avx2.ConvertToVector256Int32(p);

    /// <summary>The low eight bytes of <paramref name="v"/>, sign-extended.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> WidenSigned(Vector128<sbyte> v) => Avx2.ConvertToVector256Int32(v);

    /// <summary><c>y[i] = scale · q[i] − min</c>: the scalar <c>scale * q - min</c>, not fused.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreAffine(float* y, Vector256<int> q, float scale, float min) =>
        (Vector256.Create(scale) * Vector256.ConvertToSingle(q) - Vector256.Create(min)).Store(y);

    /// <summary><c>y[i] = scale · q[i]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreScaled(float* y, Vector256<int> q, float scale) =>
        (Vector256.Create(scale) * Vector256.ConvertToSingle(q)).Store(y);

    /// <summary>
    /// A 16-entry signed codebook looked up by the nibbles of the 16 bytes at <paramref name="qs"/>: low nibbles give
    /// <paramref name="low"/>, high nibbles <paramref name="high"/> (IQ4_NL, IQ4_XS).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Lookup16(Vector128<sbyte> codebook, byte* qs, out Vector128<sbyte> low, out Vector128<sbyte> high)
    {
        Vector128<byte> packed = Vector128.Load(qs), mask = Vector128.Create((byte)0x0F);
        low = Ssse3.Shuffle(codebook, (packed & mask).AsSByte());
        high = Ssse3.Shuffle(codebook, (Vector128.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & mask).AsSByte());
    }

    /// <summary><see cref="StoreScaled"/> of all sixteen bytes of <paramref name="v"/>, sign-extended.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreScaled16(float* y, Vector128<sbyte> v, float scale)
    {
        StoreScaled(y, WidenSigned(v), scale);
        StoreScaled(y + 8, WidenSigned(Sse2.ShiftRightLogical128BitLane(v, 8)), scale);
    }
}

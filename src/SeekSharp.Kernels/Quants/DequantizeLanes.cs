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

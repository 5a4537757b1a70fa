using System.Runtime.Intrinsics;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels;

/// <summary>The register tile a <see cref="Gemm"/> product runs with (see <see cref="GemmMicroKernel"/>).</summary>
internal enum GemmTileKind
{
    /// <summary>4 × 4 in plain float arithmetic: machines without SIMD.</summary>
    Scalar = 0,
    /// <summary>6 × 8 in Vector128: ARM64 NEON (and x86 machines without AVX2).</summary>
    Vector128 = 1,
    /// <summary>6 × 16 in Vector256: AVX2 + FMA machines.</summary>
    Vector256 = 2,
    /// <summary>12 × 16 in Vector512: AVX-512 machines.</summary>
    Vector512 = 3,
}

internal static class GemmTiles
{
    /// <summary>
    /// The widest tile the hardware accelerates at <paramref name="tier"/>. The kernels' tiers stop at Vector256 below
    /// which they go scalar; the product has a Vector128 tile in between because without it ARM64 (no Vector256)
    /// would multiply matrices one float at a time.
    /// </summary>
    public static GemmTileKind For(SimdTier tier) =>
        tier >= SimdTier.Vector512 ? GemmTileKind.Vector512 :
        tier >= SimdTier.Vector256 ? GemmTileKind.Vector256 :
        Vector128.IsHardwareAccelerated ? GemmTileKind.Vector128 :
        GemmTileKind.Scalar;
}

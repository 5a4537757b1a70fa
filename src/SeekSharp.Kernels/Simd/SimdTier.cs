using System.Runtime.Intrinsics;

namespace SeekSharp.Kernels.Simd;

/// <summary>The vector width a kernel runs at. Every kernel has one implementation per tier.</summary>
/// <remarks>
/// Public entry points run at <see cref="SimdCapabilities.Best"/>; tests call the internal per-tier
/// entry points directly so each tier is checked against its scalar twin on any machine
/// (Vector512 code still runs, in software, where the hardware lacks AVX-512).
/// </remarks>
internal enum SimdTier
{
    Scalar = 0,
    Vector256 = 1,
    Vector512 = 2,
}

internal static class SimdCapabilities
{
    /// <summary>
    /// The widest tier the JIT accelerates on this process. Honours the runtime's feature switches,
    /// e.g. <c>DOTNET_EnableAVX512=0</c> (.NET 10; <c>DOTNET_EnableAVX512F=0</c> before) makes Vector512 unaccelerated and <c>DOTNET_EnableAVX2=0</c>
    /// makes Vector256 unaccelerated, so the same test suite exercises the narrower paths.
    /// </summary>
    public static readonly SimdTier Best =
        Vector512.IsHardwareAccelerated ? SimdTier.Vector512 :
        Vector256.IsHardwareAccelerated ? SimdTier.Vector256 :
        SimdTier.Scalar;
}

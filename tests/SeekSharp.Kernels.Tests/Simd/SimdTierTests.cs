using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Simd;

/// <summary>
/// Proves which tier the public kernels run at, so that runs with <c>DOTNET_EnableAVX512=0</c> or
/// <c>DOTNET_EnableAVX2=0</c> really exercise the narrower paths.
/// </summary>
public class SimdTierTests
{
    private static bool Disabled(string feature) => Environment.GetEnvironmentVariable("DOTNET_Enable" + feature) == "0";

    // .NET 10 switches AVX-512 off as one group (DOTNET_EnableAVX512) and ignores the older per-subset DOTNET_EnableAVX512F.
    private static bool Avx512Disabled() => Disabled("AVX512") || (Disabled("AVX512F") && Environment.Version.Major < 10);

    [Fact]
    public void BestTierFollowsRuntimeFeatureSwitches()
    {
        if (Disabled("AVX2") || Disabled("AVX") || Disabled("HWIntrinsic"))
        {
            Assert.False(Vector256.IsHardwareAccelerated);
            Assert.False(Vector512.IsHardwareAccelerated);
            Assert.Equal(SimdTier.Scalar, SimdCapabilities.Best);
        }
        else if (Avx512Disabled())
        {
            Assert.False(Vector512.IsHardwareAccelerated);
            Assert.NotEqual(SimdTier.Vector512, SimdCapabilities.Best);
            Assert.Equal(Avx2.IsSupported ? SimdTier.Vector256 : SimdTier.Scalar, SimdCapabilities.Best);
        }
        else
        {
            SimdTier expected = Vector512.IsHardwareAccelerated ? SimdTier.Vector512 :
                Vector256.IsHardwareAccelerated ? SimdTier.Vector256 : SimdTier.Scalar;
            Assert.Equal(expected, SimdCapabilities.Best);
        }
    }

    [Fact]
    public void WithoutSwitchesTheTierMatchesTheCpu()
    {
        // Independent of the runtime: the CPU flags the kernel reports. Only meaningful on Linux x64.
        if (!OperatingSystem.IsLinux() || !File.Exists("/proc/cpuinfo") || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            return;
        }
        if (Disabled("AVX2") || Disabled("AVX") || Disabled("AVX512") || Disabled("AVX512F") || Disabled("HWIntrinsic")
            || Environment.GetEnvironmentVariable("DOTNET_PreferredVectorBitWidth") is not null)
        {
            return;
        }
        string flags = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("flags", StringComparison.Ordinal));
        string[] f = flags.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        bool avx2 = f.Contains("avx2");
        bool avx512 = f.Contains("avx512f") && f.Contains("avx512bw") && f.Contains("avx512dq") && f.Contains("avx512vl") && f.Contains("avx512cd");
        if (avx512)
        {
            // The runtime may still prefer 256-bit vectors on some AVX-512 parts (throttling heuristics).
            Assert.True(SimdCapabilities.Best >= SimdTier.Vector256);
        }
        else
        {
            Assert.Equal(avx2 ? SimdTier.Vector256 : SimdTier.Scalar, SimdCapabilities.Best);
        }
    }
}

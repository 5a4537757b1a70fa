namespace SeekSharp.PeerBenchmark;

/// <summary>The machine a report names: CPU model, SIMD tier and load. Shared with the serving benchmark, which links this file.</summary>
internal static class MachineInfo
{
    /// <summary>The widest SIMD the CPU offers, from /proc/cpuinfo's flags: both engines pick their kernels by it.</summary>
    public static string SimdTier()
    {
        string? flags = File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags")) : null;
        if (flags is null) return "SIMD tier unknown";
        var set = flags.Split(':')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        return set.Contains("avx512f") ? $"AVX-512 (avx512f{(set.Contains("avx512_vnni") ? ", avx512_vnni" : "")}{(set.Contains("avx512_bf16") ? ", avx512_bf16" : "")})"
             : set.Contains("avx2") ? "AVX2, no AVX-512" : "no AVX2";
    }

    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ')[..3]) : "?";

    public static string CpuName() =>
        File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':')[1].Trim() ?? "?" : "?";
}

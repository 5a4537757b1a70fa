using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace SeekSharp.Kernels.Simd;

/// <summary>
/// Software prefetch for the weight stream of a decode step, where every weight byte comes from DRAM once per token.
/// </summary>
/// <remarks>
/// A row dot spends enough instructions per cache line that the out-of-order window holds only a few lines ahead, and
/// the hardware prefetchers did not make up for it: on the 2-core Zen 3 test machine one decode thread moved 10-12 GB/s
/// against 18-20 GB/s for a plain streaming loop, as if computing and loading took turns. Asking for the line 2 KiB
/// ahead (about one DRAM latency of streaming; now 4 KiB, see below) raised the median of `seek bench -p 0 -n 32` on the 28-layer peer
/// models from 5.75 to 6.18 t/s (F16), 10.4 to 11.7 (Q8_0) and 14.0 to 15.1 (Q4_K_M), three alternating runs each; in
/// every alternation the run with it was the faster one (F16's third only just); Q5_K_M went from 7.07 to 7.79 t/s.
/// 1-4 KiB all helped; prefetching into L2 only, or non-temporally, did not do better. Q4_0's dot, whose float step per
/// 32 weights keeps it compute-bound, gained nothing (12.9 against 12.8 t/s), so it has no prefetch. A prefetch never
/// faults, so asking past the end of a tensor is harmless.
/// On the 2-core Zen 5 machine (31-47 GB/s, 512-bit dots) 2 KiB was too short: one-token products over 30000 × 1536
/// matrices from DRAM, distances flipped inside one process, moved F16 43.2/35.5 → 43.3/38.0 GB/s and Q8_0 47.6/39.0
/// → 51.8/39.9 GB/s at 4 KiB (two runs), Q4_K 40.8/34.2 → 41.6/32.8; 8 and 16 KiB did about as well as 4. 4 KiB is
/// also inside the 1-4 KiB that helped on Zen 3.
/// </remarks>
internal static unsafe class StreamPrefetch
{
    public const int Distance = 4096;

    /// <summary>Asks for the cache line at <paramref name="p"/> (x86 only; elsewhere nothing).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Line(byte* p)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(p);
        }
    }

    /// <summary>Asks for the cache line <see cref="Distance"/> bytes past <paramref name="p"/> (x86 only; elsewhere nothing).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Ahead(byte* p)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(p + Distance);
        }
    }
}

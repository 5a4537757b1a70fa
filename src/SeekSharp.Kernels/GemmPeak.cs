using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SeekSharp.Kernels;

public static partial class Gemm
{
    /// <summary>
    /// Measures the machine's peak single-precision rate: every thread runs independent fused multiply-adds on
    /// registers only (no memory traffic), at the widest vector width <see cref="Multiply"/> uses here.
    /// The denominator of model FLOPs utilisation (MFU): a multiply-add counts as 2 FLOPs.
    /// </summary>
    /// <remarks>
    /// Each thread times its bursts of FMAs in 2 ms windows and keeps its fastest window: a window in which another
    /// process took the core only comes out slower, so the fastest one is the core's own rate even on a shared machine.
    /// The threads' rates are summed, which is the usual peak (cores × FLOPs per cycle × clock) when every thread has a
    /// core of its own: pass the number of physical cores, as two SMT threads (or two virtual CPUs placed on one physical
    /// core by the hypervisor) share one core's FMA units and would count it twice.
    /// </remarks>
    /// <param name="threads">Threads to run at once, at least 1 (the number of cores to measure the whole machine).</param>
    /// <param name="duration">How long every thread runs, at least 10 ms; 0.5-1 s give a stable figure.</param>
    /// <returns>FLOP/s summed over the threads.</returns>
    /// <exception cref="ArgumentOutOfRangeException">threads &lt; 1 or duration &lt; 10 ms.</exception>
    public static double MeasurePeakFlops(int threads, TimeSpan duration) => MeasurePeak(threads, duration).PerCoreSum;

    /// <summary>
    /// Both readings of one FMA run: <c>PerCoreSum</c>, the sum of each thread's fastest window (the public peak), and
    /// <c>Concurrent</c>, the fastest window of all the threads together, which reaches the sum only if the threads
    /// really ran at full rate at the same time (independent, otherwise idle cores).
    /// </summary>
    internal static (double PerCoreSum, double Concurrent) MeasurePeak(int threads, TimeSpan duration)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(duration, TimeSpan.FromMilliseconds(10));
        // The width of the tile the product runs with here.
        GemmTileKind tile = GemmTiles.For(Simd.SimdCapabilities.Best);
        long windowTicks = Math.Max(1, Stopwatch.Frequency / 500);
        int windows = (int)Math.Max(1, duration.TotalSeconds * Stopwatch.Frequency / windowTicks);
        // [threads, windows] FLOPs of the bursts each thread finished in each window (windows shared by all threads).
        var flops = new long[threads * windows];
        long start = 0;
        using var ready = new Barrier(threads, _ => start = Stopwatch.GetTimestamp());
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int id = t;
            workers[t] = new Thread(() =>
            {
                ready.SignalAndWait();
                while (true)
                {
                    long done = tile switch
                    {
                        GemmTileKind.Vector512 => FmaBurst512(),
                        GemmTileKind.Vector256 => FmaBurst256(),
                        GemmTileKind.Vector128 => FmaBurst128(),
                        _ => FmaBurstScalar(),
                    };
                    long window = (Stopwatch.GetTimestamp() - start) / windowTicks;
                    if (window >= windows)
                    {
                        return;
                    }
                    flops[id * windows + window] += done;
                }
            }) { IsBackground = true, Name = "SeekSharp peak FLOP/s" };
            workers[t].Start();
        }
        foreach (var w in workers)
        {
            w.Join();
        }
        long perCoreSum = 0, concurrent = 0;
        for (int t = 0; t < threads; t++)
        {
            long best = 0;
            for (int w = 0; w < windows; w++)
            {
                best = Math.Max(best, flops[t * windows + w]);
            }
            perCoreSum += best;
        }
        for (int w = 0; w < windows; w++)
        {
            long total = 0;
            for (int t = 0; t < threads; t++)
            {
                total += flops[t * windows + w];
            }
            concurrent = Math.Max(concurrent, total);
        }
        double perSecond = (double)Stopwatch.Frequency / windowTicks;
        return (perCoreSum * perSecond, concurrent * perSecond);
    }

    private const int BurstSteps = 4096;

    // Twelve independent accumulator chains, as in the 6 × 16 micro-kernel: at least the 2 FMA pipes × 4-cycle latency
    // (8 chains) of current x86 cores, so the FMA units, not the dependency chains, are the limit. x·s + t with
    // s slightly below 1 converges instead of overflowing or going subnormal (which would slow some cores).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static long FmaBurst256()
    {
        var s = Vector256.Create(0.999f);
        var t = Vector256.Create(0.001f);
        Vector256<float> x0 = Vector256.Create(1f), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0;
        Vector256<float> x6 = x0, x7 = x0, x8 = x0, x9 = x0, x10 = x0, x11 = x0;
        for (int i = 0; i < BurstSteps; i++)
        {
            x0 = Vector256.FusedMultiplyAdd(x0, s, t); x1 = Vector256.FusedMultiplyAdd(x1, s, t);
            x2 = Vector256.FusedMultiplyAdd(x2, s, t); x3 = Vector256.FusedMultiplyAdd(x3, s, t);
            x4 = Vector256.FusedMultiplyAdd(x4, s, t); x5 = Vector256.FusedMultiplyAdd(x5, s, t);
            x6 = Vector256.FusedMultiplyAdd(x6, s, t); x7 = Vector256.FusedMultiplyAdd(x7, s, t);
            x8 = Vector256.FusedMultiplyAdd(x8, s, t); x9 = Vector256.FusedMultiplyAdd(x9, s, t);
            x10 = Vector256.FusedMultiplyAdd(x10, s, t); x11 = Vector256.FusedMultiplyAdd(x11, s, t);
        }
        Sink = Vector256.Sum(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11);
        return BurstSteps * 12L * Vector256<float>.Count * 2;
    }

    /// <summary>The Vector512 tile's rate, with its 12 chains.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static long FmaBurst512()
    {
        var s = Vector512.Create(0.999f);
        var t = Vector512.Create(0.001f);
        Vector512<float> x0 = Vector512.Create(1f), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0;
        Vector512<float> x6 = x0, x7 = x0, x8 = x0, x9 = x0, x10 = x0, x11 = x0;
        for (int i = 0; i < BurstSteps; i++)
        {
            x0 = Vector512.FusedMultiplyAdd(x0, s, t); x1 = Vector512.FusedMultiplyAdd(x1, s, t);
            x2 = Vector512.FusedMultiplyAdd(x2, s, t); x3 = Vector512.FusedMultiplyAdd(x3, s, t);
            x4 = Vector512.FusedMultiplyAdd(x4, s, t); x5 = Vector512.FusedMultiplyAdd(x5, s, t);
            x6 = Vector512.FusedMultiplyAdd(x6, s, t); x7 = Vector512.FusedMultiplyAdd(x7, s, t);
            x8 = Vector512.FusedMultiplyAdd(x8, s, t); x9 = Vector512.FusedMultiplyAdd(x9, s, t);
            x10 = Vector512.FusedMultiplyAdd(x10, s, t); x11 = Vector512.FusedMultiplyAdd(x11, s, t);
        }
        Sink = Vector512.Sum(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11);
        return BurstSteps * 12L * Vector512<float>.Count * 2;
    }

    /// <summary>The Vector128 tile's rate: fused multiply-adds where the CPU has them (as the tile uses).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static long FmaBurst128()
    {
        var s = Vector128.Create(0.999f);
        var t = Vector128.Create(0.001f);
        Vector128<float> x0 = Vector128.Create(1f), x1 = x0, x2 = x0, x3 = x0, x4 = x0, x5 = x0;
        Vector128<float> x6 = x0, x7 = x0, x8 = x0, x9 = x0, x10 = x0, x11 = x0;
        for (int i = 0; i < BurstSteps; i++)
        {
            x0 = GemmMicroKernel.MulAdd(x0, s, t); x1 = GemmMicroKernel.MulAdd(x1, s, t);
            x2 = GemmMicroKernel.MulAdd(x2, s, t); x3 = GemmMicroKernel.MulAdd(x3, s, t);
            x4 = GemmMicroKernel.MulAdd(x4, s, t); x5 = GemmMicroKernel.MulAdd(x5, s, t);
            x6 = GemmMicroKernel.MulAdd(x6, s, t); x7 = GemmMicroKernel.MulAdd(x7, s, t);
            x8 = GemmMicroKernel.MulAdd(x8, s, t); x9 = GemmMicroKernel.MulAdd(x9, s, t);
            x10 = GemmMicroKernel.MulAdd(x10, s, t); x11 = GemmMicroKernel.MulAdd(x11, s, t);
        }
        Sink = Vector128.Sum(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11);
        return BurstSteps * 12L * Vector128<float>.Count * 2;
    }

    /// <summary>Without SIMD the scalar micro-kernel's rate: one multiply and one add per pair of FLOPs.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static long FmaBurstScalar()
    {
        float s = 0.999f, t = 0.001f;
        float x0 = 1f, x1 = 1f, x2 = 1f, x3 = 1f, x4 = 1f, x5 = 1f, x6 = 1f, x7 = 1f, x8 = 1f, x9 = 1f, x10 = 1f, x11 = 1f;
        for (int i = 0; i < BurstSteps; i++)
        {
            x0 = x0 * s + t; x1 = x1 * s + t; x2 = x2 * s + t; x3 = x3 * s + t; x4 = x4 * s + t; x5 = x5 * s + t;
            x6 = x6 * s + t; x7 = x7 * s + t; x8 = x8 * s + t; x9 = x9 * s + t; x10 = x10 * s + t; x11 = x11 * s + t;
        }
        Sink = x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11;
        return BurstSteps * 12L * 2;
    }

    // Keeps the bursts' results observable so the JIT cannot drop the loops.
    private static volatile float Sink;
}

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
    /// Each thread times its loop in windows of about half a millisecond and keeps its fastest window: a window in which
    /// another process took the core only runs slower, so the fastest one is the core's own rate even on a shared
    /// machine. The threads' rates are summed, so pass at most the number of physical cores (two SMT threads of one
    /// core share its FMA units).
    /// </remarks>
    /// <param name="threads">Threads to run at once, at least 1 (the number of cores to measure the whole machine).</param>
    /// <param name="duration">How long every thread runs, at least 1 ms; 100-500 ms give a stable figure.</param>
    /// <returns>FLOP/s summed over the threads.</returns>
    /// <exception cref="ArgumentOutOfRangeException">threads &lt; 1 or duration &lt; 1 ms.</exception>
    public static double MeasurePeakFlops(int threads, TimeSpan duration)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(duration, TimeSpan.FromMilliseconds(1));
        bool vector = Vector256.IsHardwareAccelerated;
        long windowTicks = Math.Max(1, Stopwatch.Frequency / 2000);
        var best = new double[threads];   // [threads] fastest window of each thread, FLOP/s
        using var start = new Barrier(threads);
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int id = t;
            workers[t] = new Thread(() =>
            {
                start.SignalAndWait();
                long now = Stopwatch.GetTimestamp();
                long deadline = now + (long)(duration.TotalSeconds * Stopwatch.Frequency);
                while (now < deadline)
                {
                    long windowStart = now, flops = 0;
                    do
                    {
                        flops += vector ? FmaBurst256() : FmaBurstScalar();
                        now = Stopwatch.GetTimestamp();
                    }
                    while (now - windowStart < windowTicks);
                    best[id] = Math.Max(best[id], flops * (double)Stopwatch.Frequency / (now - windowStart));
                }
            }) { IsBackground = true, Name = "SeekSharp peak FLOP/s" };
            workers[t].Start();
        }
        foreach (var w in workers)
        {
            w.Join();
        }
        return best.Sum();
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

    /// <summary>Without Vector256 the scalar micro-kernel's rate: one multiply and one add per pair of FLOPs.</summary>
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

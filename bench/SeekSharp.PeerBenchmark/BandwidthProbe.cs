using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace SeekSharp.PeerBenchmark;

/// <summary>
/// The machine's memory read bandwidth, measured between the engine runs so that it sees the same machine state they
/// do: <c>threads</c> threads each sum their contiguous share of a buffer far larger than the last-level cache, which is
/// what a decode step does to the weights (a read-only sweep, no writes).
/// </summary>
/// <remarks>
/// The generation target is a fraction of "bytes of weights read per token ÷ measured bandwidth", and this VM's
/// bandwidth moves by ±20 % within the hour, so a figure from another time would not do.
/// </remarks>
internal static unsafe class BandwidthProbe
{
    private const long BufferBytes = 1L << 30;
    private const int Passes = 7;

    /// <summary>The median over <see cref="Passes"/> timed sweeps (after one untimed), in GB/s (10^9 bytes).</summary>
    public static double MeasureGBps(int threads)
    {
        float* buffer = (float*)NativeMemory.AlignedAlloc((nuint)BufferBytes, 4096);
        try
        {
            long floats = BufferBytes / sizeof(float);
            // Touch every page first: a sweep over unfaulted pages would measure the kernel zeroing them.
            NativeMemory.Fill(buffer, (nuint)BufferBytes, 1);
            long share = floats / threads;
            var sums = new float[threads];
            var start = new Barrier(threads + 1);
            var done = new Barrier(threads + 1);
            bool stop = false;
            var workers = new Thread[threads];
            for (int t = 0; t < threads; t++)
            {
                int id = t;
                workers[t] = new Thread(() =>
                {
                    while (true)
                    {
                        start.SignalAndWait();
                        if (Volatile.Read(ref stop)) return;
                        sums[id] += SumRange(buffer + id * share, share);
                        done.SignalAndWait();
                    }
                }) { IsBackground = true };
                workers[t].Start();
            }
            var seconds = new List<double>();
            for (int pass = 0; pass <= Passes; pass++)
            {
                long t0 = Stopwatch.GetTimestamp();
                start.SignalAndWait();
                done.SignalAndWait();
                if (pass > 0) seconds.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
            }
            Volatile.Write(ref stop, true);
            start.SignalAndWait();
            foreach (var w in workers) w.Join();
            // The sums are only there so the reads cannot be optimised away; 1 per float, so they are known.
            if (sums.Sum() <= 0) throw new InvalidOperationException("bandwidth probe read nothing");
            seconds.Sort();
            return share * threads * sizeof(float) / seconds[seconds.Count / 2] / 1e9;
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
        }
    }

    private static float SumRange(float* p, long count)
    {
        float sum = 0;
        const int Span = 1 << 28;
        for (long i = 0; i < count; i += Span)
        {
            sum += TensorPrimitives.Sum(new ReadOnlySpan<float>(p + i, (int)Math.Min(Span, count - i)));
        }
        return sum;
    }
}

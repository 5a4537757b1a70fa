using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Gguf;

namespace SeekSharp.Benchmarks;

/// <summary>
/// The peak rate of the integer multiply-add the K-quant dots are made of (<c>--int8-peak</c>): per 64 weights and one
/// token, vpmaddubsw (u8 quants · s8 activation quants, pairs summed to int16), vpmaddwd (times the sub-block scales,
/// pairs summed to int32) and vpaddd, on registers only. A batched decode step that reads every weight once runs these
/// for each token, so <c>tokens · weight MACs per token / this rate</c> is the floor of its matmul time: the figure that
/// tells whether a batch of eight is bound by the arithmetic of the cores rather than by memory or by our code.
/// </summary>
internal static class Int8Peak
{
    private const int BurstSteps = 4096;

    public static string Run(string? modelPath)
    {
        var duration = TimeSpan.FromSeconds(1);
        double one = Enumerable.Range(0, 3).Max(_ => Measure(1, duration));
        double all = Enumerable.Range(0, 3).Max(_ => Measure(Environment.ProcessorCount, duration));
        string tier = Avx512BW.IsSupported ? "AVX-512BW (512-bit)" : Avx2.IsSupported ? "AVX2 (256-bit)" : "none";
        var text = new System.Text.StringBuilder($"""
            # Peak int8 multiply-add rate (`--int8-peak`: vpmaddubsw + vpmaddwd + vpaddd on registers, best of 3 × 1 s)

            Vectors: {tier}. One MAC = one weight quant times one activation quant, as the K-quant dots count them.

            | Threads | GMAC/s |
            |---:|---:|
            | 1 | {one / 1e9:F1} |
            | {Environment.ProcessorCount} (at once) | {all / 1e9:F1} |

            """);
        if (modelPath is not null)
        {
            long macs = WeightMacsPerToken(modelPath);
            text.AppendLine($"""

                Model `{Path.GetFileName(modelPath)}`: {macs / 1e9:F3} G weight MACs per token (every 2-D weight but the
                token embeddings, which are looked up). Floor of one decode step's matmuls at the {Environment.ProcessorCount}-thread rate:

                | Tokens per step | Floor (ms) |
                |---:|---:|
                """);
            foreach (int n in new[] { 1, 2, 4, 8, 16 })
            {
                text.AppendLine($"| {n} | {n * macs / all * 1e3:F1} |");
            }
            text.AppendLine();
            text.AppendLine("A single token's step is bound by reading the weights instead (see the peer benchmark's bandwidth line).");
        }
        text.AppendLine();
        text.AppendLine($"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.");
        return text.ToString();
    }

    /// <summary>MACs per token of every 2-D weight except the token embeddings (a lookup, not a product).</summary>
    private static long WeightMacsPerToken(string path)
    {
        using var file = GgufFile.Open(path);
        return file.Tensors.Where(t => t.Shape.Length >= 2 && !t.Name.StartsWith("token_embd", StringComparison.Ordinal))
            .Sum(t => t.ElementCount);
    }

    /// <summary>MACs per second of <paramref name="threads"/> threads running the burst at the same time.</summary>
    private static double Measure(int threads, TimeSpan duration)
    {
        var macs = new long[threads];
        using var ready = new Barrier(threads + 1);
        long stop = 0;
        var workers = Enumerable.Range(0, threads).Select(id => new Thread(() =>
        {
            ready.SignalAndWait();
            long done = 0;
            while (Stopwatch.GetTimestamp() < Volatile.Read(ref stop))
            {
                done += Avx512BW.IsSupported ? Burst512() : Avx2.IsSupported ? Burst256() : 0;
                if (!Avx2.IsSupported)
                {
                    break;
                }
            }
            macs[id] = done;
        }) { IsBackground = true }).ToList();
        workers.ForEach(w => w.Start());
        long start = Stopwatch.GetTimestamp();
        Volatile.Write(ref stop, start + (long)(duration.TotalSeconds * Stopwatch.Frequency) + Stopwatch.Frequency / 100);
        ready.SignalAndWait();
        start = Stopwatch.GetTimestamp();
        workers.ForEach(w => w.Join());
        return macs.Sum() / Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    // Eight independent chains, as the eight tokens of a batched dot; the operands stay in registers, so only the
    // multiply pipes (and the adds) can limit the rate.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static long Burst512()
    {
        var q = Vector512.Create((byte)7);
        var step = Vector512.Create((byte)1);
        var s = Vector512.Create((short)3);
        Vector512<sbyte> y0 = Vector512.Create((sbyte)1), y1 = Vector512.Create((sbyte)-2), y2 = Vector512.Create((sbyte)3), y3 = Vector512.Create((sbyte)-4);
        Vector512<sbyte> y4 = Vector512.Create((sbyte)5), y5 = Vector512.Create((sbyte)-6), y6 = Vector512.Create((sbyte)7), y7 = Vector512.Create((sbyte)-8);
        Vector512<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        for (int i = 0; i < BurstSteps; i++)
        {
            // The quants change every step (one byte add, shared by the eight chains), and every chain has its own
            // activation, so the JIT can neither hoist a product out of the loop nor merge two chains.
            q += step;
            a0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q, y0), s);
            a1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q, y1), s);
            a2 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q, y2), s);
            a3 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q, y3), s);
            a4 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q, y4), s);
            a5 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q, y5), s);
            a6 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q, y6), s);
            a7 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q, y7), s);
        }
        Sink = Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7);
        return BurstSteps * 8L * 64;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static long Burst256()
    {
        var q = Vector256.Create((byte)7);
        var step = Vector256.Create((byte)1);
        var s = Vector256.Create((short)3);
        Vector256<sbyte> y0 = Vector256.Create((sbyte)1), y1 = Vector256.Create((sbyte)-2), y2 = Vector256.Create((sbyte)3), y3 = Vector256.Create((sbyte)-4);
        Vector256<sbyte> y4 = Vector256.Create((sbyte)5), y5 = Vector256.Create((sbyte)-6), y6 = Vector256.Create((sbyte)7), y7 = Vector256.Create((sbyte)-8);
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        for (int i = 0; i < BurstSteps; i++)
        {
            // The quants change every step (one byte add, shared by the eight chains), and every chain has its own
            // activation, so the JIT can neither hoist a product out of the loop nor merge two chains.
            q += step;
            a0 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, y0), s);
            a1 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, y1), s);
            a2 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, y2), s);
            a3 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, y3), s);
            a4 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, y4), s);
            a5 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, y5), s);
            a6 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, y6), s);
            a7 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, y7), s);
        }
        Sink = Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7);
        return BurstSteps * 8L * 32;
    }

    private static volatile int Sink;
}

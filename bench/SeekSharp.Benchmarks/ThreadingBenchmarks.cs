using BenchmarkDotNet.Attributes;
using SeekSharp.Kernels.Threading;

namespace SeekSharp.Benchmarks;

/// <summary>
/// Cost of one parallel loop as the decode step issues them (hundreds per token): 8 items of a small fixed amount of
/// arithmetic, run by <see cref="WorkerPool"/> and by <see cref="Parallel.For(int, int, Action{int})"/> with the same
/// items. The difference is per-operation dispatch and join overhead (and Parallel.For's allocations).
/// </summary>
public unsafe class ThreadingBenchmarks : IDisposable
{
    /// <summary>Work items per loop.</summary>
    public const int Items = 8;

    private WorkerPool pool = null!;
    private float[] sums = null!;

    /// <summary>Multiply-adds per item: 256 is about 0.1 µs, 16384 about 5 µs on one core.</summary>
    [Params(256, 16384)]
    public int ItemWork { get; set; }

    private struct Spin : IParallelWork
    {
        public float* Sums;
        public int Work;
        public void Run(int index) => Sums[index] = Compute(index, Work);
    }

    private static float Compute(int index, int work)
    {
        float a = index, b = 0.999f;
        for (int i = 0; i < work; i++) a = a * b + 1f;
        return a;
    }

    [GlobalSetup]
    public void Setup()
    {
        pool = new WorkerPool(WorkerPool.DefaultThreadCount);
        sums = new float[Items];
    }

    [GlobalCleanup]
    public void Dispose()
    {
        pool?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(Baseline = true)]
    public void ParallelFor()
    {
        float[] s = sums;
        int work = ItemWork;
        Parallel.For(0, Items, i => s[i] = Compute(i, work));
    }

    [Benchmark]
    public void Pool()
    {
        fixed (float* p = sums)
        {
            var w = new Spin { Sums = p, Work = ItemWork };
            pool.For(Items, ref w);
        }
    }

    [Benchmark]
    public void Sequential()
    {
        for (int i = 0; i < Items; i++) sums[i] = Compute(i, ItemWork);
    }
}

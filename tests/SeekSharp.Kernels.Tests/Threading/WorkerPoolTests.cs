using SeekSharp.Kernels.Threading;

namespace SeekSharp.Kernels.Tests.Threading;

public class WorkerPoolTests
{
    private unsafe struct CountRuns : IParallelWork
    {
        public int* Counts;
        public void Run(int index) => Interlocked.Increment(ref Counts[index]);
    }

    private struct Throwing : IParallelWork
    {
        public void Run(int index)
        {
            if (index == 7) throw new InvalidOperationException("item 7");
        }
    }

    private unsafe struct Nested : IParallelWork
    {
        public int* Counts;
        public nint Pool;
        public void Run(int index)
        {
            var inner = new CountRuns { Counts = Counts + index * 4 };
            ((WorkerPool)System.Runtime.InteropServices.GCHandle.FromIntPtr(Pool).Target!).For(4, ref inner);
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(2, 1000)]
    [InlineData(3, 37)]
    [InlineData(4, 5)]
    public unsafe void EveryItemRunsExactlyOnce(int threads, int count)
    {
        using var pool = new WorkerPool(threads);
        var counts = new int[count];
        for (int round = 0; round < 50; round++)
        {
            fixed (int* p = counts)
            {
                var work = new CountRuns { Counts = p };
                pool.For(count, ref work);
            }
        }
        Assert.All(counts, c => Assert.Equal(50, c));
    }

    [Fact]
    public void ExceptionOfAnItemReachesTheCallerAndThePoolKeepsWorking()
    {
        using var pool = new WorkerPool(2);
        var work = new Throwing();
        Assert.Equal("item 7", Assert.Throws<InvalidOperationException>(() => pool.For(20, ref work)).Message);
        EveryItemRunsExactlyOnceOn(pool);
    }

    private static unsafe void EveryItemRunsExactlyOnceOn(WorkerPool pool)
    {
        var counts = new int[64];
        fixed (int* p = counts)
        {
            var work = new CountRuns { Counts = p };
            pool.For(counts.Length, ref work);
        }
        Assert.All(counts, c => Assert.Equal(1, c));
    }

    [Fact]
    public unsafe void LoopStartedInsideAnItemRunsInline()
    {
        using var pool = new WorkerPool(2);
        var handle = System.Runtime.InteropServices.GCHandle.Alloc(pool);
        try
        {
            var counts = new int[8 * 4];
            fixed (int* p = counts)
            {
                var work = new Nested { Counts = p, Pool = System.Runtime.InteropServices.GCHandle.ToIntPtr(handle) };
                pool.For(8, ref work);
            }
            Assert.All(counts, c => Assert.Equal(1, c));
        }
        finally
        {
            handle.Free();
        }
    }

    [Fact]
    public unsafe void ConcurrentCallersAreSerialised()
    {
        using var pool = new WorkerPool(2);
        var counts = new int[4][];
        Parallel.For(0, 4, c =>
        {
            counts[c] = new int[100];
            for (int round = 0; round < 100; round++)
            {
                fixed (int* p = counts[c])
                {
                    var work = new CountRuns { Counts = p };
                    pool.For(100, ref work);
                }
            }
        });
        Assert.All(counts, a => Assert.All(a, c => Assert.Equal(100, c)));
    }

    [Fact]
    public unsafe void ALoopAllocatesNothing()
    {
        using var pool = new WorkerPool(2);
        var counts = new int[16];
        fixed (int* p = counts)
        {
            var work = new CountRuns { Counts = p };
            for (int i = 0; i < 100; i++) pool.For(16, ref work);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++) pool.For(16, ref work);
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
    }

    [Fact]
    public void DisposedPoolRunsLoopsOnTheCaller()
    {
        var pool = new WorkerPool(3);
        pool.Dispose();
        EveryItemRunsExactlyOnceOn(pool);
    }
}

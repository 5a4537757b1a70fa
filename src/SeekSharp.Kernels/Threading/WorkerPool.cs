using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace SeekSharp.Kernels.Threading;

/// <summary>
/// A fixed set of threads that run parallel loops for the kernels, built for the many short loops of a decode step
/// (a few hundred per token, tens of microseconds each): a call allocates nothing, the calling thread takes part,
/// idle workers spin briefly before they block, and work items are claimed dynamically so that a core slowed by
/// other processes does not hold the others up.
/// </summary>
/// <remarks>
/// One loop runs at a time; concurrent callers queue on a lock. A loop started from inside a work item runs inline
/// on that thread (nested parallelism would only add contention).
/// </remarks>
public sealed unsafe class WorkerPool : IDisposable
{
    // How long an idle worker polls for the next loop before it blocks. Decode issues loops back to back with only
    // small serial gaps (norms, RoPE) between them, and waking a blocked thread costs tens of microseconds.
    private static readonly long SpinTicks = Stopwatch.Frequency / 20_000; // 50 µs

    private static readonly Lazy<WorkerPool> SharedPool = new(() => new WorkerPool(DefaultThreadCount));

    [ThreadStatic] private static bool t_insideWork;

    private readonly Thread[] _workers;
    private readonly object _dispatchLock = new();
    private readonly object _sleepLock = new();

    // The current loop. Written by the caller before it publishes _ticket, stable until every item has completed.
    private void* _work;
    private delegate*<void*, int, void> _invoke;
    // (item count << 32) | next unclaimed item. Claiming with one atomic add returns the count of the same loop as
    // the index, so a late worker can never pair an index of one loop with the fields of another.
    private long _ticket;
    private int _completed;
    private int _generation;     // bumped per loop; what idle workers watch
    private int _sleepers;
    private volatile bool _disposed;
    private ExceptionDispatchInfo? _failure;

    /// <summary>Threads used when none is specified: one per processor the runtime sees.</summary>
    /// <remarks>
    /// The CPU-bound kernels gain little from SMT siblings, so on a machine with SMT passing the number of
    /// physical cores explicitly can be slightly faster.
    /// </remarks>
    public static int DefaultThreadCount => Environment.ProcessorCount;

    /// <summary>A process-wide pool of <see cref="DefaultThreadCount"/> threads, created on first use.</summary>
    public static WorkerPool Shared => SharedPool.Value;

    /// <summary>Creates a pool in which <paramref name="threads"/> threads, the caller included, run each loop.</summary>
    /// <param name="threads">Total threads per loop, at least 1 (1 runs everything on the caller).</param>
    public WorkerPool(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ThreadCount = threads;
        _workers = new Thread[threads - 1];
        for (int i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"SeekSharp worker {i + 1}" };
            _workers[i].Start();
        }
    }

    /// <summary>Threads that run a loop, the calling thread included.</summary>
    public int ThreadCount { get; }

    /// <summary>
    /// Calls <c>work.Run(i)</c> for every <c>i</c> in <c>0..count-1</c> across the pool and returns when all are done.
    /// The struct is used in place (not copied) and must stay alive for the call, which it does as a local.
    /// An exception thrown by an item is rethrown here once the loop has finished.
    /// </summary>
    public void For<TWork>(int count, ref TWork work) where TWork : unmanaged, IParallelWork
    {
        if (count <= 0)
        {
            return;
        }
        if (count == 1 || _workers.Length == 0 || t_insideWork || _disposed)
        {
            for (int i = 0; i < count; i++)
            {
                work.Run(i);
            }
            return;
        }
        fixed (TWork* p = &work)
        {
            lock (_dispatchLock)
            {
                Dispatch(p, &Invoke<TWork>, count);
            }
        }
    }

    private static void Invoke<TWork>(void* work, int index) where TWork : unmanaged, IParallelWork =>
        ((TWork*)work)->Run(index);

    private void Dispatch(void* work, delegate*<void*, int, void> invoke, int count)
    {
        _work = work;
        _invoke = invoke;
        _completed = 0;
        _failure = null;
        Interlocked.Exchange(ref _ticket, (long)count << 32);
        Interlocked.Increment(ref _generation);
        // Full fences on both sides (here the increment, in the worker the sleeper count) guarantee that either
        // we see the sleeper or it sees the new generation before it blocks.
        if (Volatile.Read(ref _sleepers) > 0)
        {
            lock (_sleepLock)
            {
                Monitor.PulseAll(_sleepLock);
            }
        }

        RunItems();

        var spin = new SpinWait();
        while (Volatile.Read(ref _completed) < count)
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }
        _work = null;
        if (_failure is { } failure)
        {
            _failure = null;
            failure.Throw();
        }
    }

    /// <summary>Claims and runs items of the current loop until none are left.</summary>
    private void RunItems()
    {
        t_insideWork = true;
        try
        {
            while (true)
            {
                long ticket = Interlocked.Increment(ref _ticket) - 1;
                int index = (int)ticket, count = (int)(ticket >> 32);
                if (index >= count)
                {
                    return;
                }
                try
                {
                    _invoke(_work, index);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
                }
                Interlocked.Increment(ref _completed);
            }
        }
        finally
        {
            t_insideWork = false;
        }
    }

    private void WorkerLoop()
    {
        int seen = 0;
        while (true)
        {
            seen = WaitForLoop(seen);
            if (_disposed)
            {
                return;
            }
            RunItems();
        }
    }

    /// <summary>Returns the generation of a loop newer than <paramref name="seen"/>: polls for a while, then blocks.</summary>
    private int WaitForLoop(int seen)
    {
        long deadline = Stopwatch.GetTimestamp() + SpinTicks;
        int generation;
        while ((generation = Volatile.Read(ref _generation)) == seen && !_disposed)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                lock (_sleepLock)
                {
                    Interlocked.Increment(ref _sleepers);
                    while ((generation = Volatile.Read(ref _generation)) == seen && !_disposed)
                    {
                        Monitor.Wait(_sleepLock);
                    }
                    Interlocked.Decrement(ref _sleepers);
                }
                return generation;
            }
            Thread.SpinWait(20);
        }
        return generation;
    }

    /// <summary>Stops the worker threads (after the loop in progress, if any). Later loops run on the caller.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        lock (_sleepLock)
        {
            Monitor.PulseAll(_sleepLock);
        }
        foreach (var t in _workers)
        {
            t.Join();
        }
    }
}

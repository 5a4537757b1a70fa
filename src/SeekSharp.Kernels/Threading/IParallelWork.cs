namespace SeekSharp.Kernels.Threading;

/// <summary>
/// A parallel loop body for <see cref="WorkerPool.For{TWork}(int, ref TWork)"/>: <see cref="Run"/> is called once
/// for every index of <c>0..count-1</c>, on any of the pool's threads, in no particular order.
/// </summary>
/// <remarks>
/// Implement it as an unmanaged struct holding pointers and sizes: the pool hands workers a pointer to the caller's
/// struct instead of a delegate, which is what keeps a parallel call free of managed allocations.
/// </remarks>
public interface IParallelWork
{
    /// <summary>Processes work item <paramref name="index"/>. Items must be independent of each other.</summary>
    void Run(int index);
}

using SeekSharp.Kernels.Threading;

namespace SeekSharp.Models;

/// <summary>
/// Scratch buffers for one forward pass of up to <see cref="MaxTokens"/> tokens, allocated once per context by the
/// architecture that uses them (<see cref="ITransformer.CreateActivations"/>), and the threads that evaluate it: a
/// forward pass allocates nothing.
/// </summary>
internal abstract class Activations(int maxTokens, WorkerPool pool)
{
    public int MaxTokens { get; } = maxTokens;
    public WorkerPool Pool { get; } = pool;  // runs the matmuls and attention
}

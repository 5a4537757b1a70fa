using SeekSharp.Models;

namespace SeekSharp.Serving;

/// <summary>
/// Serves many generations at once with one model: owns the KV cache and one worker thread that, step after step,
/// puts every running sequence's next token and chunks of waiting prompts into one batch (continuous batching).
/// Thread-safe: any thread may <see cref="Submit"/>.
/// </summary>
public sealed class Scheduler : IDisposable
{
    /// <summary>Starts a scheduler over <paramref name="model"/> (which it does not dispose).</summary>
    public Scheduler(Model model, SchedulerOptions? options = null) => throw new NotImplementedException();

    /// <summary>The model.</summary>
    public Model Model { get; } = null!;
    /// <summary>The options it runs with.</summary>
    public SchedulerOptions Options { get; } = null!;
    /// <summary>Positions one sequence may reach: prompt plus generated tokens.</summary>
    public int ContextLength { get; }

    /// <summary>
    /// Queues a generation and returns its stream of events. Cancelling <paramref name="cancellationToken"/> (or
    /// disposing the stream) drops the sequence within one step and frees its KV pages.
    /// </summary>
    /// <exception cref="QueueFullException">Too many requests are waiting.</exception>
    /// <exception cref="Inference.ContextOverflowException">The prompt leaves no room to generate in the context.</exception>
    /// <exception cref="ArgumentException">An empty prompt, a token outside the vocabulary, or a bad sampling setting.</exception>
    /// <exception cref="ObjectDisposedException">The scheduler is stopping.</exception>
    public GenerationStream Submit(GenerationRequest request, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>A snapshot of queue lengths, KV use and counters.</summary>
    public SchedulerStats GetStats() => throw new NotImplementedException();

    /// <summary>Stops admitting requests, lets running and waiting ones finish for up to <paramref name="grace"/>, then
    /// cancels the rest (their streams end with <see cref="Chat.FinishReason.Cancelled"/>) and stops the worker.</summary>
    public Task StopAsync(TimeSpan grace) => throw new NotImplementedException();

    /// <inheritdoc/>
    public void Dispose() => throw new NotImplementedException();
}

/// <summary>The events of one submitted generation, to read once (see <see cref="GenerationEventKind"/>). Disposing it cancels the generation.</summary>
public sealed class GenerationStream : IAsyncEnumerable<GenerationEvent>, IDisposable
{
    /// <summary>Unique among the scheduler's requests.</summary>
    public long Id { get; }
    /// <summary>Tokens of the prompt.</summary>
    public int PromptTokens { get; }

    /// <summary>Drops the generation; the stream then ends with a final event of <see cref="Chat.FinishReason.Cancelled"/>.</summary>
    public void Cancel() => throw new NotImplementedException();

    /// <summary>Reads every event to the final one.</summary>
    public IAsyncEnumerator<GenerationEvent> GetAsyncEnumerator(CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Cancels the generation if it is still running.</summary>
    public void Dispose() => Cancel();
}

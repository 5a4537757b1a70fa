using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using SeekSharp.Chat;
using SeekSharp.Inference;
using SeekSharp.Models;

namespace SeekSharp.Serving;

/// <summary>
/// Serves many generations at once with one model: owns the KV cache and one worker thread that, step after step,
/// puts every running sequence's next token and chunks of waiting prompts into one batch (continuous batching).
/// Thread-safe: any thread may <see cref="Submit"/>.
/// </summary>
/// <remarks>
/// <para>A step is built as vLLM's and llama.cpp's servers build theirs: first one token for every sequence that is
/// generating, then prompt chunks of the sequences still reading theirs, oldest first, up to
/// <see cref="SchedulerOptions.BatchSize"/> tokens; only the last token of each sequence asks for logits.</para>
/// <para>A request is admitted when a sequence slot is free and the pool has pages for its prompt (after the
/// prefix cache supplied what it could). When a generating sequence needs a page and none is left, the most recently
/// admitted sequence is preempted: its pages go to the prefix cache and it waits again at the head of the queue, to be
/// recomputed (mostly from that cache) when there is room (vLLM's recompute preemption).</para>
/// <para>Each request samples with its own seeded sampler, so at temperature 0 it gives the same tokens alone as in
/// a busy batch, up to the rounding of batches of different shapes.</para>
/// </remarks>
public sealed class Scheduler : IDisposable
{
    private readonly InferenceContext _context;
    private readonly PrefixCache? _prefix;
    private readonly ConcurrentQueue<Generation> _incoming = new();
    private readonly LinkedList<Generation> _waiting = new();   // worker only
    private readonly List<Generation> _running = [];           // worker only, in admission order
    private readonly Stack<int> _freeSlots = new();
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly Thread _worker;
    private readonly Batch _batch;
    private readonly List<(Generation Generation, int Count, bool Output)> _stepPlan = [];
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _nextId;
    private int _waitingCount, _runningCount;
    private volatile bool _accepting = true, _cancelAll, _exit, _clearPrefix;
    // Counters (worker writes, readers take a snapshot).
    private long _promptTokens, _promptEvaluated, _generated, _stop, _length, _cancelled, _preemptions, _steps;

    /// <summary>Starts a scheduler over <paramref name="model"/> (which it does not dispose).</summary>
    public Scheduler(Model model, SchedulerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new SchedulerOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Parallel, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxWaiting);
        Model = model;
        Options = options;
        _context = model.CreateContext(new ContextOptions
        {
            ContextLength = options.ContextLength,
            Sequences = options.Parallel,
            // A batch holds at least one token of every running sequence.
            BatchSize = Math.Max(options.BatchSize, options.Parallel),
            MaxOutputs = options.Parallel,
            KvSize = options.KvSize,
            PageSize = options.PageSize,
            Threads = options.Threads,
            KvCacheType = options.KvCacheType,
            MlaAttention = options.MlaAttention,
        });
        ContextLength = _context.ContextLength;
        if (options.PrefixCaching) _prefix = new PrefixCache(_context.Cache);
        _batch = new Batch(_context.BatchSize);
        for (int s = options.Parallel - 1; s >= 0; s--) _freeSlots.Push(s);
        _worker = new Thread(Run) { IsBackground = true, Name = "SeekSharp scheduler" };
        _worker.Start();
    }

    /// <summary>The model.</summary>
    public Model Model { get; }
    /// <summary>The options it runs with.</summary>
    public SchedulerOptions Options { get; }
    /// <summary>Positions one sequence may reach: prompt plus generated tokens.</summary>
    public int ContextLength { get; }

    /// <summary>
    /// Queues a generation and returns its stream of events. Cancelling <paramref name="cancellationToken"/> (or
    /// disposing the stream) drops the sequence within one step and frees its KV pages.
    /// </summary>
    /// <exception cref="QueueFullException">Too many requests are waiting.</exception>
    /// <exception cref="ContextOverflowException">The prompt leaves no room to generate in the context.</exception>
    /// <exception cref="ArgumentException">An empty prompt, a token outside the vocabulary, or a bad sampling setting.</exception>
    /// <exception cref="ObjectDisposedException">The scheduler is stopping.</exception>
    public GenerationStream Submit(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!_accepting) throw new ObjectDisposedException(nameof(Scheduler), "the scheduler is stopping and takes no new requests");
        if (request.Prompt is not { Length: > 0 }) throw new ArgumentException("the prompt has no tokens", nameof(request));
        int vocab = Model.Config.VocabSize;
        foreach (int t in request.Prompt)
            if ((uint)t >= (uint)vocab) throw new ArgumentException($"prompt token {t} is outside the vocabulary (0..{vocab - 1})", nameof(request));
        if (request.Prompt.Length >= ContextLength) throw new ContextOverflowException(request.Prompt.Length + 1, ContextLength);
        if (request.MaxTokens is < 0) throw new ArgumentException($"max tokens must be 0 or more, got {request.MaxTokens}", nameof(request));
        if (request.TopLogprobs is < -1 or > 20) throw new ArgumentException($"top log-probabilities must be between 0 and 20, got {request.TopLogprobs}", nameof(request));
        var generation = new Generation(Interlocked.Increment(ref _nextId), request, Model.Tokenizer, ContextLength); // validates sampling and bias
        // Requests not yet running beyond the free slots wait; at most MaxWaiting of them.
        if (Interlocked.Increment(ref _waitingCount) + Volatile.Read(ref _runningCount) > Options.MaxWaiting + Options.Parallel)
        {
            int waiting = Interlocked.Decrement(ref _waitingCount);
            throw new QueueFullException(waiting);
        }
        var stream = new GenerationStream(generation, this);
        if (cancellationToken.CanBeCanceled)
            stream.Registration = cancellationToken.Register(static s => ((GenerationStream)s!).Cancel(), stream);
        _incoming.Enqueue(generation);
        Wake();
        if (_stopped.Task.IsCompleted) CancelLeftovers(); // the worker ended between the check above and the queue
        return stream;
    }

    /// <summary>A snapshot of queue lengths, KV use and counters.</summary>
    public SchedulerStats GetStats()
    {
        var cache = _context.Cache;
        return new SchedulerStats
        {
            Running = Volatile.Read(ref _runningCount),
            Waiting = Volatile.Read(ref _waitingCount),
            KvPages = cache.Pages,
            KvPagesInUse = cache.PagesInUse,
            KvPagesCached = _prefix?.EvictablePages ?? 0,
            PageSize = cache.PageSize,
            PromptTokens = Interlocked.Read(ref _promptTokens),
            PromptTokensEvaluated = Interlocked.Read(ref _promptEvaluated),
            PrefixCacheQueriedTokens = _prefix?.QueriedTokens ?? 0,
            PrefixCacheHitTokens = _prefix?.HitTokens ?? 0,
            GenerationTokens = Interlocked.Read(ref _generated),
            FinishedStop = Interlocked.Read(ref _stop),
            FinishedLength = Interlocked.Read(ref _length),
            FinishedCancelled = Interlocked.Read(ref _cancelled),
            Preemptions = Interlocked.Read(ref _preemptions),
            Steps = Interlocked.Read(ref _steps),
        };
    }

    /// <summary>Empties the prefix cache (its pages become free) before the next step.</summary>
    public void ClearPrefixCache()
    {
        _clearPrefix = true;
        Wake();
    }

    /// <summary>Stops admitting requests, lets running and waiting ones finish for up to <paramref name="grace"/>, then
    /// cancels the rest (their streams end with <see cref="FinishReason.Cancelled"/>) and stops the worker.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        _accepting = false;
        _exit = true;
        Wake();
        if (grace > TimeSpan.Zero)
            await Task.WhenAny(_stopped.Task, Task.Delay(grace)).ConfigureAwait(false);
        _cancelAll = true;
        Wake();
        await _stopped.Task.ConfigureAwait(false);
    }

    /// <summary>Cancels everything, stops the worker and frees the KV cache.</summary>
    public void Dispose()
    {
        if (_worker.IsAlive) StopAsync(TimeSpan.Zero).GetAwaiter().GetResult();
        _context.Dispose();
        _wake.Dispose();
    }

    internal void Wake()
    {
        try { _wake.Release(); } catch (ObjectDisposedException) { }
    }

    private void Run()
    {
        try
        {
            while (true)
            {
                TakeIncoming();
                DropCancelled();
                if (_clearPrefix) { _clearPrefix = false; _prefix?.EvictAll(); }
                if (_running.Count == 0 && _waiting.Count == 0)
                {
                    if (_exit) break;
                    _wake.Wait();
                    continue;
                }
                try
                {
                    long stepStart = Stopwatch.GetTimestamp();
                    Step();
                    if (Options.MinStepInterval > TimeSpan.Zero && Options.MinStepInterval - Stopwatch.GetElapsedTime(stepStart) is { Ticks: > 0 } rest)
                        Thread.Sleep(rest);
                }
                catch (Exception e)
                {
                    // A failed forward pass fails the requests in it, not the server: their streams end with the error.
                    foreach (var g in _running.ToArray()) End(g, error: e);
                }
            }
        }
        finally
        {
            _stopped.TrySetResult();
            CancelLeftovers();
        }
    }

    // Requests queued after the worker's last look end cancelled rather than wait forever.
    private void CancelLeftovers()
    {
        while (_incoming.TryDequeue(out var g))
        {
            Interlocked.Decrement(ref _waitingCount);
            Finish(g, FinishReason.Cancelled);
        }
    }

    private void TakeIncoming()
    {
        while (_incoming.TryDequeue(out var g)) _waiting.AddLast(g);
    }

    private void DropCancelled()
    {
        for (var node = _waiting.First; node is not null;)
        {
            var next = node.Next;
            if (node.Value.CancelRequested || _cancelAll)
            {
                _waiting.Remove(node);
                Count(node.Value, FinishReason.Cancelled);
                Interlocked.Decrement(ref _waitingCount);
                node.Value.Finish(FinishReason.Cancelled);
            }
            node = next;
        }
        for (int i = _running.Count - 1; i >= 0; i--)
            if (_running[i].CancelRequested || _cancelAll) End(_running[i], FinishReason.Cancelled);
    }

    private void Step()
    {
        Admit();
        var cache = _context.Cache;
        _batch.Clear();
        _stepPlan.Clear();
        int budget = _batch.Capacity;

        // Generating sequences first, one token each; a sequence that needs a page when none is left preempts the newest.
        for (int i = 0; i < _running.Count; i++)
        {
            var g = _running[i];
            if (g.Tokens.Count - g.Evaluated != 1) continue;
            while (!cache.TryReserve(g.Slot, g.Evaluated + 1))
            {
                var victim = _running[^1];
                Preempt(victim);
                if (victim == g) break;
            }
            if (g.Slot < 0) break; // preempted itself: every later sequence was too
            _batch.Add(g.Tokens[g.Evaluated], g.Evaluated, g.Slot, wantLogits: true);
            _stepPlan.Add((g, 1, true));
            budget--;
        }
        // Then prompt chunks, oldest request first.
        foreach (var g in _running)
        {
            int remaining = g.Tokens.Count - g.Evaluated;
            if (remaining <= 1) continue; // generating (or a prompt with one token left): taken above
            if (budget == 0) break;
            int n = Math.Min(remaining, budget);
            if (!cache.TryReserve(g.Slot, g.Evaluated + n)) continue; // admission reserved the prompt; only a preempted peer's pages could be short
            bool output = g.Evaluated + n == g.Tokens.Count;
            for (int j = 0; j < n; j++)
                _batch.Add(g.Tokens[g.Evaluated + j], g.Evaluated + j, g.Slot, wantLogits: output && j == n - 1);
            _stepPlan.Add((g, n, output));
            budget -= n;
        }
        if (_batch.Count == 0) return;

        _context.Decode(_batch);
        Interlocked.Increment(ref _steps);
        int row = 0;
        foreach (var (g, n, output) in _stepPlan)
        {
            bool prompt = g.Generated == 0;
            g.Evaluated += n;
            if (prompt) Interlocked.Add(ref _promptEvaluated, n);
            if (_prefix is not null && (g.Evaluated / cache.PageSize) > ((g.Evaluated - n) / cache.PageSize))
                _prefix.Insert(g.Slot, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(g.Tokens)[..g.Evaluated], includePartial: false);
            if (!output) continue;
            bool done = g.Step(_context.Logits(row++), out var finish);
            if (done) End(g, finish);
        }
    }

    // Moves waiting requests into free slots while their prompts' pages fit, oldest first (no overtaking).
    private void Admit()
    {
        var cache = _context.Cache;
        while (_waiting.First is { } node && _freeSlots.Count > 0)
        {
            var g = node.Value;
            int slot = _freeSlots.Peek();
            int reused = _prefix?.Match(slot, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(g.Tokens)) ?? 0;
            // Room for the whole prompt and the first generated token.
            if (!cache.TryReserve(slot, Math.Min(g.Tokens.Count + 1, ContextLength)))
            {
                cache.Clear(slot);
                if (_running.Count > 0) break;
                // Nothing runs and it still does not fit: the pool is smaller than this prompt (KvSize too small).
                _waiting.RemoveFirst();
                Interlocked.Decrement(ref _waitingCount);
                g.Fail(new InvalidOperationException($"the prompt of {g.Tokens.Count} tokens does not fit the KV cache of {cache.Pages * cache.PageSize} positions; raise --kv-size"));
                continue;
            }
            _freeSlots.Pop();
            _waiting.RemoveFirst();
            Interlocked.Decrement(ref _waitingCount);
            g.Slot = slot;
            g.Evaluated = reused;
            if (g.CachedPromptTokens < 0)
            {
                g.CachedPromptTokens = reused;
                g.Admitted = Stopwatch.GetTimestamp();
                Interlocked.Add(ref _promptTokens, g.Request.Prompt.Length);
            }
            _running.Add(g);
            Interlocked.Increment(ref _runningCount);
        }
    }

    private void Preempt(Generation g)
    {
        Release(g);
        _waiting.AddFirst(g);
        Interlocked.Increment(ref _waitingCount);
        Interlocked.Increment(ref _preemptions);
    }

    // Leaves the running batch: its written positions go to the prefix cache, its pages and slot are freed.
    private void Release(Generation g)
    {
        var cache = _context.Cache;
        _prefix?.Insert(g.Slot, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(g.Tokens)[..g.Evaluated], includePartial: true);
        cache.Clear(g.Slot);
        _freeSlots.Push(g.Slot);
        g.Slot = -1;
        g.Evaluated = 0;
        _running.Remove(g);
        Interlocked.Decrement(ref _runningCount);
    }

    private void End(Generation g, FinishReason finish = FinishReason.Stop, Exception? error = null)
    {
        // Counted before the slot is released, so that no snapshot shows the request neither running nor finished.
        if (error is null) Count(g, finish);
        if (g.Slot >= 0) Release(g);
        if (error is not null) g.Fail(error);
        else g.Finish(finish);
    }

    private void Finish(Generation g, FinishReason finish)
    {
        Count(g, finish);
        g.Finish(finish);
    }

    private void Count(Generation g, FinishReason finish)
    {
        Interlocked.Add(ref _generated, g.Generated);
        if (finish == FinishReason.Stop) Interlocked.Increment(ref _stop);
        else if (finish == FinishReason.Length) Interlocked.Increment(ref _length);
        else Interlocked.Increment(ref _cancelled);
    }
}

/// <summary>The events of one submitted generation, to read once (see <see cref="GenerationEventKind"/>). Disposing it cancels the generation.</summary>
public sealed class GenerationStream : IAsyncEnumerable<GenerationEvent>, IDisposable
{
    private readonly Generation _generation;
    private readonly Scheduler _scheduler;

    internal GenerationStream(Generation generation, Scheduler scheduler)
    {
        _generation = generation;
        _scheduler = scheduler;
    }

    internal CancellationTokenRegistration Registration { get; set; }

    /// <summary>Unique among the scheduler's requests.</summary>
    public long Id => _generation.Id;
    /// <summary>Tokens of the prompt.</summary>
    public int PromptTokens => _generation.Request.Prompt.Length;

    /// <summary>Drops the generation; the stream then ends with a final event of <see cref="FinishReason.Cancelled"/>.</summary>
    public void Cancel()
    {
        _generation.Cancel();
        _scheduler.Wake();
    }

    /// <summary>Reads every event to the final one; an engine failure is thrown here. Once the generation is cancelled,
    /// tokens generated before the worker saw it are skipped: the next event read is the final one.</summary>
    public async IAsyncEnumerator<GenerationEvent> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        await foreach (var e in _generation.Events.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (e.Kind == GenerationEventKind.Token && _generation.CancelRequested) continue;
            yield return e;
        }
    }

    /// <summary>Cancels the generation if it is still running.</summary>
    public void Dispose()
    {
        Registration.Dispose();
        Cancel();
    }
}

using SeekSharp.Inference;
using SeekSharp.Kernels;

namespace SeekSharp.Serving;

/// <summary>Sizes and limits of a <see cref="Scheduler"/>.</summary>
public sealed record SchedulerOptions
{
    /// <summary>Positions one sequence may reach (prompt plus generation); 0: the model's trained length, capped at 4096.</summary>
    public int ContextLength { get; init; }
    /// <summary>Most sequences evaluated together in one batch (llama.cpp's --parallel, vLLM's max_num_seqs).</summary>
    public int Parallel { get; init; } = 4;
    /// <summary>Positions the KV cache's page pool holds over all sequences and the prefix cache (llama.cpp's --kv-size, vLLM's
    /// KV blocks × block size); 0: <see cref="Parallel"/> × the context length.</summary>
    public int KvSize { get; init; }
    /// <summary>Positions per KV page: the unit of allocation and of whole-page prefix sharing.</summary>
    public int PageSize { get; init; } = 64;
    /// <summary>Most tokens one forward pass evaluates (vLLM's max_num_batched_tokens): running sequences' next tokens
    /// first, then chunks of waiting prompts.</summary>
    public int BatchSize { get; init; } = 256;
    /// <summary>Most requests waiting for a free slot; further submissions throw <see cref="QueueFullException"/>.</summary>
    public int MaxWaiting { get; init; } = 256;
    /// <summary>Threads that evaluate a batch (0: the shared pool).</summary>
    public int Threads { get; init; }
    /// <summary>Element type of the KV cache (F16 or F32).</summary>
    public GgmlType KvCacheType { get; init; } = GgmlType.F16;
    /// <summary>How multi-head latent attention is evaluated (deepseek2).</summary>
    public MlaAttention MlaAttention { get; init; } = MlaAttention.Auto;
    /// <summary>Keep finished sequences' keys and values for later requests that start the same way.</summary>
    public bool PrefixCaching { get; init; } = true;
    /// <summary>
    /// Least time from the start of one step to the start of the next (zero: none). Caps how fast tokens come, for a
    /// server that should leave the processors to other work, or for tests of streaming clients that need a small
    /// model to answer as slowly as a large one.
    /// </summary>
    public TimeSpan MinStepInterval { get; init; }
}

/// <summary>A snapshot of a scheduler's state and counters, for metrics.</summary>
public sealed record SchedulerStats
{
    /// <summary>Requests in the running batch.</summary>
    public int Running { get; init; }
    /// <summary>Requests waiting for a slot or KV pages.</summary>
    public int Waiting { get; init; }
    /// <summary>Pages in the KV pool.</summary>
    public int KvPages { get; init; }
    /// <summary>Pages that running sequences hold.</summary>
    public int KvPagesInUse { get; init; }
    /// <summary>Pages that only the prefix cache holds (reusable, evicted when the pool runs short).</summary>
    public int KvPagesCached { get; init; }
    /// <summary>Positions per page.</summary>
    public int PageSize { get; init; }
    /// <summary>Prompt tokens of admitted requests, cached or not.</summary>
    public long PromptTokens { get; init; }
    /// <summary>Prompt tokens evaluated (not taken from the prefix cache).</summary>
    public long PromptTokensEvaluated { get; init; }
    /// <summary>Tokens looked up in the prefix cache (every admission, re-admissions after preemption included).</summary>
    public long PrefixCacheQueriedTokens { get; init; }
    /// <summary>Of those, tokens found and reused.</summary>
    public long PrefixCacheHitTokens { get; init; }
    /// <summary>Tokens generated.</summary>
    public long GenerationTokens { get; init; }
    /// <summary>Requests finished, by reason.</summary>
    public long FinishedStop { get; init; }
    /// <summary>Requests finished by the length limit.</summary>
    public long FinishedLength { get; init; }
    /// <summary>Requests cancelled or disconnected.</summary>
    public long FinishedCancelled { get; init; }
    /// <summary>Sequences evicted from the running batch to free KV pages (requeued and recomputed).</summary>
    public long Preemptions { get; init; }
    /// <summary>Forward passes run.</summary>
    public long Steps { get; init; }
    /// <summary>Fraction of the pool in use by running sequences, 0..1.</summary>
    public double KvUsage => KvPages == 0 ? 0 : (double)KvPagesInUse / KvPages;
}

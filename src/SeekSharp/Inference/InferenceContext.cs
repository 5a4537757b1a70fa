using SeekSharp.Kernels.Threading;
using SeekSharp.Models;

namespace SeekSharp.Inference;

/// <summary>
/// Evaluation state for a model: the KV cache of each sequence, scratch buffers and the logits of the last batch.
/// Not thread-safe: one caller at a time (the server's scheduler batches requests into one <see cref="Decode"/>).
/// </summary>
public sealed class InferenceContext : IDisposable
{
    private readonly Activations _activations;
    private readonly float[] _logits; // [MaxOutputs, V]
    private readonly int[] _nextPosition; // [nSeq] scratch for validating a batch
    private readonly WorkerPool? _ownPool; // null when the context shares WorkerPool.Shared
    private int _outputs;

    internal InferenceContext(Model model, ContextOptions options)
    {
        Model = model;
        var c = model.Config;
        int ctx = (int)options.LengthFor(c);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Sequences, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(options.Threads);
        BatchSize = options.BatchSize;
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxOutputs);
        ArgumentOutOfRangeException.ThrowIfNegative(options.KvSize);
        Cache = new KvCache(c.BlockCount, options.Sequences, ctx, c.CacheLayout, options.KvCacheType, options.PageSize, options.KvSize);
        MaxOutputs = options.MaxOutputs > 0 ? Math.Min(options.MaxOutputs, BatchSize) : BatchSize;
        _ownPool = options.Threads > 0 ? new WorkerPool(options.Threads) : null;
        _activations = model.Transformer.CreateActivations(BatchSize, ctx, options, _ownPool ?? WorkerPool.Shared);
        _logits = new float[(long)MaxOutputs * c.VocabSize];
        _nextPosition = new int[options.Sequences];
    }

    /// <summary>The model evaluated.</summary>
    public Model Model { get; }
    /// <summary>Keys and values per sequence.</summary>
    public KvCache Cache { get; }
    /// <summary>Positions per sequence.</summary>
    public int ContextLength => Cache.ContextLength;
    /// <summary>Most tokens per <see cref="Decode"/>.</summary>
    public int BatchSize { get; }
    /// <summary>Most tokens of one batch that may want logits (the rows of the logits buffer).</summary>
    public int MaxOutputs { get; }
    /// <summary>Threads that evaluate a batch, the caller included.</summary>
    public int Threads => _activations.Pool.ThreadCount;
    /// <summary>Receives named intermediates when set (diagnostics; slows evaluation).</summary>
    public ITraceSink? Trace { get; set; }

    /// <summary>Evaluates a batch; afterwards <see cref="Logits"/> holds one row per token that wanted logits, in batch order.</summary>
    public void Decode(Batch batch)
    {
        if (batch.Count > BatchSize)
            throw new ArgumentException($"batch has {batch.Count} tokens but the context's batch size is {BatchSize}", nameof(batch));
        // Sequences only grow: each sequence's tokens in a batch continue its cache at consecutive positions
        // (rewind with KvCache.Truncate first), so no token can attend to a stale or missing position.
        int vocab = Model.Config.VocabSize;
        for (int s = 0; s < _nextPosition.Length; s++) _nextPosition[s] = Cache.Length(s);
        for (int i = 0; i < batch.Count; i++)
        {
            int token = batch.Tokens[i], pos = batch.Positions[i], seq = batch.Sequences[i];
            if ((uint)token >= (uint)vocab)
                throw new ArgumentException($"token id {token} at batch index {i} is outside the vocabulary (0..{vocab - 1})", nameof(batch));
            if ((uint)seq >= (uint)Cache.Sequences)
                throw new ArgumentException($"sequence {seq} at batch index {i} is outside 0..{Cache.Sequences - 1}", nameof(batch));
            if (pos >= ContextLength)
                throw new ContextOverflowException(pos + 1, ContextLength);
            if (pos != _nextPosition[seq])
                throw new ArgumentException($"position {pos} of sequence {seq} at batch index {i} should be {_nextPosition[seq]}: positions continue the cached ones consecutively (truncate the cache to rewind)", nameof(batch));
            _nextPosition[seq]++;
        }
        if (batch.OutputCount > MaxOutputs)
            throw new ArgumentException($"batch wants logits for {batch.OutputCount} tokens but the context keeps at most {MaxOutputs} (ContextOptions.MaxOutputs)", nameof(batch));
        // Pages for every position the batch writes, before any is written: a full pool refuses the batch whole.
        for (int s = 0; s < _nextPosition.Length; s++)
        {
            if (_nextPosition[s] > Cache.Length(s) && !Cache.TryReserve(s, _nextPosition[s]))
                throw new InvalidOperationException($"the KV cache has no free page for sequence {s} at length {_nextPosition[s]}: all {Cache.Pages} pages of {Cache.PageSize} positions are in use (raise the KV size)");
        }
        for (int i = 0; i < batch.Count; i++)
            Cache.MarkFilled(batch.Sequences[i], batch.Positions[i]);
        Model.Transformer.Forward(batch, Cache, _activations, _logits, Trace);
        _outputs = batch.OutputCount;
    }

    /// <summary>Logits [V] of the <paramref name="output"/>-th token that wanted logits in the last batch.</summary>
    public ReadOnlySpan<float> Logits(int output)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(output, _outputs);
        int v = Model.Config.VocabSize;
        return _logits.AsSpan(output * v, v);
    }

    /// <summary>
    /// Evaluates <paramref name="tokens"/> as positions start.. of <paramref name="sequence"/>, in batches of <see cref="BatchSize"/>;
    /// returns with the logits of the last token available as <c>Logits(0)</c>.
    /// </summary>
    public void Prefill(ReadOnlySpan<int> tokens, int sequence = 0, int start = 0)
    {
        if (start + tokens.Length > ContextLength)
            throw new ContextOverflowException(start + tokens.Length, ContextLength);
        var batch = new Batch(BatchSize);
        for (int i = 0; i < tokens.Length; i += BatchSize)
        {
            batch.Clear();
            int n = Math.Min(BatchSize, tokens.Length - i);
            for (int j = 0; j < n; j++)
                batch.Add(tokens[i + j], start + i + j, sequence, wantLogits: i + j == tokens.Length - 1);
            Decode(batch);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Cache.Dispose();
        _ownPool?.Dispose();
    }
}

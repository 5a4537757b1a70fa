using SeekSharp.Inference;
using SeekSharp.Kernels;
using SeekSharp.Models;

namespace SeekSharp.Conformance.Tests.Trace;

/// <summary>Records SeekSharp's named intermediates (<see cref="ITraceSink"/>) while it evaluates one batch.</summary>
internal sealed class SeekSharpTrace : ITraceSink
{
    private readonly int _tokens;

    private SeekSharpTrace(int tokens) => _tokens = tokens;

    /// <summary>Everything traced so far, in the order the model traced it.</summary>
    public TraceRecording Recording { get; } = new();

    /// <summary>
    /// Evaluates <paramref name="tokens"/> at positions 0..n-1 as one batch in which every position wants logits
    /// (so the final norm and output rows cover all tokens, as in <see cref="LlamaCppTrace.Capture"/>).
    /// </summary>
    public static TraceRecording Capture(string ggufPath, int[] tokens, MlaAttention mla = MlaAttention.Auto)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tokens.Length, 1);
        using var model = Model.Load(ggufPath);
        using var context = model.CreateContext(new ContextOptions { ContextLength = tokens.Length, BatchSize = tokens.Length, KvCacheType = GgmlType.F32, MlaAttention = mla });
        var batch = new Batch(tokens.Length);
        for (int i = 0; i < tokens.Length; i++)
            batch.Add(tokens[i], i, sequence: 0, wantLogits: true);
        var sink = new SeekSharpTrace(tokens.Length);
        context.Trace = sink;
        context.Decode(batch);
        return sink.Recording;
    }

    /// <inheritdoc/>
    public void Trace(string name, int layer, ReadOnlySpan<float> values)
    {
        // values is [T, width]; every traced tensor here has one row per token of the batch.
        long width = values.Length / _tokens;
        Recording.Add(new TracedTensor(name, layer, values.ToArray(), [_tokens, width]));
    }
}

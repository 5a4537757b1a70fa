namespace SeekSharp.Training.Data;

/// <summary>
/// One training batch: inputs, next-token targets and per-token loss weights, row-major [B, T] with T the batch's own
/// length (at most <see cref="MaxSeqLen"/>). Buffers are allocated once for the largest batch and refilled each step.
/// Glossary: B rows (sequences), T positions per row.
/// </summary>
internal sealed class TokenBatch
{
    public TokenBatch(int batch, int maxSeqLen)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSeqLen, 1);
        Batch = batch;
        MaxSeqLen = maxSeqLen;
        Tokens = new int[batch * maxSeqLen];
        Targets = new int[batch * maxSeqLen];
        Weights = new float[batch * maxSeqLen];
        SeqLen = maxSeqLen;
    }

    /// <summary>B.</summary>
    public int Batch { get; }
    /// <summary>Largest T.</summary>
    public int MaxSeqLen { get; }
    /// <summary>T of the current contents.</summary>
    public int SeqLen { get; internal set; }
    /// <summary>Input ids [B, T] (first B·T entries).</summary>
    public int[] Tokens { get; }
    /// <summary>Target ids [B, T]: the id that follows each input.</summary>
    public int[] Targets { get; }
    /// <summary>Loss weights [B, T]: 1 where the target is trained on, 0 on padding and (for SFT) on the prompt.</summary>
    public float[] Weights { get; }
    /// <summary>Positions that hold real (non-padding) input, for throughput figures.</summary>
    public int RealTokens { get; internal set; }
    /// <summary>Positions with a non-zero weight.</summary>
    public int WeightedTokens { get; internal set; }

    public ReadOnlySpan<int> TokenSpan => Tokens.AsSpan(0, Batch * SeqLen);
    public ReadOnlySpan<int> TargetSpan => Targets.AsSpan(0, Batch * SeqLen);
    public ReadOnlySpan<float> WeightSpan => Weights.AsSpan(0, Batch * SeqLen);
}

using System.Numerics.Tensors;

namespace SeekSharp.Training.Ops;

/// <summary>
/// Log-probabilities of target tokens under the softmax of the logits: <c>logp[n] = logits[n, target[n]] − logsumexp(logits[n])</c>.
/// Cross-entropy is their negative; the model turns per-token weights into a loss on top of this op, so SFT masks and
/// GRPO advantages share one backward. Glossary: N rows, V vocabulary.
/// </summary>
internal static class CrossEntropy
{
    /// <summary>logProbs[N] of the targets, and the saved logSumExp[N] of each row of logits[N, V].</summary>
    /// <remarks>Stable: the row maximum is subtracted before exponentiating and the sum is kept in double.</remarks>
    public static void Forward(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, Span<float> logSumExp, Span<float> logProbs, int vocab)
    {
        for (int n = 0; n < targets.Length; n++)
        {
            var row = logits.Slice(n * vocab, vocab);
            float max = TensorPrimitives.Max(row);
            double sum = 0.0;
            foreach (float z in row)
                sum += MathF.Exp(z - max);
            float lse = max + (float)Math.Log(sum);
            logSumExp[n] = lse;
            logProbs[n] = row[targets[n]] - lse;
        }
    }

    /// <summary>dlogits[N, V] += dLogProbs[n] · (onehot(target[n]) − softmax(logits[n])).</summary>
    /// <remarks>Rows whose gradient is zero (masked tokens) are skipped: they add nothing.</remarks>
    public static void Backward(ReadOnlySpan<float> dLogProbs, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets,
        ReadOnlySpan<float> logSumExp, Span<float> dlogits, int vocab)
    {
        for (int n = 0; n < targets.Length; n++)
        {
            float g = dLogProbs[n];
            if (g == 0f) continue;
            var row = logits.Slice(n * vocab, vocab);
            var drow = dlogits.Slice(n * vocab, vocab);
            float lse = logSumExp[n];
            for (int v = 0; v < vocab; v++)
                drow[v] -= g * MathF.Exp(row[v] - lse);
            drow[targets[n]] += g;
        }
    }
}

using SeekSharp.Kernels;
using SeekSharp.Kernels.Threading;

namespace SeekSharp.Models.Blocks;

/// <summary>The end of a decoder: final RMSNorm and the [V, D] output projection, for the batch's rows whose logits are wanted.</summary>
internal static class OutputHead
{
    /// <summary>
    /// Writes logits [outputs, V] for the tokens of <paramref name="batch"/> that want them, in batch order, from the
    /// residual stream <paramref name="x"/> [T, D]; <paramref name="normed"/> [T, D] is scratch that receives the
    /// normalised wanted rows packed. Only those rows go through the norm and the output matrix.
    /// </summary>
    public static void Apply(Batch batch, ReadOnlySpan<float> x, float[] norm, float eps, Linear output, Span<float> normed,
        Span<float> logits, WorkerPool pool, ITraceSink? trace)
    {
        int d = norm.Length, outputs = 0;
        for (int t = 0; t < batch.Count; t++)
        {
            if (!batch.WantLogits[t]) continue;
            VectorOps.RmsNorm(x.Slice(t * d, d), norm, eps, normed.Slice(outputs * d, d));
            outputs++;
        }
        trace?.Trace("result_norm", -1, normed[..(outputs * d)]);
        if (outputs > 0)
            output.Apply(normed, logits, outputs, pool);
        trace?.Trace("result_output", -1, logits[..(outputs * output.Rows)]);
    }
}

using System.Buffers;
using SeekSharp.Kernels;

namespace SeekSharp.Models.Blocks;

/// <summary>
/// Causal grouped-query attention over the KV cache: query head h reads key/value head h / (H / Hkv).
/// Each token attends to positions 0..pos of its own sequence, which the caller has already written to the cache
/// (including the tokens of the current batch), so one pass serves prompt processing and decoding alike.
/// </summary>
internal static unsafe class Attention
{
    /// <summary>Writes this batch's keys and values [T, Hkv · Dh] into the cache at each token's (sequence, position).</summary>
    public static void Store(KvCache cache, int layer, Batch batch, ReadOnlySpan<float> k, ReadOnlySpan<float> v)
    {
        int kvDim = cache.KvDim;
        for (int t = 0; t < batch.Count; t++)
        {
            int seq = batch.Sequences[t], pos = batch.Positions[t];
            k.Slice(t * kvDim, kvDim).CopyTo(new Span<float>(cache.Key(layer, seq, pos), kvDim));
            v.Slice(t * kvDim, kvDim).CopyTo(new Span<float>(cache.Value(layer, seq, pos), kvDim));
        }
    }

    /// <summary>output[T, H · Dh] = softmax(q · kᵀ / √Dh) · v for every token and head.</summary>
    public static void Compute(KvCache cache, int layer, Batch batch, ReadOnlySpan<float> q, Span<float> output,
                               int nHead, int nHeadKv, int headDim)
    {
        int tokens = batch.Count;
        float scale = 1f / MathF.Sqrt(headDim);
        int group = nHead / nHeadKv;
        int qDim = nHead * headDim;
        fixed (float* qp = q, op = output)
        fixed (int* seqs = batch.Sequences, positions = batch.Positions)
        {
            float* qPtr = qp, outPtr = op;
            int* seqPtr = seqs, posPtr = positions;
            Parallel.For(0, tokens * nHead, item =>
            {
                int t = item / nHead, h = item % nHead;
                int seq = seqPtr[t], pos = posPtr[t];
                int kvHead = h / group;
                var query = new ReadOnlySpan<float>(qPtr + t * qDim + h * headDim, headDim);
                var result = new Span<float>(outPtr + t * qDim + h * headDim, headDim);

                float[] rented = ArrayPool<float>.Shared.Rent(pos + 1);
                var scores = rented.AsSpan(0, pos + 1);
                for (int j = 0; j <= pos; j++)
                {
                    var key = new ReadOnlySpan<float>(cache.Key(layer, seq, j) + kvHead * headDim, headDim);
                    scores[j] = VectorOps.Dot(query, key) * scale;
                }
                VectorOps.SoftmaxInPlace(scores);
                result.Clear();
                for (int j = 0; j <= pos; j++)
                {
                    var value = new ReadOnlySpan<float>(cache.Value(layer, seq, j) + kvHead * headDim, headDim);
                    VectorOps.Axpy(scores[j], value, result);
                }
                ArrayPool<float>.Shared.Return(rented);
            });
        }
    }
}

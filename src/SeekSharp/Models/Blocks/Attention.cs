using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using SeekSharp.Kernels;
using SeekSharp.Kernels.Threading;

namespace SeekSharp.Models.Blocks;

/// <summary>
/// Causal grouped-query attention over the KV cache: query head h reads key/value head h / (H / Hkv).
/// Each token attends to positions 0..pos of its own sequence, which the caller has already written to the cache
/// (including the tokens of the current batch), so one pass serves prompt processing and decoding alike.
/// </summary>
/// <remarks>
/// The softmax is computed online, block by block over the cached positions (Milakov and Gimelshein 2018, the
/// recurrence FlashAttention uses): a running maximum m, sum s and unnormalised output o are rescaled by exp(m_old − m_new)
/// whenever a block raises the maximum. Memory per head is one block of scores whatever the context length, and
/// keys and values are read once, in order.
/// </remarks>
internal static unsafe class Attention
{
    // Positions per online-softmax block: scores of a block live on the stack, and each block costs one rescale at most.
    private const int BlockPositions = 128;

    /// <summary>Writes this batch's keys and values [T, Hkv · Dh] into the cache at each token's (sequence, position).</summary>
    public static void Store(KvCache cache, int layer, Batch batch, ReadOnlySpan<float> k, ReadOnlySpan<float> v)
    {
        int kvDim = cache.KvDim;
        for (int t = 0; t < batch.Count; t++)
        {
            int seq = batch.Sequences[t], pos = batch.Positions[t];
            ReadOnlySpan<float> kt = k.Slice(t * kvDim, kvDim), vt = v.Slice(t * kvDim, kvDim);
            if (cache.ElementType == GgmlType.F16)
            {
                // Round to nearest even, as ggml's F32 → F16 copy into the cache.
                TensorPrimitives.ConvertToHalf(kt, new Span<Half>(cache.Key(layer, seq, pos), kvDim));
                TensorPrimitives.ConvertToHalf(vt, new Span<Half>(cache.Value(layer, seq, pos), kvDim));
            }
            else
            {
                kt.CopyTo(new Span<float>(cache.Key(layer, seq, pos), kvDim));
                vt.CopyTo(new Span<float>(cache.Value(layer, seq, pos), kvDim));
            }
        }
    }

    /// <summary>
    /// output[T, H · Dh] = softmax(q · kᵀ / √Dh) · v for every token and head. A work item is one token and some of the
    /// query heads that share a KV head, so each cached key and value row is read (and, in an F16 cache, widened) once
    /// for several heads (see <see cref="AttentionKernels"/>). An item takes fewer than the whole group only when there
    /// are too few tokens to keep every thread busy (decoding); a head's arithmetic is the same whatever item it is in.
    /// </summary>
    public static void Compute(KvCache cache, int layer, Batch batch, ReadOnlySpan<float> q, Span<float> output,
                               int nHead, int nHeadKv, int headDim, WorkerPool pool)
    {
        int group = nHead / nHeadKv;
        int heads = group;
        while (heads > 1 && (long)batch.Count * nHead / heads < 2L * pool.ThreadCount)
        {
            heads = LargestDivisorBelow(group, heads);
        }
        fixed (float* qp = q, op = output)
        fixed (int* seqs = batch.Sequences, positions = batch.Positions)
        {
            var work = new HeadWork
            {
                Keys = cache.Key(layer, 0, 0), Values = cache.Value(layer, 0, 0),
                SequenceStride = (long)cache.ContextLength * cache.KvDim, KvDim = cache.KvDim,
                Half = cache.ElementType == GgmlType.F16,
                Q = qp, Output = op, Sequences = seqs, Positions = positions,
                NHead = nHead, Group = group, HeadsPerItem = heads, HeadDim = headDim, Scale = 1f / MathF.Sqrt(headDim),
            };
            pool.For(batch.Count * (nHead / heads), ref work);
        }
    }

    private static int LargestDivisorBelow(int n, int below)
    {
        int d = below - 1;
        while (n % d != 0)
        {
            d--;
        }
        return d;
    }

    /// <summary>One token and <see cref="HeadsPerItem"/> query heads of one KV head: online softmax over positions 0..pos of the token's sequence.</summary>
    private struct HeadWork : IParallelWork
    {
        public byte* Keys, Values;   // layer's [nSeq][ctx][Hkv · Dh], F16 or F32
        public long SequenceStride;  // elements between sequences: ctx · Hkv · Dh
        public int KvDim;
        public bool Half;
        public float* Q, Output;     // [T, H · Dh]
        public int* Sequences, Positions;
        public int NHead, Group, HeadsPerItem, HeadDim;
        public float Scale;

        // The score block is written before it is read: zeroing it (and the maxima and sums, set below) for every item
        // was a visible part of prompt processing.
        [SkipLocalsInit]
        public void Run(int item)
        {
            int itemsPerToken = NHead / HeadsPerItem;
            int t = item / itemsPerToken, h0 = item % itemsPerToken * HeadsPerItem;   // first query head of the item
            int seq = Sequences[t], length = Positions[t] + 1;
            int elementBytes = Half ? sizeof(ushort) : sizeof(float);
            long first = seq * SequenceStride + h0 / Group * HeadDim;   // element offset of position 0, this KV head
            float* q = Q + (long)t * NHead * HeadDim + h0 * HeadDim;     // the item's heads are adjacent: [heads, Dh]
            float* o = Output + (long)t * NHead * HeadDim + h0 * HeadDim;
            int heads = HeadsPerItem;

            float* scores = stackalloc float[heads * BlockPositions];    // [heads, block]
            float* max = stackalloc float[heads];
            double* sum = stackalloc double[heads];
            new Span<float>(o, heads * HeadDim).Clear();
            for (int h = 0; h < heads; h++)
            {
                max[h] = float.NegativeInfinity;
                sum[h] = 0.0;
            }
            for (int j0 = 0; j0 < length; j0 += BlockPositions)
            {
                int nb = Math.Min(BlockPositions, length - j0);
                long row = (first + (long)j0 * KvDim) * elementBytes;
                AttentionKernels.Scores(Keys + row, Half, KvDim, nb, q, heads, HeadDim, Scale, scores, BlockPositions);
                for (int h = 0; h < heads; h++)
                {
                    var s = new Span<float>(scores + h * BlockPositions, nb);
                    float blockMax = TensorPrimitives.Max(s);
                    if (blockMax > max[h])
                    {
                        if (sum[h] != 0.0)
                        {
                            float rescale = MathF.Exp(max[h] - blockMax);
                            sum[h] *= rescale;
                            VectorOps.ScaleInPlace(new Span<float>(o + h * HeadDim, HeadDim), rescale);
                        }
                        max[h] = blockMax;
                    }
                    TensorPrimitives.Subtract(s, max[h], s);
                    TensorPrimitives.Exp(s, s);
                    sum[h] += TensorPrimitives.Sum(s);
                }
                AttentionKernels.AccumulateValues(Values + row, Half, KvDim, nb, scores, BlockPositions, heads, HeadDim, o);
            }
            for (int h = 0; h < heads; h++)
            {
                VectorOps.ScaleInPlace(new Span<float>(o + h * HeadDim, HeadDim), (float)(1.0 / sum[h]));
            }
        }
    }
}

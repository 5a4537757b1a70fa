using System.Numerics.Tensors;
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

    /// <summary>output[T, H · Dh] = softmax(q · kᵀ / √Dh) · v for every token and head, (token, head) pairs spread over the pool.</summary>
    public static void Compute(KvCache cache, int layer, Batch batch, ReadOnlySpan<float> q, Span<float> output,
                               int nHead, int nHeadKv, int headDim, WorkerPool pool)
    {
        fixed (float* qp = q, op = output)
        fixed (int* seqs = batch.Sequences, positions = batch.Positions)
        {
            var work = new HeadWork
            {
                Keys = cache.Key(layer, 0, 0), Values = cache.Value(layer, 0, 0),
                SequenceStride = (long)cache.ContextLength * cache.KvDim, KvDim = cache.KvDim,
                Half = cache.ElementType == GgmlType.F16,
                Q = qp, Output = op, Sequences = seqs, Positions = positions,
                NHead = nHead, Group = nHead / nHeadKv, HeadDim = headDim, Scale = 1f / MathF.Sqrt(headDim),
            };
            pool.For(batch.Count * nHead, ref work);
        }
    }

    /// <summary>One (token, head) pair: online softmax over positions 0..pos of the token's sequence.</summary>
    private struct HeadWork : IParallelWork
    {
        public byte* Keys, Values;   // layer's [nSeq][ctx][Hkv · Dh], F16 or F32
        public long SequenceStride;  // elements between sequences: ctx · Hkv · Dh
        public int KvDim;
        public bool Half;
        public float* Q, Output;     // [T, H · Dh]
        public int* Sequences, Positions;
        public int NHead, Group, HeadDim;
        public float Scale;

        public void Run(int item)
        {
            int t = item / NHead, h = item % NHead;
            int seq = Sequences[t], length = Positions[t] + 1;
            int elementBytes = Half ? sizeof(ushort) : sizeof(float);
            long first = seq * SequenceStride + h / Group * HeadDim; // element offset of position 0, this KV head
            var query = new ReadOnlySpan<float>(Q + (long)t * NHead * HeadDim + h * HeadDim, HeadDim);
            var o = new Span<float>(Output + (long)t * NHead * HeadDim + h * HeadDim, HeadDim);

            Span<float> scores = stackalloc float[BlockPositions];
            o.Clear();
            float max = float.NegativeInfinity;
            double sum = 0.0;
            for (int j0 = 0; j0 < length; j0 += BlockPositions)
            {
                int nb = Math.Min(BlockPositions, length - j0);
                Span<float> s = scores[..nb];
                for (int j = 0; j < nb; j++)
                {
                    byte* key = Keys + (first + (long)(j0 + j) * KvDim) * elementBytes;
                    s[j] = (Half
                        ? VectorOps.Dot(new ReadOnlySpan<Half>(key, HeadDim), query)
                        : VectorOps.Dot(new ReadOnlySpan<float>(key, HeadDim), query)) * Scale;
                }
                float blockMax = TensorPrimitives.Max(s);
                if (blockMax > max)
                {
                    if (sum != 0.0)
                    {
                        float rescale = MathF.Exp(max - blockMax);
                        sum *= rescale;
                        VectorOps.ScaleInPlace(o, rescale);
                    }
                    max = blockMax;
                }
                TensorPrimitives.Subtract(s, max, s);
                TensorPrimitives.Exp(s, s);
                sum += TensorPrimitives.Sum(s);
                for (int j = 0; j < nb; j++)
                {
                    byte* value = Values + (first + (long)(j0 + j) * KvDim) * elementBytes;
                    if (Half)
                        VectorOps.Axpy(s[j], new ReadOnlySpan<Half>(value, HeadDim), o);
                    else
                        VectorOps.Axpy(s[j], new ReadOnlySpan<float>(value, HeadDim), o);
                }
            }
            VectorOps.ScaleInPlace(o, (float)(1.0 / sum));
        }
    }
}

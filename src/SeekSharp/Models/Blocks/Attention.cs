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

    /// <summary>Writes this batch's key rows [T, KeyWidth] and value rows [T, ValueWidth] into the cache at each token's
    /// (sequence, position); <paramref name="v"/> is ignored when the cache's values are part of its keys.</summary>
    public static void Store(KvCache cache, int layer, Batch batch, ReadOnlySpan<float> k, ReadOnlySpan<float> v)
    {
        var layout = cache.Layout;
        for (int t = 0; t < batch.Count; t++)
        {
            int seq = batch.Sequences[t], pos = batch.Positions[t];
            StoreRow(cache, k.Slice(t * layout.KeyWidth, layout.KeyWidth), cache.Key(layer, seq, pos));
            if (!layout.ValuesInKeys)
                StoreRow(cache, v.Slice(t * layout.ValueWidth, layout.ValueWidth), cache.Value(layer, seq, pos));
        }
    }

    private static void StoreRow(KvCache cache, ReadOnlySpan<float> row, byte* destination)
    {
        if (cache.ElementType == GgmlType.F16)
            TensorPrimitives.ConvertToHalf(row, new Span<Half>(destination, row.Length)); // round to nearest even, as ggml's F32 → F16 copy
        else
            row.CopyTo(new Span<float>(destination, row.Length));
    }

    /// <summary>
    /// The rows one layer's attention reads: the KV cache's pages, or decompressed copies (MLA's naive path). Row
    /// (sequence, position) lives in page <c>Tables[sequence · TableStride + position &gt;&gt; PageShift]</c>, at
    /// <c>PageBytes</c> × page from <see cref="Keys"/>, row <c>position mod 2^PageShift</c> of it.
    /// </summary>
    internal readonly struct KvRows
    {
        public readonly byte* Keys, Values;          // row 0 of page 0
        public readonly int KeyStride, ValueStride;  // elements between consecutive rows of a page
        public readonly long PageBytes;              // bytes between pages
        public readonly int* Tables;                 // page ids of each sequence's positions
        public readonly int TableStride, PageShift;
        public readonly bool Half;

        private static readonly int* SinglePage = (int*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(sizeof(int));

        private KvRows(byte* keys, int keyStride, byte* values, int valueStride, long pageBytes, int* tables, int tableStride, int pageShift, bool half)
        {
            Keys = keys; KeyStride = keyStride; Values = values; ValueStride = valueStride;
            PageBytes = pageBytes; Tables = tables; TableStride = tableStride; PageShift = pageShift; Half = half;
        }

        /// <summary>Rows in one contiguous block, the same for every sequence of the batch (one sequence's copies).</summary>
        public static KvRows Contiguous(byte* keys, int keyStride, byte* values, int valueStride, bool half) =>
            new(keys, keyStride, values, valueStride, 0, SinglePage, 0, 30, half);

        /// <summary>Layer <paramref name="layer"/> of the cache.</summary>
        public static KvRows Of(KvCache cache, int layer) => new(
            cache.LayerKeys(layer), cache.KeyStride, cache.LayerValues(layer), cache.ValueStride,
            cache.PageBytes, cache.Tables, cache.PagesPerSequence, cache.PageShift, cache.ElementType == GgmlType.F16);
    }

    /// <summary>Grouped-query attention of every token of the batch over layer <paramref name="layer"/> of the cache, heads of width Dh, scale 1/√Dh.</summary>
    public static void Compute(KvCache cache, int layer, Batch batch, ReadOnlySpan<float> q, Span<float> output,
                               int nHead, int nHeadKv, int headDim, WorkerPool pool) =>
        Compute(KvRows.Of(cache, layer), batch, default, q, output, nHead, nHeadKv, headDim, headDim, 1f / MathF.Sqrt(headDim), pool);

    /// <summary>
    /// output[T, H · Dv] = softmax(scale · q · kᵀ) · v for the batch's tokens (or the <paramref name="tokens"/> listed,
    /// by batch index) and every head, q [T, H · Dk]. Query head h reads KV head h / (H / Hkv), whose key is columns
    /// [kv · Dk, (kv + 1) · Dk) of a key row and whose value is the same columns of Dv in a value row.
    /// A work item is one token and some of the query heads that share a KV head, so each cached key and value row is
    /// read (and, in an F16 cache, widened) once for several heads (see <see cref="AttentionKernels"/>). An item takes
    /// fewer than the whole group only when there are too few tokens to keep every thread busy (decoding); a head's
    /// arithmetic is the same whatever item it is in.
    /// </summary>
    public static void Compute(KvRows kv, Batch batch, ReadOnlySpan<int> tokens, ReadOnlySpan<float> q, Span<float> output,
                               int nHead, int nHeadKv, int keyDim, int valueDim, float scale, WorkerPool pool)
    {
        int count = tokens.IsEmpty ? batch.Count : tokens.Length;
        int group = nHead / nHeadKv;
        int heads = group;
        while (heads > 1 && (long)count * nHead / heads < 2L * pool.ThreadCount)
        {
            heads = LargestDivisorBelow(group, heads);
        }
        fixed (float* qp = q, op = output)
        fixed (int* seqs = batch.Sequences, positions = batch.Positions, list = tokens)
        {
            var work = new HeadWork
            {
                Kv = kv, Q = qp, Output = op, Sequences = seqs, Positions = positions, Tokens = tokens.IsEmpty ? null : list,
                NHead = nHead, Group = group, HeadsPerItem = heads, KeyDim = keyDim, ValueDim = valueDim, Scale = scale,
            };
            pool.For(count * (nHead / heads), ref work);
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
        public KvRows Kv;
        public float* Q, Output;     // [T, H · Dk], [T, H · Dv]
        public int* Sequences, Positions;
        public int* Tokens;          // batch indices to evaluate, or null for all
        public int NHead, Group, HeadsPerItem, KeyDim, ValueDim;
        public float Scale;

        // The score block is written before it is read: zeroing it (and the maxima and sums, set below) for every item
        // was a visible part of prompt processing.
        [SkipLocalsInit]
        public void Run(int item)
        {
            int itemsPerToken = NHead / HeadsPerItem;
            int t = item / itemsPerToken, h0 = item % itemsPerToken * HeadsPerItem;   // first query head of the item
            if (Tokens is not null) t = Tokens[t];
            int seq = Sequences[t], length = Positions[t] + 1;
            int elementBytes = Kv.Half ? sizeof(ushort) : sizeof(float);
            int kvHead = h0 / Group;
            int* pages = Kv.Tables + (long)seq * Kv.TableStride;
            int shift = Kv.PageShift, pageSize = 1 << shift, mask = pageSize - 1;
            long keyOffset = (long)kvHead * KeyDim * elementBytes, valueOffset = (long)kvHead * ValueDim * elementBytes; // this KV head's columns
            long keyRowBytes = (long)Kv.KeyStride * elementBytes, valueRowBytes = (long)Kv.ValueStride * elementBytes;
            float* q = Q + (long)t * NHead * KeyDim + h0 * KeyDim;          // the item's heads are adjacent: [heads, Dk]
            float* o = Output + (long)t * NHead * ValueDim + h0 * ValueDim; // [heads, Dv]
            int heads = HeadsPerItem;

            float* scores = stackalloc float[heads * BlockPositions];    // [heads, block]
            float* max = stackalloc float[heads];
            double* sum = stackalloc double[heads];
            new Span<float>(o, heads * ValueDim).Clear();
            for (int h = 0; h < heads; h++)
            {
                max[h] = float.NegativeInfinity;
                sum[h] = 0.0;
            }
            for (int j0 = 0; j0 < length; j0 += BlockPositions)
            {
                int nb = Math.Min(BlockPositions, length - j0);
                // A block spans whole runs of rows within pages; each run is scored where it lies.
                for (int j = 0; j < nb;)
                {
                    int pos = j0 + j, run = Math.Min(nb - j, pageSize - (pos & mask));
                    byte* rows = Kv.Keys + pages[pos >> shift] * Kv.PageBytes + (pos & mask) * keyRowBytes + keyOffset;
                    AttentionKernels.Scores(rows, Kv.Half, Kv.KeyStride, run, q, heads, KeyDim, Scale, scores + j, BlockPositions);
                    j += run;
                }
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
                            VectorOps.ScaleInPlace(new Span<float>(o + h * ValueDim, ValueDim), rescale);
                        }
                        max[h] = blockMax;
                    }
                    TensorPrimitives.Subtract(s, max[h], s);
                    TensorPrimitives.Exp(s, s);
                    sum[h] += TensorPrimitives.Sum(s);
                }
                // Values accumulate term by term into o, so splitting the block into runs changes no rounding.
                for (int j = 0; j < nb;)
                {
                    int pos = j0 + j, run = Math.Min(nb - j, pageSize - (pos & mask));
                    byte* rows = Kv.Values + pages[pos >> shift] * Kv.PageBytes + (pos & mask) * valueRowBytes + valueOffset;
                    AttentionKernels.AccumulateValues(rows, Kv.Half, Kv.ValueStride, run, scores + j, BlockPositions, heads, ValueDim, o);
                    j += run;
                }
            }
            for (int h = 0; h < heads; h++)
            {
                VectorOps.ScaleInPlace(new Span<float>(o + h * ValueDim, ValueDim), (float)(1.0 / sum[h]));
            }
        }
    }
}

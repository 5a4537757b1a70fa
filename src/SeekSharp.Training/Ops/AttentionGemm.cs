using System.Diagnostics;
using System.Numerics.Tensors;
using SeekSharp.Kernels;
using SeekSharp.Kernels.Threading;

namespace SeekSharp.Training.Ops;

/// <summary>
/// The same causal grouped-query attention as <see cref="Attention"/>, computed per (sequence, head) as dense matrix
/// products through <see cref="Gemm.Multiply"/>: S = Q·Kᵀ, P = softmax(S) with the causal mask, O = P·V, and in the
/// backward dP = dO·Vᵀ, dV += Pᵀ·dO, dS = P ⊙ (dP − rowsum(P ⊙ dP)), dQ = dS·K, dK += dSᵀ·Q.
/// Glossary: B sequences, T positions, H query heads, Hkv key/value heads, Dh head width.
/// </summary>
/// <remarks>
/// The per-pair dot products of <see cref="Attention"/> run at a fraction of a matrix kernel's speed on short heads;
/// here the heads are first copied into dense [T, Dh] tiles so the work becomes GEMMs, at the price of computing the
/// masked upper triangle too. Work items are (sequence, key/value head) as in <see cref="Attention"/> (so results do
/// not depend on the thread count); the GEMMs inside an item run on that item's thread. <see cref="Attention"/> stays
/// as the reference this path is tested against.
/// </remarks>
internal static unsafe class AttentionGemm
{
    // The products inside a work item run on the item's own thread: the parallelism is across items.
    private static readonly WorkerPool Inline = new(1);

    /// <summary>Scratch floats per (sequence, key/value head) item: one [T, T] score-gradient tile and six [T, Dh] head tiles.</summary>
    public static long ScratchPerItem(int seqLen, int headDim) => (long)seqLen * seqLen + 6L * seqLen * headDim;

    /// <summary>As <see cref="Attention.Forward"/>; <paramref name="scratch"/> holds B·Hkv × <see cref="ScratchPerItem"/> floats.</summary>
    public static void Forward(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> att, Span<float> output,
        int batch, int seqLen, int heads, int kvHeads, int headDim, int qStride, int kvStride, Span<float> scratch, WorkerPool pool)
    {
        Debug.Assert(heads % kvHeads == 0 && scratch.Length >= batch * kvHeads * ScratchPerItem(seqLen, headDim));
        fixed (float* qp = q, kp = k, vp = v, ap = att, op = output, sp = scratch)
        {
            var work = new Work(qp, kp, vp, ap, op, null, null, null, null, sp, seqLen, heads, kvHeads, headDim, qStride, kvStride);
            pool.For(batch * kvHeads, ref work);
        }
    }

    /// <summary>As <see cref="Attention.Backward"/>; <paramref name="scratch"/> as in <see cref="Forward"/>.</summary>
    public static void Backward(ReadOnlySpan<float> dout, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        ReadOnlySpan<float> att, Span<float> dq, Span<float> dk, Span<float> dv,
        int batch, int seqLen, int heads, int kvHeads, int headDim, int qStride, int kvStride, Span<float> scratch, WorkerPool pool)
    {
        Debug.Assert(heads % kvHeads == 0 && scratch.Length >= batch * kvHeads * ScratchPerItem(seqLen, headDim));
        fixed (float* qp = q, kp = k, vp = v, ap = att, dop = dout, dqp = dq, dkp = dk, dvp = dv, sp = scratch)
        {
            var work = new Work(qp, kp, vp, ap, null, dop, dqp, dkp, dvp, sp, seqLen, heads, kvHeads, headDim, qStride, kvStride);
            pool.For(batch * kvHeads, ref work);
        }
    }

    private readonly struct Work(float* q, float* k, float* v, float* att, float* output, float* dout, float* dq, float* dk, float* dv,
        float* scratch, int seqLen, int heads, int kvHeads, int headDim, int qStride, int kvStride) : IParallelWork
    {
        private readonly float* _q = q, _k = k, _v = v, _att = att, _out = output, _dout = dout, _dq = dq, _dk = dk, _dv = dv, _scratch = scratch;
        private readonly int _seqLen = seqLen, _heads = heads, _kvHeads = kvHeads, _headDim = headDim, _qStride = qStride, _kvStride = kvStride;

        public void Run(int item)
        {
            int b = item / _kvHeads, kvh = item % _kvHeads, group = _heads / _kvHeads, t = _seqLen, dh = _headDim;
            long tile = (long)t * dh;
            float* s = _scratch + item * AttentionGemm.ScratchPerItem(t, dh);
            var dS = new Span<float>(s, t * t);                 // [T, T]
            var kh = new Span<float>(s + (long)t * t, t * dh);    // [T, Dh] dense key tile
            var vh = new Span<float>(s + (long)t * t + tile, t * dh);
            var qh = new Span<float>(s + (long)t * t + 2 * tile, t * dh);
            var oh = new Span<float>(s + (long)t * t + 3 * tile, t * dh); // output (forward) or dO (backward)
            var dkh = new Span<float>(s + (long)t * t + 4 * tile, t * dh);
            var dvh = new Span<float>(s + (long)t * t + 5 * tile, t * dh);
            long kvBase = (long)b * t * _kvStride + kvh * dh;
            Gather(_k + kvBase, _kvStride, kh, t, dh);
            Gather(_v + kvBase, _kvStride, vh, t, dh);
            float scale = 1f / MathF.Sqrt(dh);
            int oStride = _heads * dh;
            if (_dout == null)
            {
                for (int h = kvh * group; h < (kvh + 1) * group; h++)
                {
                    Gather(_q + (long)b * t * _qStride + h * dh, _qStride, qh, t, dh);
                    var p = new Span<float>(_att + ((long)b * _heads + h) * t * t, t * t);
                    Gemm.Multiply(qh, kh, p, t, dh, t, transposeB: true, pool: Inline);
                    for (int i = 0; i < t; i++)
                    {
                        var row = p.Slice(i * t, t);
                        var live = row[..(i + 1)];
                        TensorPrimitives.Multiply(live, scale, live);
                        float max = TensorPrimitives.Max(live);
                        TensorPrimitives.Subtract(live, max, live);
                        TensorPrimitives.Exp(live, live);
                        TensorPrimitives.Multiply(live, 1f / TensorPrimitives.Sum(live), live);
                        row[(i + 1)..].Clear(); // the causal mask, so P·V can be one dense product
                    }
                    Gemm.Multiply(p, vh, oh, t, t, dh, pool: Inline);
                    Scatter(oh, _out + (long)b * t * oStride + h * dh, oStride, t, dh, accumulate: false);
                }
                return;
            }

            dkh.Clear();
            dvh.Clear();
            for (int h = kvh * group; h < (kvh + 1) * group; h++)
            {
                Gather(_q + (long)b * t * _qStride + h * dh, _qStride, qh, t, dh);
                Gather(_dout + (long)b * t * oStride + h * dh, oStride, oh, t, dh);
                var p = new ReadOnlySpan<float>(_att + ((long)b * _heads + h) * t * t, t * t);
                Gemm.Multiply(oh, vh, dS, t, dh, t, transposeB: true, pool: Inline);                        // dP = dO · Vᵀ
                Gemm.Multiply(p, oh, dvh, t, t, dh, transposeA: true, accumulate: true, pool: Inline);     // dV += Pᵀ · dO
                for (int i = 0; i < t; i++)
                {
                    var pr = p.Slice(i * t, i + 1);
                    var dr = dS.Slice(i * t, t);
                    float pdp = TensorPrimitives.Dot(pr, dr[..(i + 1)]);
                    TensorPrimitives.Subtract(dr[..(i + 1)], pdp, dr[..(i + 1)]);
                    TensorPrimitives.Multiply(dr[..(i + 1)], pr, dr[..(i + 1)]);
                    TensorPrimitives.Multiply(dr[..(i + 1)], scale, dr[..(i + 1)]);
                    dr[(i + 1)..].Clear();
                }
                Gemm.Multiply(dS, kh, oh, t, t, dh, pool: Inline);                                          // dQ = dS · K (reuses the dO tile)
                Scatter(oh, _dq + (long)b * t * _qStride + h * dh, _qStride, t, dh, accumulate: true);
                Gemm.Multiply(dS, qh, dkh, t, t, dh, transposeA: true, accumulate: true, pool: Inline);    // dK += dSᵀ · Q
            }
            Scatter(dkh, _dk + kvBase, _kvStride, t, dh, accumulate: true);
            Scatter(dvh, _dv + kvBase, _kvStride, t, dh, accumulate: true);
        }

        private static void Gather(float* source, int stride, Span<float> tile, int rows, int width)
        {
            for (int i = 0; i < rows; i++)
                new ReadOnlySpan<float>(source + (long)i * stride, width).CopyTo(tile.Slice(i * width, width));
        }

        private static void Scatter(ReadOnlySpan<float> tile, float* destination, int stride, int rows, int width, bool accumulate)
        {
            for (int i = 0; i < rows; i++)
            {
                var d = new Span<float>(destination + (long)i * stride, width);
                if (accumulate)
                    TensorPrimitives.Add(d, tile.Slice(i * width, width), d);
                else
                    tile.Slice(i * width, width).CopyTo(d);
            }
        }
    }
}

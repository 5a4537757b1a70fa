using System.Diagnostics;
using System.Numerics.Tensors;
using SeekSharp.Kernels;
using SeekSharp.Kernels.Threading;

namespace SeekSharp.Training.Backward;

/// <summary>
/// The same causal grouped-query attention as <see cref="Attention"/>, computed per (sequence, head) as dense matrix
/// products through <see cref="Gemm.Multiply"/>: S = Q·Kᵀ, P = softmax(S) with the causal mask, O = P·V, and in the
/// backward dP = dO·Vᵀ, dV += Pᵀ·dO, dS = P ⊙ (dP − rowsum(P ⊙ dP)), dQ = dS·K, dK += dSᵀ·Q.
/// Glossary: B sequences, T positions, H query heads, Hkv key/value heads, Dh head width.
/// </summary>
/// <remarks>
/// The per-pair dot products of <see cref="Attention"/> run at a fraction of a matrix kernel's speed on short heads;
/// here the heads are first copied into dense [T, Dh] tiles so the work becomes GEMMs. Queries go in blocks of
/// <see cref="QueryBlock"/> rows against the keys up to each block's last row, so only the diagonal blocks pay for
/// masked entries (computed, then zeroed). Work items are (sequence, key/value head) as in <see cref="Attention"/> (so results do
/// not depend on the thread count); the GEMMs inside an item run on that item's thread. <see cref="Attention"/> stays
/// as the reference this path is tested against.
/// </remarks>
internal static unsafe class AttentionGemm
{
    // The products inside a work item run on the item's own thread: the parallelism is across items.
    private static readonly WorkerPool Inline = new(1);

    // Query rows per block. Block i only needs keys 0 .. its last row, so the products skip the masked upper triangle
    // except inside the diagonal blocks: at T = 256, four blocks do 10/16 of the dense work.
    internal const int QueryBlock = 64;

    /// <summary>
    /// Scratch floats per (sequence, key/value head) item: two [QueryBlock, T] blocks (scores or their gradient, and a
    /// dense copy of P's block for the backward) and six [T, Dh] head tiles.
    /// </summary>
    public static long ScratchPerItem(int seqLen, int headDim) => 2L * Math.Min(QueryBlock, seqLen) * seqLen + 6L * seqLen * headDim;

    /// <summary>As <see cref="Attention.Forward"/>; <paramref name="scratch"/> holds B·Hkv × <see cref="ScratchPerItem"/> floats.</summary>
    public static void Forward(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> att, Span<float> output,
        int batch, int seqLen, int heads, int kvHeads, int headDim, int qStride, int kvStride, Span<float> scratch, WorkerPool pool)
    {
        Debug.Assert(heads % kvHeads == 0 && scratch.Length >= batch * kvHeads * ScratchPerItem(seqLen, headDim));
        fixed (float* qp = q, kp = k, vp = v, ap = att, op = output, sp = scratch)
        {
            var work = new Work(qp, kp, vp, ap, op, null, null, null, null, sp, seqLen, heads, kvHeads, headDim, qStride, kvStride, default);
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
            var work = new Work(qp, kp, vp, ap, null, dop, dqp, dkp, dvp, sp, seqLen, heads, kvHeads, headDim, qStride, kvStride,
                BackwardMutation.Current); // read on the calling thread
            pool.For(batch * kvHeads, ref work);
        }
    }

    private readonly struct Work(float* q, float* k, float* v, float* att, float* output, float* dout, float* dq, float* dk, float* dv,
        float* scratch, int seqLen, int heads, int kvHeads, int headDim, int qStride, int kvStride, BackwardMutation.Snapshot mutation) : IParallelWork
    {
        private readonly float* _q = q, _k = k, _v = v, _att = att, _out = output, _dout = dout, _dq = dq, _dk = dk, _dv = dv, _scratch = scratch;
        private readonly int _seqLen = seqLen, _heads = heads, _kvHeads = kvHeads, _headDim = headDim, _qStride = qStride, _kvStride = kvStride;
        private readonly BackwardMutation.Snapshot _mutation = mutation;

        public void Run(int item)
        {
            int b = item / _kvHeads, kvh = item % _kvHeads, group = _heads / _kvHeads, t = _seqLen, dh = _headDim;
            long tile = (long)t * dh;
            float* s = _scratch + item * AttentionGemm.ScratchPerItem(t, dh);
            long blockFloats = (long)Math.Min(QueryBlock, t) * t;
            var block = new Span<float>(s, (int)blockFloats);                 // [rows, i1] scores, P or dP of one query block
            var pBlock = new Span<float>(s + blockFloats, (int)blockFloats);  // [rows, i1] dense copy of P's block (backward)
            float* tiles = s + 2 * blockFloats;
            var kh = new Span<float>(tiles, t * dh);                // [T, Dh] dense key tile
            var vh = new Span<float>(tiles + tile, t * dh);
            var qh = new Span<float>(tiles + 2 * tile, t * dh);
            var oh = new Span<float>(tiles + 3 * tile, t * dh);     // output (forward) or dO, then dQ (backward)
            var dkh = new Span<float>(tiles + 4 * tile, t * dh);
            var dvh = new Span<float>(tiles + 5 * tile, t * dh);
            long kvBase = (long)b * t * _kvStride + kvh * dh;
            Gather(_k + kvBase, _kvStride, kh, t, dh);
            Gather(_v + kvBase, _kvStride, vh, t, dh);
            float scale = 1f / MathF.Sqrt(dh);
            int oStride = _heads * dh;
            if (_dout == null)
            {
                for (int h = kvh * group; h < (kvh + 1) * group; h++)
                {
                    // q arrives scaled by 1/√Dh, so the scores come out of the product ready for the softmax.
                    Gather(_q + (long)b * t * _qStride + h * dh, _qStride, qh, t, dh, scale);
                    var p = new Span<float>(_att + ((long)b * _heads + h) * t * t, t * t);
                    for (int i0 = 0; i0 < t; i0 += QueryBlock)
                    {
                        int rows = Math.Min(QueryBlock, t - i0), i1 = i0 + rows; // query rows [i0, i1) see keys [0, i1)
                        var sb = block[..(rows * i1)];
                        Gemm.Multiply(qh.Slice(i0 * dh, rows * dh), kh[..(i1 * dh)], sb, rows, dh, i1, transposeB: true, pool: Inline);
                        for (int r = 0; r < rows; r++)
                        {
                            int i = i0 + r;
                            var row = sb.Slice(r * i1, i1);
                            VectorOps.SoftmaxInPlace(row[..(i + 1)]);
                            row[(i + 1)..].Clear(); // the causal mask inside the diagonal block, so P·V can be one dense product
                            row.CopyTo(p.Slice(i * t, i1));
                            p.Slice(i * t + i1, t - i1).Clear();
                        }
                        Gemm.Multiply(sb, vh[..(i1 * dh)], oh.Slice(i0 * dh, rows * dh), rows, i1, dh, pool: Inline);
                    }
                    Scatter(oh, _out + (long)b * t * oStride + h * dh, oStride, t, dh, accumulate: false);
                }
                return;
            }

            dkh.Clear();
            dvh.Clear();
            float kScores = _mutation.Of(BackwardTerm.AttentionScores), kSoftmax = _mutation.Of(BackwardTerm.AttentionSoftmax); // 1 unless a test mutates a term
            for (int h = kvh * group; h < (kvh + 1) * group; h++)
            {
                Gather(_q + (long)b * t * _qStride + h * dh, _qStride, qh, t, dh);
                Gather(_dout + (long)b * t * oStride + h * dh, oStride, oh, t, dh);
                var p = new ReadOnlySpan<float>(_att + ((long)b * _heads + h) * t * t, t * t);
                for (int i0 = 0; i0 < t; i0 += QueryBlock)
                {
                    int rows = Math.Min(QueryBlock, t - i0), i1 = i0 + rows;
                    var dS = block[..(rows * i1)];
                    var pb = pBlock[..(rows * i1)];
                    for (int r = 0; r < rows; r++)
                        p.Slice((i0 + r) * t, i1).CopyTo(pb.Slice(r * i1, i1));
                    var doBlock = oh.Slice(i0 * dh, rows * dh);
                    Gemm.Multiply(doBlock, vh[..(i1 * dh)], dS, rows, dh, i1, transposeB: true, pool: Inline);                 // dP = dO · Vᵀ
                    Gemm.Multiply(pb, doBlock, dvh[..(i1 * dh)], i1, rows, dh, transposeA: true, accumulate: true, pool: Inline); // dV += Pᵀ · dO
                    for (int r = 0; r < rows; r++)
                    {
                        int i = i0 + r;
                        var pr = pb.Slice(r * i1, i + 1);
                        var dr = dS.Slice(r * i1, i1);
                        var live = dr[..(i + 1)];
                        float pdp = TensorPrimitives.Dot(pr, live) * kSoftmax;
                        if (kScores != 1f) TensorPrimitives.Multiply(live, kScores, live);
                        TensorPrimitives.AddMultiply(live, -pdp, pr, live); // (dP − rowsum(P ⊙ dP)) ⊙ P; the 1/√Dh is applied when dQ and dK are written
                        dr[(i + 1)..].Clear();
                    }
                    // dQ = dS · K overwrites this block's dO rows, which nothing reads again.
                    Gemm.Multiply(dS, kh[..(i1 * dh)], doBlock, rows, i1, dh, pool: Inline);
                    Gemm.Multiply(dS, qh.Slice(i0 * dh, rows * dh), dkh[..(i1 * dh)], i1, rows, dh, transposeA: true, accumulate: true, pool: Inline); // dK += dSᵀ · Q
                }
                Scatter(oh, _dq + (long)b * t * _qStride + h * dh, _qStride, t, dh, accumulate: true, scale * _mutation.Of(BackwardTerm.AttentionQueries));
            }
            Scatter(dkh, _dk + kvBase, _kvStride, t, dh, accumulate: true, scale * _mutation.Of(BackwardTerm.AttentionKeys));
            Scatter(dvh, _dv + kvBase, _kvStride, t, dh, accumulate: true, _mutation.Of(BackwardTerm.AttentionValues));
        }

        private static void Gather(float* source, int stride, Span<float> tile, int rows, int width, float scale = 1f)
        {
            for (int i = 0; i < rows; i++)
            {
                var src = new ReadOnlySpan<float>(source + (long)i * stride, width);
                if (scale == 1f)
                    src.CopyTo(tile.Slice(i * width, width));
                else
                    TensorPrimitives.Multiply(src, scale, tile.Slice(i * width, width));
            }
        }

        // destination (+)= scale · tile, row by row.
        private static void Scatter(ReadOnlySpan<float> tile, float* destination, int stride, int rows, int width, bool accumulate, float scale = 1f)
        {
            for (int i = 0; i < rows; i++)
            {
                var d = new Span<float>(destination + (long)i * stride, width);
                var src = tile.Slice(i * width, width);
                if (accumulate && scale != 1f)
                    TensorPrimitives.MultiplyAdd(src, scale, d, d);
                else if (accumulate)
                    TensorPrimitives.Add(d, src, d);
                else
                    src.CopyTo(d);
            }
        }
    }
}

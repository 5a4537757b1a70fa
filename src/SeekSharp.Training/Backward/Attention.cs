using System.Diagnostics;
using System.Numerics.Tensors;
using SeekSharp.Kernels.Threading;

namespace SeekSharp.Training.Backward;

/// <summary>
/// Causal grouped-query self-attention within each sequence of a batch: query head h reads key/value head
/// h / (H / Hkv), and position t attends to positions 0..t. The softmax probabilities are kept for the backward.
/// Glossary: B sequences, T positions, H query heads, Hkv key/value heads, Dh head width.
/// </summary>
/// <remarks>
/// Work is split over (sequence, key/value head): one item owns the query heads of its group and the key/value rows
/// they read, so every gradient element is written by exactly one item in a fixed order, and results do not depend
/// on the thread count or on scheduling.
/// </remarks>
internal static unsafe class Attention
{
    /// <summary>Most positions per sequence: the backward keeps one row of score gradients on the stack.</summary>
    public const int MaxSeqLen = 8192;

    /// <summary>att[B, H, T, T] = softmax(q·kᵀ/√Dh) (causal; entries above the diagonal are left untouched) and out[B·T, H·Dh] = att · v.</summary>
    /// <param name="q">[B·T, H·Dh] rotated queries, rows <paramref name="qStride"/> floats apart.</param>
    /// <param name="k">[B·T, Hkv·Dh] rotated keys, rows <paramref name="kvStride"/> floats apart.</param>
    /// <param name="v">[B·T, Hkv·Dh] values, rows <paramref name="kvStride"/> floats apart.</param>
    /// <param name="att">[B, H, T, T] probabilities (output).</param>
    /// <param name="output">[B·T, H·Dh], dense.</param>
    /// <param name="qStride">Row stride of q (and of dq in the backward): q, k and v may be column blocks of one fused [B·T, (H + 2·Hkv)·Dh] projection.</param>
    /// <param name="kvStride">Row stride of k and v (and of dk, dv).</param>
    public static void Forward(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> att, Span<float> output,
        int batch, int seqLen, int heads, int kvHeads, int headDim, int qStride, int kvStride, WorkerPool pool)
    {
        Debug.Assert(seqLen <= MaxSeqLen && heads % kvHeads == 0);
        Debug.Assert(q.Length >= (batch * seqLen - 1) * qStride + heads * headDim && k.Length >= (batch * seqLen - 1) * kvStride + kvHeads * headDim);
        fixed (float* qp = q, kp = k, vp = v, ap = att, op = output)
        {
            var work = new Work(qp, kp, vp, ap, op, null, null, null, null, seqLen, heads, kvHeads, headDim, qStride, kvStride, default);
            pool.For(batch * kvHeads, ref work);
        }
    }

    /// <summary>dq += ∂L/∂q, dk += ∂L/∂k, dv += ∂L/∂v from dout[B·T, H·Dh].</summary>
    /// <remarks>Softmax backward: with p the probabilities and dp = dout·vᵀ, the score gradient is p ⊙ (dp − Σ p ⊙ dp).</remarks>
    public static void Backward(ReadOnlySpan<float> dout, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        ReadOnlySpan<float> att, Span<float> dq, Span<float> dk, Span<float> dv,
        int batch, int seqLen, int heads, int kvHeads, int headDim, int qStride, int kvStride, WorkerPool pool)
    {
        Debug.Assert(seqLen <= MaxSeqLen && heads % kvHeads == 0);
        fixed (float* qp = q, kp = k, vp = v, ap = att, dop = dout, dqp = dq, dkp = dk, dvp = dv)
        {
            var work = new Work(qp, kp, vp, ap, null, dop, dqp, dkp, dvp, seqLen, heads, kvHeads, headDim, qStride, kvStride,
                BackwardMutation.Current); // read on the calling thread
            pool.For(batch * kvHeads, ref work);
        }
    }

    /// <summary>One (sequence, key/value head) item, forward when <c>DOut</c> is null, else backward.</summary>
    private readonly struct Work(float* q, float* k, float* v, float* att, float* output,
        float* dout, float* dq, float* dk, float* dv, int seqLen, int heads, int kvHeads, int headDim, int qStride, int kvStride,
        BackwardMutation.Snapshot mutation) : IParallelWork
    {
        private readonly float* _q = q, _k = k, _v = v, _att = att, _out = output, _dout = dout, _dq = dq, _dk = dk, _dv = dv;
        private readonly int _seqLen = seqLen, _heads = heads, _kvHeads = kvHeads, _headDim = headDim, _qStride = qStride, _kvStride = kvStride;
        private readonly BackwardMutation.Snapshot _mutation = mutation;

        public void Run(int item)
        {
            int b = item / _kvHeads, kvh = item % _kvHeads, group = _heads / _kvHeads;
            for (int h = kvh * group; h < (kvh + 1) * group; h++)
            {
                if (_dout == null)
                    ForwardHead(b, h, kvh);
                else
                    BackwardHead(b, h, kvh);
            }
        }

        private void ForwardHead(int b, int h, int kvh)
        {
            int t = _seqLen, dh = _headDim, qStride = _qStride, kvStride = _kvStride, oStride = _heads * dh;
            float scale = 1f / MathF.Sqrt(dh);
            float* q0 = _q + (long)b * t * qStride + h * dh;
            float* k0 = _k + (long)b * t * kvStride + kvh * dh;
            float* v0 = _v + (long)b * t * kvStride + kvh * dh;
            float* o0 = _out + (long)b * t * oStride + h * dh;
            float* a0 = _att + ((long)b * _heads + h) * t * t;
            for (int i = 0; i < t; i++)
            {
                var query = new ReadOnlySpan<float>(q0 + (long)i * qStride, dh);
                var p = new Span<float>(a0 + (long)i * t, i + 1);
                for (int j = 0; j <= i; j++)
                    p[j] = TensorPrimitives.Dot(query, new ReadOnlySpan<float>(k0 + (long)j * kvStride, dh)) * scale;
                float max = TensorPrimitives.Max(p);
                float sum = 0f;
                for (int j = 0; j <= i; j++)
                {
                    float e = MathF.Exp(p[j] - max);
                    p[j] = e;
                    sum += e;
                }
                float inv = 1f / sum;
                var o = new Span<float>(o0 + (long)i * oStride, dh);
                o.Clear();
                for (int j = 0; j <= i; j++)
                {
                    p[j] *= inv;
                    TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(v0 + (long)j * kvStride, dh), p[j], o, o);
                }
            }
        }

        private void BackwardHead(int b, int h, int kvh)
        {
            int t = _seqLen, dh = _headDim, qStride = _qStride, kvStride = _kvStride, oStride = _heads * dh;
            float scale = 1f / MathF.Sqrt(dh);
            long qBase = (long)b * t * qStride + h * dh, kvBase = (long)b * t * kvStride + kvh * dh, oBase = (long)b * t * oStride + h * dh;
            float* a0 = _att + ((long)b * _heads + h) * t * t;
            Span<float> dScores = stackalloc float[t];
            // Every factor is 1 unless a test mutates a term.
            float kScores = _mutation.Of(BackwardTerm.AttentionScores), kSoftmax = _mutation.Of(BackwardTerm.AttentionSoftmax);
            float kValues = _mutation.Of(BackwardTerm.AttentionValues);
            float qScale = scale * _mutation.Of(BackwardTerm.AttentionQueries), kScale = scale * _mutation.Of(BackwardTerm.AttentionKeys);
            for (int i = 0; i < t; i++)
            {
                var p = new ReadOnlySpan<float>(a0 + (long)i * t, i + 1);
                var dOut = new ReadOnlySpan<float>(_dout + oBase + (long)i * oStride, dh);
                var query = new ReadOnlySpan<float>(_q + qBase + (long)i * qStride, dh);
                var dQuery = new Span<float>(_dq + qBase + (long)i * qStride, dh);
                var ds = dScores[..(i + 1)];
                float pdp = 0f;
                for (int j = 0; j <= i; j++)
                {
                    long row = kvBase + (long)j * kvStride;
                    ds[j] = TensorPrimitives.Dot(dOut, new ReadOnlySpan<float>(_v + row, dh));
                    pdp += p[j] * ds[j];
                    var dValue = new Span<float>(_dv + row, dh);
                    TensorPrimitives.MultiplyAdd(dOut, p[j] * kValues, dValue, dValue);
                }
                pdp *= kSoftmax;
                if (kScores != 1f) TensorPrimitives.Multiply(ds, kScores, ds);
                for (int j = 0; j <= i; j++)
                {
                    long row = kvBase + (long)j * kvStride;
                    float g = p[j] * (ds[j] - pdp);
                    var key = new ReadOnlySpan<float>(_k + row, dh);
                    var dKey = new Span<float>(_dk + row, dh);
                    TensorPrimitives.MultiplyAdd(key, g * qScale, dQuery, dQuery);
                    TensorPrimitives.MultiplyAdd(query, g * kScale, dKey, dKey);
                }
            }
        }
    }
}

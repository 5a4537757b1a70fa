using System.Diagnostics;
using System.Numerics.Tensors;
using SeekSharp.Kernels.Threading;

namespace SeekSharp.Training.Backward;

/// <summary>
/// Log-probabilities of target tokens under the softmax of the logits divided by a temperature τ:
/// <c>logp[n] = s·logits[n, target[n]] − logsumexp(s·logits[n])</c> with s = 1/τ (1 for training by cross-entropy;
/// GRPO scores its samples at the temperature that drew them, so the ratio π/π_old is of the sampling policy).
/// Cross-entropy is their negative; the model turns per-token weights into a loss on top of this op, so SFT masks and
/// GRPO advantages share one backward. Glossary: N rows, V vocabulary.
/// </summary>
/// <remarks>
/// N·V exponentials each way make this the largest elementwise cost of a step, so rows are spread over the pool
/// (each row is independent, so the result does not depend on the thread count) and exponentials are vectorised
/// through a small stack chunk.
/// </remarks>
internal static unsafe class CrossEntropy
{
    private const int Chunk = 256; // floats of stack scratch per row pass

    /// <summary>logProbs[N] of the targets, and the saved logSumExp[N] of each row of s·logits[N, V].</summary>
    /// <remarks>Stable: the row maximum is subtracted before exponentiating; chunk sums are added in double.</remarks>
    public static void Forward(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, Span<float> logSumExp, Span<float> logProbs,
        int vocab, WorkerPool pool, float scale = 1f)
    {
        Debug.Assert(logits.Length >= targets.Length * vocab && logSumExp.Length >= targets.Length && logProbs.Length >= targets.Length);
        fixed (float* lp = logits, lse = logSumExp, lpr = logProbs)
        fixed (int* tp = targets)
        {
            var work = new Rows(lp, tp, lse, lpr, null, null, vocab, default, scale);
            pool.For(targets.Length, ref work);
        }
    }

    /// <summary>dlogits[N, V] += dLogProbs[n] · s · (onehot(target[n]) − softmax(s·logits[n])), s the forward's scale.</summary>
    /// <remarks>Rows whose gradient is zero (masked tokens) are skipped: they add nothing.</remarks>
    public static void Backward(ReadOnlySpan<float> dLogProbs, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets,
        ReadOnlySpan<float> logSumExp, Span<float> dlogits, int vocab, WorkerPool pool, float scale = 1f)
    {
        Debug.Assert(logits.Length >= targets.Length * vocab && dlogits.Length >= targets.Length * vocab);
        fixed (float* lp = logits, lse = logSumExp, dlp = dLogProbs, dl = dlogits)
        fixed (int* tp = targets)
        {
            var work = new Rows(lp, tp, lse, null, dlp, dl, vocab, BackwardMutation.Current, scale); // read on the calling thread
            pool.For(targets.Length, ref work);
        }
    }

    /// <summary>One row, forward when <c>_dLogProbs</c> is null, else backward.</summary>
    private readonly struct Rows(float* logits, int* targets, float* logSumExp, float* logProbs, float* dLogProbs, float* dlogits, int vocab,
        BackwardMutation.Snapshot mutation, float scale) : IParallelWork
    {
        private readonly float _scale = scale;
        private readonly BackwardMutation.Snapshot _mutation = mutation;
        private readonly float* _logits = logits, _lse = logSumExp, _logProbs = logProbs, _dLogProbs = dLogProbs, _dlogits = dlogits;
        private readonly int* _targets = targets;
        private readonly int _vocab = vocab;

        public void Run(int n)
        {
            var row = new ReadOnlySpan<float>(_logits + (long)n * _vocab, _vocab);
            Span<float> tmp = stackalloc float[Chunk];
            if (_dLogProbs == null)
            {
                float max = TensorPrimitives.Max(row);
                double sum = 0.0;
                for (int i = 0; i < _vocab; i += Chunk)
                {
                    var t = tmp[..Math.Min(Chunk, _vocab - i)];
                    TensorPrimitives.Subtract(row.Slice(i, t.Length), max, t);
                    if (_scale != 1f) TensorPrimitives.Multiply(t, _scale, t);
                    TensorPrimitives.Exp(t, t);
                    sum += TensorPrimitives.Sum(t);
                }
                // s > 0, so s·max is the maximum of the scaled row.
                float lse = _scale * max + (float)Math.Log(sum);
                _lse[n] = lse;
                _logProbs[n] = _scale * row[_targets[n]] - lse;
                return;
            }

            float g = _dLogProbs[n] * _scale;   // d(s·logit)/d(logit) = s
            if (g == 0f) return;
            var drow = new Span<float>(_dlogits + (long)n * _vocab, _vocab);
            float l = _lse[n];
            float gs = g * _mutation.Of(BackwardTerm.CrossEntropySoftmax); // g unless a test mutates the term
            for (int i = 0; i < _vocab; i += Chunk)
            {
                var t = tmp[..Math.Min(Chunk, _vocab - i)];
                var d = drow.Slice(i, t.Length);
                if (_scale != 1f)
                {
                    TensorPrimitives.Multiply(row.Slice(i, t.Length), _scale, t);
                    TensorPrimitives.Subtract(t, l, t);
                }
                else TensorPrimitives.Subtract(row.Slice(i, t.Length), l, t);
                TensorPrimitives.Exp(t, t);                  // softmax
                TensorPrimitives.MultiplyAdd(t, -gs, d, d);  // d −= g · softmax
            }
            drow[_targets[n]] += g * _mutation.Of(BackwardTerm.CrossEntropyTarget);
        }
    }
}

using System.Diagnostics;
using System.Numerics.Tensors;
using SeekSharp.Kernels.Threading;

namespace SeekSharp.Training.Ops;

/// <summary>
/// Log-probabilities of target tokens under the softmax of the logits: <c>logp[n] = logits[n, target[n]] − logsumexp(logits[n])</c>.
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

    /// <summary>logProbs[N] of the targets, and the saved logSumExp[N] of each row of logits[N, V].</summary>
    /// <remarks>Stable: the row maximum is subtracted before exponentiating; chunk sums are added in double.</remarks>
    public static void Forward(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, Span<float> logSumExp, Span<float> logProbs,
        int vocab, WorkerPool pool)
    {
        Debug.Assert(logits.Length >= targets.Length * vocab && logSumExp.Length >= targets.Length && logProbs.Length >= targets.Length);
        fixed (float* lp = logits, lse = logSumExp, lpr = logProbs)
        fixed (int* tp = targets)
        {
            var work = new Rows(lp, tp, lse, lpr, null, null, vocab);
            pool.For(targets.Length, ref work);
        }
    }

    /// <summary>dlogits[N, V] += dLogProbs[n] · (onehot(target[n]) − softmax(logits[n])).</summary>
    /// <remarks>Rows whose gradient is zero (masked tokens) are skipped: they add nothing.</remarks>
    public static void Backward(ReadOnlySpan<float> dLogProbs, ReadOnlySpan<float> logits, ReadOnlySpan<int> targets,
        ReadOnlySpan<float> logSumExp, Span<float> dlogits, int vocab, WorkerPool pool)
    {
        Debug.Assert(logits.Length >= targets.Length * vocab && dlogits.Length >= targets.Length * vocab);
        fixed (float* lp = logits, lse = logSumExp, dlp = dLogProbs, dl = dlogits)
        fixed (int* tp = targets)
        {
            var work = new Rows(lp, tp, lse, null, dlp, dl, vocab);
            pool.For(targets.Length, ref work);
        }
    }

    /// <summary>One row, forward when <c>_dLogProbs</c> is null, else backward.</summary>
    private readonly struct Rows(float* logits, int* targets, float* logSumExp, float* logProbs, float* dLogProbs, float* dlogits, int vocab)
        : IParallelWork
    {
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
                    TensorPrimitives.Exp(t, t);
                    sum += TensorPrimitives.Sum(t);
                }
                float lse = max + (float)Math.Log(sum);
                _lse[n] = lse;
                _logProbs[n] = row[_targets[n]] - lse;
                return;
            }

            float g = _dLogProbs[n];
            if (g == 0f) return;
            var drow = new Span<float>(_dlogits + (long)n * _vocab, _vocab);
            float l = _lse[n];
            for (int i = 0; i < _vocab; i += Chunk)
            {
                var t = tmp[..Math.Min(Chunk, _vocab - i)];
                var d = drow.Slice(i, t.Length);
                TensorPrimitives.Subtract(row.Slice(i, t.Length), l, t);
                TensorPrimitives.Exp(t, t);                  // softmax
                TensorPrimitives.MultiplyAdd(t, -g, d, d);   // d −= g · softmax
            }
            drow[_targets[n]] += g;
        }
    }
}

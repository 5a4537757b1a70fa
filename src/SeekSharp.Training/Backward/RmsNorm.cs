using System.Numerics.Tensors;
using SeekSharp.Kernels.Threading;

namespace SeekSharp.Training.Backward;

/// <summary>
/// RMSNorm (Zhang and Sennrich 2019), <c>y = x · r ⊙ w</c> with <c>r = 1 / √(mean(x²) + eps)</c>, row by row.
/// Glossary: N rows, D width.
/// </summary>
/// <remarks>
/// Rows are spread over the pool. The weight gradient sums over rows, so it is split by columns instead: each work
/// item owns a block of columns and adds its rows in order, which keeps the sum independent of the thread count.
/// </remarks>
internal static unsafe class RmsNorm
{
    private const int ColumnBlock = 64; // weight-gradient columns per work item

    /// <summary>y[N, D] and the saved rstd[N] (r per row) from x[N, D] and weight[D].</summary>
    /// <remarks>The mean of squares is summed as SeekSharp's inference (and ggml) sums it: float squares into a
    /// double, in order, so an exported model's logits agree with the training forward.</remarks>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> y, Span<float> rstd, int n, WorkerPool pool)
    {
        fixed (float* xp = x, wp = weight, yp = y, rp = rstd)
        {
            var work = new Work(xp, wp, rp, yp, null, null, null, weight.Length, n, eps, default);
            pool.For(n, ref work);
        }
    }

    /// <summary>dx[N, D] += ∂L/∂x and dweight[D] += ∂L/∂w from dy[N, D].</summary>
    /// <remarks>With g = dy ⊙ w: ∂L/∂x = r·g − r³/D · x · Σ(g ⊙ x), since ∂r/∂x = −r³·x/D; ∂L/∂w = Σ_rows dy ⊙ x · r.</remarks>
    public static void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> rstd,
        Span<float> dx, Span<float> dweight, int n, WorkerPool pool)
    {
        int d = weight.Length;
        var mutation = BackwardMutation.Current; // read here, on the calling thread (see BackwardMutation)
        fixed (float* xp = x, wp = weight, rp = rstd, dyp = dy, dxp = dx, dwp = dweight)
        {
            var rows = new Work(xp, wp, rp, null, dyp, dxp, null, d, n, 0f, mutation);
            pool.For(n, ref rows);
            var columns = new Work(xp, wp, rp, null, dyp, null, dwp, d, n, 0f, mutation);
            pool.For((d + ColumnBlock - 1) / ColumnBlock, ref columns);
        }
    }

    /// <summary>Forward row (<c>_y</c> set), input-gradient row (<c>_dx</c> set) or weight-gradient column block (<c>_dweight</c> set).</summary>
    private readonly struct Work(float* x, float* weight, float* rstd, float* y, float* dy, float* dx, float* dweight, int d, int n, float eps,
        BackwardMutation.Snapshot mutation) : IParallelWork
    {
        private readonly float* _x = x, _w = weight, _rstd = rstd, _y = y, _dy = dy, _dx = dx, _dw = dweight;
        private readonly int _d = d, _n = n;
        private readonly float _eps = eps;
        private readonly BackwardMutation.Snapshot _mutation = mutation;

        public void Run(int item)
        {
            int d = _d;
            var w = new ReadOnlySpan<float>(_w, d);
            if (_dw != null)
            {
                int c0 = item * ColumnBlock, width = Math.Min(ColumnBlock, d - c0);
                var dw = new Span<float>(_dw + c0, width);
                float kw = _mutation.Of(BackwardTerm.RmsNormWeight); // 1 unless a test mutates the term
                for (int row = 0; row < _n; row++)
                {
                    float r = _rstd[row] * kw;
                    var xr = new ReadOnlySpan<float>(_x + (long)row * d + c0, width);
                    var dyr = new ReadOnlySpan<float>(_dy + (long)row * d + c0, width);
                    for (int i = 0; i < width; i++)
                        dw[i] += dyr[i] * xr[i] * r;
                }
                return;
            }

            var x = new ReadOnlySpan<float>(_x + (long)item * d, d);
            if (_y != null)
            {
                double sum = 0.0;
                foreach (float v in x)
                    sum += v * v;
                float rs = 1f / MathF.Sqrt((float)(sum / d) + _eps);
                _rstd[item] = rs;
                var y = new Span<float>(_y + (long)item * d, d);
                TensorPrimitives.Multiply(x, rs, y);
                TensorPrimitives.Multiply(y, w, y);
                return;
            }

            var dyRow = new ReadOnlySpan<float>(_dy + (long)item * d, d);
            var dxRow = new Span<float>(_dx + (long)item * d, d);
            float rr = _rstd[item];
            float dot = 0f;
            for (int i = 0; i < d; i++)
                dot += dyRow[i] * w[i] * x[i];
            float c = rr * rr * rr * dot / d * _mutation.Of(BackwardTerm.RmsNormCorrection);
            float rg = rr * _mutation.Of(BackwardTerm.RmsNormScale); // both factors 1 unless a test mutates a term
            for (int i = 0; i < d; i++)
                dxRow[i] += rg * dyRow[i] * w[i] - c * x[i];
        }
    }
}

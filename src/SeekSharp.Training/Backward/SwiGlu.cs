using System.Numerics.Tensors;
using SeekSharp.Kernels.Threading;

namespace SeekSharp.Training.Backward;

/// <summary>
/// The SwiGLU gate (Shazeer 2020), <c>h = silu(gate) ⊙ up</c>, on rows laid out as the fused gate/up projection
/// writes them: row n of gateUp[N, 2F] is gate[n] | up[n]. Glossary: N rows, F feed-forward width.
/// </summary>
/// <remarks>Rows are independent, so they are spread over the pool without affecting the result.</remarks>
internal static unsafe class SwiGlu
{
    private const int Chunk = 256; // floats of stack scratch per backward pass over a row

    /// <summary>h[N, F] = silu(gate) ⊙ up, with silu(g) = g·σ(g).</summary>
    public static void Forward(ReadOnlySpan<float> gateUp, Span<float> h, int n, int f, WorkerPool pool)
    {
        fixed (float* gu = gateUp, hp = h)
        {
            var work = new Rows(gu, hp, null, null, f, default);
            pool.For(n, ref work);
        }
    }

    /// <summary>dgateUp[N, 2F] += (dh ⊙ up ⊙ silu′(gate) | dh ⊙ silu(gate)), with silu′(g) = σ(g)·(1 + g·(1 − σ(g))).</summary>
    public static void Backward(ReadOnlySpan<float> dh, ReadOnlySpan<float> gateUp, Span<float> dgateUp, int n, int f, WorkerPool pool)
    {
        fixed (float* gu = gateUp, dhp = dh, dgu = dgateUp)
        {
            var work = new Rows(gu, null, dhp, dgu, f, BackwardMutation.Current); // read on the calling thread
            pool.For(n, ref work);
        }
    }

    /// <summary>One row; forward when <c>_dh</c> is null.</summary>
    private readonly struct Rows(float* gateUp, float* h, float* dh, float* dgateUp, int f, BackwardMutation.Snapshot mutation) : IParallelWork
    {
        private readonly float* _gateUp = gateUp, _h = h, _dh = dh, _dgateUp = dgateUp;
        private readonly int _f = f;
        private readonly BackwardMutation.Snapshot _mutation = mutation;

        public void Run(int row)
        {
            int f = _f;
            var gate = new ReadOnlySpan<float>(_gateUp + (long)row * 2 * f, f);
            var up = new ReadOnlySpan<float>(_gateUp + (long)row * 2 * f + f, f);
            if (_dh == null)
            {
                var h = new Span<float>(_h + (long)row * f, f);
                TensorPrimitives.Sigmoid(gate, h);
                TensorPrimitives.Multiply(h, gate, h);
                TensorPrimitives.Multiply(h, up, h);
                return;
            }

            var dhRow = new ReadOnlySpan<float>(_dh + (long)row * f, f);
            var dgate = new Span<float>(_dgateUp + (long)row * 2 * f, f);
            var dup = new Span<float>(_dgateUp + (long)row * 2 * f + f, f);
            Span<float> s = stackalloc float[Chunk];
            Span<float> t = stackalloc float[Chunk];
            Span<float> u = stackalloc float[Chunk];
            float kGate = _mutation.Of(BackwardTerm.SwiGluGate), kUp = _mutation.Of(BackwardTerm.SwiGluUp); // 1 unless a test mutates a term
            for (int i = 0; i < f; i += Chunk)
            {
                int len = Math.Min(Chunk, f - i);
                Span<float> si = s[..len], ti = t[..len], ui = u[..len];
                var g = gate.Slice(i, len);
                var d = dhRow.Slice(i, len);
                var dUp = dup.Slice(i, len);
                var dGate = dgate.Slice(i, len);
                TensorPrimitives.Sigmoid(g, si);
                TensorPrimitives.Multiply(g, si, ti);              // t = silu(g) = gσ
                TensorPrimitives.Subtract(1f, si, ui);             // 1 − σ
                TensorPrimitives.MultiplyAdd(ti, ui, si, ui);      // silu′(g) = σ + gσ(1 − σ)
                TensorPrimitives.Multiply(ui, up.Slice(i, len), ui);
                if (kGate != 1f) TensorPrimitives.Multiply(ui, kGate, ui);
                TensorPrimitives.MultiplyAdd(d, ui, dGate, dGate); // dgate += dh · up · silu′(g)
                if (kUp != 1f) TensorPrimitives.Multiply(ti, kUp, ti);
                TensorPrimitives.MultiplyAdd(d, ti, dUp, dUp);     // dup += dh · silu(g)
            }
        }
    }
}

using System.Numerics.Tensors;

namespace SeekSharp.Training.Ops;

/// <summary>The SwiGLU gate (Shazeer 2020), <c>h = silu(gate) ⊙ up</c>, elementwise over [N, F].</summary>
internal static class SwiGlu
{
    private const int Chunk = 256; // floats of stack scratch for σ(gate) in the backward

    /// <summary>h = silu(gate) ⊙ up, with silu(g) = g·σ(g), over the length of <paramref name="h"/>.</summary>
    public static void Forward(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> h)
    {
        gate = gate[..h.Length];
        TensorPrimitives.Sigmoid(gate, h);
        TensorPrimitives.Multiply(h, gate, h);
        TensorPrimitives.Multiply(h, up[..h.Length], h);
    }

    /// <summary>dgate += dh ⊙ up ⊙ silu′(gate), dup += dh ⊙ silu(gate), with silu′(g) = σ(g)·(1 + g·(1 − σ(g))), over the length of <paramref name="dh"/>.</summary>
    public static void Backward(ReadOnlySpan<float> dh, ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> dgate, Span<float> dup)
    {
        Span<float> s = stackalloc float[Chunk];
        Span<float> t = stackalloc float[Chunk];
        Span<float> u = stackalloc float[Chunk];
        for (int i = 0; i < dh.Length; i += Chunk)
        {
            int len = Math.Min(Chunk, dh.Length - i);
            Span<float> si = s[..len], ti = t[..len], ui = u[..len];
            var g = gate.Slice(i, len);
            var d = dh.Slice(i, len);
            var dUp = dup.Slice(i, len);
            var dGate = dgate.Slice(i, len);
            TensorPrimitives.Sigmoid(g, si);
            TensorPrimitives.Multiply(g, si, ti);             // t = silu(g) = gσ
            TensorPrimitives.MultiplyAdd(d, ti, dUp, dUp);    // dup += dh · silu(g)
            TensorPrimitives.Subtract(1f, si, ui);            // 1 − σ
            TensorPrimitives.MultiplyAdd(ti, ui, si, ui);     // silu′(g) = σ + gσ(1 − σ)
            TensorPrimitives.Multiply(ui, up.Slice(i, len), ui);
            TensorPrimitives.MultiplyAdd(d, ui, dGate, dGate); // dgate += dh · up · silu′(g)
        }
    }
}

using SeekSharp.Kernels;
using SeekSharp.Kernels.Threading;

namespace SeekSharp.Models.Blocks;

/// <summary>SwiGLU feed-forward (Shazeer 2020): down(silu(gate(x)) ⊙ up(x)).</summary>
internal readonly struct SwiGlu(Linear gate, Linear up, Linear down)
{
    public readonly Linear Gate = gate; // [F, D]
    public readonly Linear Up = up;     // [F, D]
    public readonly Linear Down = down; // [D, F]

    /// <summary>output[T, D] from x[T, D], using gateBuf/upBuf [T, F] as scratch. The input of the down projection,
    /// silu(gate) ⊙ up [T, F], is traced as llama.cpp's <c>ffn_swiglu</c>.</summary>
    public void Apply(ReadOnlySpan<float> x, Span<float> gateBuf, Span<float> upBuf, Span<float> output, int tokens, WorkerPool pool,
                      ITraceSink? trace = null, int layer = -1)
    {
        int f = Gate.Rows;
        Linear.ApplyShared(x, tokens, pool, Gate, gateBuf, Up, upBuf);
        VectorOps.SiluMulInPlace(gateBuf[..(tokens * f)], upBuf[..(tokens * f)], pool);
        trace?.Trace("ffn_swiglu", layer, gateBuf[..(tokens * f)]);
        Down.Apply(gateBuf, output, tokens, pool);
    }
}

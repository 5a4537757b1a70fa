using SeekSharp.Models;

namespace SeekSharp.Training.Model;

/// <summary>
/// One named tensor inside a flat parameter array: rows × cols floats from <see cref="Offset"/>, row-major, stored
/// [out, in] for matrices as in GGUF. The same slice addresses the parameters, their gradients and both AdamW moments.
/// </summary>
/// <param name="Name">The tensor's GGUF name (<c>blk.0.attn_q.weight</c>), used by export and in error messages.</param>
/// <param name="Offset">First element in the flat array.</param>
/// <param name="Rows">Rows (1 for vectors).</param>
/// <param name="Cols">Columns (the input width for matrices).</param>
/// <param name="IsMatrix">Weight matrices take weight decay; norm gains (vectors) never do.</param>
/// <param name="IsEmbedding">The token embedding, which may be excluded from weight decay.</param>
internal readonly record struct TensorSlice(string Name, int Offset, int Rows, int Cols, bool IsMatrix, bool IsEmbedding)
{
    /// <summary>Elements in the tensor.</summary>
    public int Length => Rows * Cols;

    /// <summary>This tensor's view of <paramref name="flat"/> (parameters, gradients or a moment).</summary>
    public Span<float> Of(float[] flat) => flat.AsSpan(Offset, Length);
}

/// <summary>The tensors of one block, in forward order (which the fused <see cref="Qkv"/> and <see cref="GateUp"/> views
/// rely on).</summary>
internal sealed record LayerSlices(
    TensorSlice AttnNorm, // [D]
    TensorSlice Wq,       // [H · Dh, D]
    TensorSlice Wk,       // [Hkv · Dh, D]
    TensorSlice Wv,       // [Hkv · Dh, D]
    TensorSlice Wo,       // [D, H · Dh]
    TensorSlice FfnNorm,  // [D]
    TensorSlice Gate,     // [F, D]
    TensorSlice Up,       // [F, D]
    TensorSlice Down)     // [D, F]
{
    /// <summary>Wq, Wk and Wv, stored back to back, as one [(H + 2·Hkv)·Dh, D] matrix: one product computes all three.</summary>
    public TensorSlice Qkv => new("qkv", Wq.Offset, Wq.Rows + Wk.Rows + Wv.Rows, Wq.Cols, IsMatrix: true, IsEmbedding: false);

    /// <summary>Gate and Up, stored back to back, as one [2F, D] matrix.</summary>
    public TensorSlice GateUp => new("gate_up", Gate.Offset, Gate.Rows + Up.Rows, Gate.Cols, IsMatrix: true, IsEmbedding: false);
}

/// <summary>
/// Where every parameter tensor lives in the single flat array (llm.c's layout): one allocation each for parameters,
/// gradients and AdamW moments, so zeroing, the optimizer, clipping and checkpoints are one loop each.
/// Order: token embedding, then per block attn_norm, q, k, v, o, ffn_norm, gate, up, down, then output_norm and
/// (untied) output.
/// </summary>
internal sealed class ParameterLayout
{
    public TensorSlice TokenEmbedding { get; } // [V, D]
    public LayerSlices[] Layers { get; }        // [L]
    public TensorSlice OutputNorm { get; }      // [D]
    public TensorSlice Output { get; }          // [V, D]; the embedding's slice when tied
    /// <summary>Every distinct tensor in storage order (a tied output appears once, as the embedding).</summary>
    public TensorSlice[] All { get; }
    /// <summary>Total floats.</summary>
    public int Count { get; }

    public ParameterLayout(ModelConfig c)
    {
        c.Validate();
        var all = new List<TensorSlice>();
        long offset = 0;
        // Names and shapes come from the shared description (TensorNames, ModelConfig.ShapeOf), as inference reads them.
        TensorSlice Add(TensorKind kind, int layer = -1)
        {
            var (rows, cols) = c.ShapeOf(kind);
            var s = new TensorSlice(TensorNames.Of(kind, layer), checked((int)offset), rows, cols, !TensorNames.IsVector(kind),
                kind == TensorKind.TokenEmbedding);
            offset += (long)rows * cols;
            if (offset > Array.MaxLength)
                throw new ArgumentException($"The model needs more than {Array.MaxLength} parameters, more than one float array holds.");
            all.Add(s);
            return s;
        }

        TokenEmbedding = Add(TensorKind.TokenEmbedding);
        Layers = new LayerSlices[c.BlockCount];
        for (int l = 0; l < c.BlockCount; l++)
        {
            // Arguments are evaluated left to right, so the slices are stored in LayerSlices' order.
            Layers[l] = new LayerSlices(Add(TensorKind.AttnNorm, l), Add(TensorKind.AttnQ, l), Add(TensorKind.AttnK, l),
                Add(TensorKind.AttnV, l), Add(TensorKind.AttnOutput, l), Add(TensorKind.FfnNorm, l), Add(TensorKind.FfnGate, l),
                Add(TensorKind.FfnUp, l), Add(TensorKind.FfnDown, l));
        }
        OutputNorm = Add(TensorKind.OutputNorm);
        Output = c.TiedEmbeddings ? TokenEmbedding : Add(TensorKind.Output);
        All = all.ToArray();
        Count = (int)offset;
    }
}

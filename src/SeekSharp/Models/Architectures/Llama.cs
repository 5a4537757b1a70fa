using SeekSharp.Kernels;
using SeekSharp.Kernels.Threading;
using SeekSharp.Models.Blocks;

namespace SeekSharp.Models.Architectures;

/// <summary>
/// The llama decoder (Llama 2/3, DeepSeek-R1-Distill-Llama): pre-norm blocks of grouped-query attention with RoPE
/// and a SwiGLU feed-forward. Optional q/k/v/o biases make the same stack serve qwen2 (see <see cref="Qwen2"/>), as
/// llama.cpp's llama graph also accepts them, and per-head q/k norms serve qwen3 (see <see cref="Qwen3"/>).
/// Glossary: T tokens in the batch, D width, H query heads, Hkv key/value heads, Dh head width, F feed-forward width, V vocabulary.
/// </summary>
/// <remarks>
/// Trace points carry the names llama.cpp's llama/qwen2 graphs give the same tensors (<c>cb(cur, name, il)</c>), at the
/// same points, so that a diff against its eval callback pairs them up. llama.cpp names Q and K again as it refines them
/// (after the matmul, the bias, the reshape to heads and RoPE); the Qcur/Kcur traced here are the final, rotated ones.
/// </remarks>
internal sealed class Llama : ITransformer
{
    private sealed class Layer
    {
        public required float[] AttnNorm;   // [D]
        public required Linear Wq;          // [H · Dh, D]
        public required Linear Wk;          // [Hkv · Dh, D]
        public required Linear Wv;          // [Hkv · Dh, D]
        public required Linear Wo;          // [D, H · Dh]
        public float[]? Bq, Bk, Bv, Bo;     // [H · Dh], [Hkv · Dh], [Hkv · Dh], [D]
        public float[]? QNorm, KNorm;       // [Dh] each, per-head RMSNorm gains (qwen3)
        public required float[] FfnNorm;    // [D]
        public SwiGlu? Ffn;                 // dense feed-forward, or
        public Moe? Experts;                // a mixture of experts (qwen3moe)
    }

    /// <summary>Scratch of one context.</summary>
    private sealed class Scratch(ModelConfig c, int maxTokens, WorkerPool pool) : Activations(maxTokens, pool)
    {
        public readonly float[] X = new float[maxTokens * c.EmbeddingLength];                   // [T, D] residual stream
        public readonly float[] Normed = new float[maxTokens * c.EmbeddingLength];              // [T, D] RMSNorm output; also the rows whose logits are wanted, packed
        public readonly float[] Q = new float[maxTokens * c.HeadCount * c.HeadDim];             // [T, H · Dh]
        public readonly float[] K = new float[maxTokens * c.HeadCountKv * c.HeadDim];           // [T, Hkv · Dh]
        public readonly float[] V = new float[maxTokens * c.HeadCountKv * c.HeadDim];           // [T, Hkv · Dh]
        public readonly float[] AttnOut = new float[maxTokens * c.HeadCount * c.HeadDim];       // [T, H · Dh]
        public readonly float[] Gate = new float[maxTokens * c.FeedForwardLength];              // [T, F]
        public readonly float[] Up = new float[maxTokens * c.FeedForwardLength];                // [T, F]
        public readonly float[] Residual = new float[maxTokens * c.EmbeddingLength];            // [T, D] a block's output before it is added to X
        public readonly float[] Cos = new float[maxTokens * (c.RopeDimensionCount / 2)];        // [T, ropeDim / 2] each token's angles, for every layer
        public readonly float[] Sin = new float[maxTokens * (c.RopeDimensionCount / 2)];        // [T, ropeDim / 2]
        public readonly Moe.Scratch? Moe = c.Moe is null ? null : new Moe.Scratch(c, maxTokens);
    }

    private readonly Linear _tokenEmbedding; // [V, D]
    private readonly Layer[] _layers;        // [L]
    private readonly float[] _outputNorm;    // [D]
    private readonly Linear _output;         // [V, D], the embedding itself when tied
    private readonly Rope _rope;

    public ModelConfig Config { get; }

    public Llama(WeightReader w, ModelConfig c, bool requireQkvBias, bool requireQkNorm = false)
    {
        Config = c;
        _tokenEmbedding = w.Matrix(TensorKind.TokenEmbedding);
        _outputNorm = w.Vector(TensorKind.OutputNorm);
        _output = c.TiedEmbeddings ? _tokenEmbedding : w.Matrix(TensorKind.Output);
        _rope = new Rope(c, w.OptionalVector(TensorKind.RopeFrequencies));

        _layers = new Layer[c.BlockCount];
        for (int i = 0; i < c.BlockCount; i++)
        {
            float[]? Bias(TensorKind kind) => requireQkvBias ? w.Vector(kind, i) : w.OptionalVector(kind, i);
            _layers[i] = new Layer
            {
                AttnNorm = w.Vector(TensorKind.AttnNorm, i),
                Wq = w.Matrix(TensorKind.AttnQ, i),
                Wk = w.Matrix(TensorKind.AttnK, i),
                Wv = w.Matrix(TensorKind.AttnV, i),
                // The output and down projections are applied on their own: kept part-major where that reads faster.
                Wo = w.MatrixAppliedAlone(TensorKind.AttnOutput, i),
                Bq = Bias(TensorKind.AttnQBias),
                Bk = Bias(TensorKind.AttnKBias),
                Bv = Bias(TensorKind.AttnVBias),
                Bo = w.OptionalVector(TensorKind.AttnOutputBias, i),
                QNorm = requireQkNorm ? w.Vector(TensorKind.AttnQNorm, i) : null,
                KNorm = requireQkNorm ? w.Vector(TensorKind.AttnKNorm, i) : null,
                FfnNorm = w.Vector(TensorKind.FfnNorm, i),
                Ffn = c.Moe is null ? new SwiGlu(w.Matrix(TensorKind.FfnGate, i), w.Matrix(TensorKind.FfnUp, i), w.MatrixAppliedAlone(TensorKind.FfnDown, i)) : null,
                Experts = c.Moe is null ? null : new Moe(w, c, i),
            };
        }
    }

    public Activations CreateActivations(int maxTokens, int contextLength, Inference.ContextOptions options, WorkerPool pool)
        => new Scratch(Config, maxTokens, pool);

    public void Forward(Batch batch, KvCache cache, Activations activations, Span<float> logits, ITraceSink? trace)
    {
        var a = (Scratch)activations;
        var c = Config;
        int tokens = batch.Count, d = c.EmbeddingLength;
        int qDim = c.HeadCount * c.HeadDim, kvDim = c.HeadCountKv * c.HeadDim;

        for (int t = 0; t < tokens; t++)
            _tokenEmbedding.ReadRow(batch.Tokens[t], a.X.AsSpan(t * d, d));
        // Every layer rotates by the same angles: a token's cosines and sines once per pass, not once per layer (at eight
        // decoding tokens, 28 layers, they had been a millisecond of serial work per step).
        int half = c.RopeDimensionCount / 2;
        for (int t = 0; t < tokens; t++)
            _rope.Angles(batch.Positions[t], a.Cos.AsSpan(t * half, half), a.Sin.AsSpan(t * half, half));
        trace?.Trace("inp_embd", -1, a.X.AsSpan(0, tokens * d));

        for (int l = 0; l < _layers.Length; l++)
        {
            var layer = _layers[l];

            // x = x + attn(norm(x))
            RmsNorm.Rows(a.X, layer.AttnNorm, c.NormEpsilon, a.Normed, tokens);
            trace?.Trace("attn_norm", l, a.Normed.AsSpan(0, tokens * d));
            Linear.ApplyShared(a.Normed, tokens, a.Pool, layer.Wq, a.Q, layer.Wk, a.K, layer.Wv, a.V);
            AddBias(a.Q, layer.Bq, tokens);
            AddBias(a.K, layer.Bk, tokens);
            AddBias(a.V, layer.Bv, tokens);
            HeadNorm(a.Q, layer.QNorm, c.NormEpsilon, tokens * c.HeadCount);
            HeadNorm(a.K, layer.KNorm, c.NormEpsilon, tokens * c.HeadCountKv);
            for (int t = 0; t < tokens; t++)
            {
                var cos = a.Cos.AsSpan(t * half, half);
                var sin = a.Sin.AsSpan(t * half, half);
                _rope.Apply(a.Q.AsSpan(t * qDim, qDim), c.HeadCount, cos, sin);
                _rope.Apply(a.K.AsSpan(t * kvDim, kvDim), c.HeadCountKv, cos, sin);
            }
            trace?.Trace("Qcur", l, a.Q.AsSpan(0, tokens * qDim));
            trace?.Trace("Kcur", l, a.K.AsSpan(0, tokens * kvDim));
            trace?.Trace("Vcur", l, a.V.AsSpan(0, tokens * kvDim));
            Attention.Store(cache, l, batch, a.K, a.V);
            Attention.Compute(cache, l, batch, a.Q, a.AttnOut, c.HeadCount, c.HeadCountKv, c.HeadDim, a.Pool);
            trace?.Trace("kqv_out", l, a.AttnOut.AsSpan(0, tokens * qDim));
            layer.Wo.Apply(a.AttnOut, a.Residual, tokens, a.Pool);
            AddBias(a.Residual, layer.Bo, tokens);
            trace?.Trace("attn_out", l, a.Residual.AsSpan(0, tokens * d));
            VectorOps.AddInPlace(a.X.AsSpan(0, tokens * d), a.Residual.AsSpan(0, tokens * d));
            trace?.Trace("ffn_inp", l, a.X.AsSpan(0, tokens * d));

            // x = x + ffn(norm(x))
            RmsNorm.Rows(a.X, layer.FfnNorm, c.NormEpsilon, a.Normed, tokens);
            trace?.Trace("ffn_norm", l, a.Normed.AsSpan(0, tokens * d));
            if (layer.Ffn is { } ffn)
                ffn.Apply(a.Normed, a.Gate, a.Up, a.Residual, tokens, a.Pool, trace, l);
            else
                layer.Experts!.Apply(a.Normed, a.Residual, tokens, a.Moe!, a.Pool, trace, l);
            trace?.Trace("ffn_out", l, a.Residual.AsSpan(0, tokens * d));
            VectorOps.AddInPlace(a.X.AsSpan(0, tokens * d), a.Residual.AsSpan(0, tokens * d));
            trace?.Trace("l_out", l, a.X.AsSpan(0, tokens * d));
        }

        OutputHead.Apply(batch, a.X, _outputNorm, c.NormEpsilon, _output, a.Normed, logits, a.Pool, trace);
    }

    // RMSNorm of every head [Dh] of rows holding `heads` heads back to back, in place.
    private static void HeadNorm(Span<float> rows, float[]? gain, float eps, int heads)
    {
        if (gain is null) return;
        for (int h = 0; h < heads; h++)
        {
            var head = rows.Slice(h * gain.Length, gain.Length);
            VectorOps.RmsNorm(head, gain, eps, head);
        }
    }

    private static void AddBias(Span<float> rows, float[]? bias, int tokens)
    {
        if (bias is null) return;
        for (int t = 0; t < tokens; t++)
            VectorOps.AddInPlace(rows.Slice(t * bias.Length, bias.Length), bias);
    }
}

using SeekSharp.Inference;
using SeekSharp.Kernels;
using SeekSharp.Kernels.Threading;
using SeekSharp.Models.Blocks;

namespace SeekSharp.Models.Architectures;

/// <summary>
/// deepseek2 (DeepSeek-V2, V2-Lite, V3, R1): pre-norm blocks of multi-head latent attention (<see cref="Mla"/>) with
/// YaRN-scaled RoPE on adjacent pairs, and a feed-forward that is a dense SwiGLU in the leading blocks and DeepSeekMoE
/// (<see cref="Moe"/>) after them; RMSNorm throughout, untied output.
/// Glossary: T tokens in the batch, D width, H heads, V vocabulary.
/// </summary>
/// <remarks>
/// Trace points carry the names of llama.cpp's deepseek2 graph where it has them (attn_norm, q, kqv_out,
/// ffn_inp, ffn_norm, ffn_moe_out, ffn_shexp, ffn_out, l_out, result_norm, result_output).
/// </remarks>
internal sealed class DeepSeek2 : ITransformer
{
    private sealed class Layer
    {
        public required float[] AttnNorm;   // [D]
        public required Mla Attention;
        public required float[] FfnNorm;    // [D]
        public SwiGlu? Dense;               // leading blocks
        public Moe? Experts;                // the others
    }

    /// <summary>Scratch of one context.</summary>
    private sealed class Scratch : Activations
    {
        public Scratch(ModelConfig c, int maxTokens, int contextLength, ContextOptions options, WorkerPool pool) : base(maxTokens, pool)
        {
            int d = c.EmbeddingLength;
            X = new float[maxTokens * d];
            Normed = new float[maxTokens * d];
            Residual = new float[maxTokens * d];
            AttnOut = new float[maxTokens * c.HeadCount * c.ValueHeadDim];
            Gate = new float[maxTokens * c.FeedForwardLength];
            Up = new float[maxTokens * c.FeedForwardLength];
            Mla = new Mla.Scratch(c, maxTokens, contextLength, options.Sequences);
            Moe = c.Moe is null ? null : new Moe.Scratch(c, maxTokens);
            Mode = options.MlaAttention;
        }

        public readonly float[] X, Normed, Residual; // [T, D]: residual stream, RMSNorm output (and packed output rows), a block's output
        public readonly float[] AttnOut;             // [T, H · Dv]
        public readonly float[] Gate, Up;            // [T, F] dense feed-forward
        public readonly Mla.Scratch Mla;
        public readonly Moe.Scratch? Moe;
        public readonly MlaAttention Mode;
    }

    private readonly Linear _tokenEmbedding; // [V, D]
    private readonly Layer[] _layers;        // [L]
    private readonly float[] _outputNorm;    // [D]
    private readonly Linear _output;         // [V, D]
    private readonly Rope _rope;             // over the R rope dimensions, YaRN-scaled

    public ModelConfig Config { get; }

    public static ITransformer Load(WeightReader w, ModelConfig c)
    {
        if (c.Mla is null)
            throw new ModelLoadException(w.File.Path, "deepseek2 needs deepseek2.attention.kv_lora_rank (multi-head latent attention)");
        return new DeepSeek2(w, c);
    }

    private DeepSeek2(WeightReader w, ModelConfig c)
    {
        Config = c;
        _tokenEmbedding = w.Matrix(TensorKind.TokenEmbedding);
        _outputNorm = w.Vector(TensorKind.OutputNorm);
        _output = c.TiedEmbeddings ? _tokenEmbedding : w.Matrix(TensorKind.Output);
        _rope = new Rope(c, freqFactors: null);
        int dense = c.Moe?.LeadingDenseBlockCount ?? c.BlockCount;
        _layers = new Layer[c.BlockCount];
        for (int i = 0; i < c.BlockCount; i++)
        {
            _layers[i] = new Layer
            {
                AttnNorm = w.Vector(TensorKind.AttnNorm, i),
                Attention = new Mla(w, c, i),
                FfnNorm = w.Vector(TensorKind.FfnNorm, i),
                Dense = i < dense ? new SwiGlu(w.Matrix(TensorKind.FfnGate, i), w.Matrix(TensorKind.FfnUp, i), w.Matrix(TensorKind.FfnDown, i)) : null,
                Experts = i < dense ? null : new Moe(w, c, i),
            };
        }
    }

    public Activations CreateActivations(int maxTokens, int contextLength, ContextOptions options, WorkerPool pool)
        => new Scratch(Config, maxTokens, contextLength, options, pool);

    public void Forward(Batch batch, KvCache cache, Activations activations, Span<float> logits, ITraceSink? trace)
    {
        var a = (Scratch)activations;
        var c = Config;
        int tokens = batch.Count, d = c.EmbeddingLength;
        var x = a.X.AsSpan(0, tokens * d);
        var residual = a.Residual.AsSpan(0, tokens * d);

        for (int t = 0; t < tokens; t++)
            _tokenEmbedding.ReadRow(batch.Tokens[t], a.X.AsSpan(t * d, d));
        trace?.Trace("inp_embd", -1, x);

        for (int l = 0; l < _layers.Length; l++)
        {
            var layer = _layers[l];

            // x = x + mla(norm(x))
            RmsNorm.Rows(a.X, layer.AttnNorm, c.NormEpsilon, a.Normed, tokens);
            trace?.Trace("attn_norm", l, a.Normed.AsSpan(0, tokens * d));
            layer.Attention.Forward(a.Normed, residual, batch, cache, l, _rope, a.Mode, a.Mla, a.AttnOut, a.Pool, trace);
            VectorOps.AddInPlace(x, residual);
            trace?.Trace("ffn_inp", l, x);

            // x = x + ffn(norm(x)), dense or mixture of experts
            RmsNorm.Rows(a.X, layer.FfnNorm, c.NormEpsilon, a.Normed, tokens);
            trace?.Trace("ffn_norm", l, a.Normed.AsSpan(0, tokens * d));
            if (layer.Dense is { } dense)
                dense.Apply(a.Normed, a.Gate, a.Up, residual, tokens, a.Pool);
            else
                layer.Experts!.Apply(a.Normed, residual, tokens, a.Moe!, a.Pool, trace, l);
            trace?.Trace("ffn_out", l, residual);
            VectorOps.AddInPlace(x, residual);
            trace?.Trace("l_out", l, x);
        }

        OutputHead.Apply(batch, a.X, _outputNorm, c.NormEpsilon, _output, a.Normed, logits, a.Pool, trace);
    }
}

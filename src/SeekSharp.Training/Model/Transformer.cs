using SeekSharp.Kernels.Threading;
using SeekSharp.Models;
using SeekSharp.Training.Backward;

namespace SeekSharp.Training.Model;

/// <summary>
/// A trainable llama-style decoder: parameters and their gradients in one flat array each, activations preallocated
/// for a largest batch, and two ways to train it: a weighted cross-entropy loss (pretraining, SFT) and per-token
/// log-probabilities with a caller-supplied gradient (policy-gradient methods such as GRPO).
/// Glossary: B sequences, T positions, N = B·T tokens, D width, L layers, H / Hkv heads, Dh head width, F feed-forward width, V vocabulary.
/// </summary>
/// <remarks>
/// Each forward/backward is deterministic: every reduction runs in a fixed order and parallel work is split so that
/// no element is summed by more than one thread, so equal inputs give bit-identical losses and gradients whatever
/// the thread count, provided <c>SeekSharp.Kernels.Gemm</c> is too (a test runs the same steps on 1 and 3 threads).
/// </remarks>
public sealed class Transformer
{
    private readonly ParameterLayout _layout;
    private readonly TransformerActivations _act;
    private readonly WorkerPool _pool;
    private readonly AttentionKernel _attention;
    private readonly float[] _attentionScratch; // [B · Hkv, T·T + 6·T·Dh] for AttentionKernel.Gemm
    private int _batch, _seqLen;       // shape of the last forward
    private bool _hasForward;
    private bool _lossForward;         // the last forward was Loss (so LossBackward may run)
    private float _logitScale = 1f;    // 1/τ of the last forward's log-probabilities
    private int _lossTokens;           // tokens with a non-zero weight in the last Loss

    /// <summary>Creates a model of shape <paramref name="config"/> with all parameters zero (see <see cref="InitializeWeights"/>).</summary>
    /// <param name="config">Model shape: a llama whose RoPE covers whole heads unscaled (<see cref="ModelConfig.Llama"/>);
    /// validated.</param>
    /// <param name="maxBatch">Most sequences per call.</param>
    /// <param name="maxSeqLen">Most positions per sequence (at most the context length).</param>
    /// <param name="pool">Threads for matrix products and attention; <see cref="WorkerPool.Shared"/> when null.</param>
    /// <param name="attention">Attention algorithm.</param>
    public Transformer(ModelConfig config, int maxBatch, int maxSeqLen, WorkerPool? pool = null, AttentionKernel attention = AttentionKernel.Gemm)
    {
        config.Validate();
        // The backward ops implement llama's block as training builds it; anything else would train a model that
        // inference then runs differently.
        if (config.Architecture != "llama" || config.RopeMode != RopeMode.Adjacent || config.RopeDimensionCount != config.HeadDim
            || config.RopeFreqScale != 1f || config.HeadDim * config.HeadCount != config.EmbeddingLength || config.HeadDim % 2 != 0)
            throw new ArgumentException($"training builds llama models with heads of even width D / H and RoPE over whole heads, unscaled; got {config}.");
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSeqLen, 1);
        if (maxSeqLen > config.ContextLength || maxSeqLen > Attention.MaxSeqLen)
            throw new ArgumentOutOfRangeException(nameof(maxSeqLen), maxSeqLen,
                $"At most the context length ({config.ContextLength}) and {Attention.MaxSeqLen} positions per sequence.");
        Config = config;
        _layout = new ParameterLayout(config);
        _act = new TransformerActivations(config, maxBatch, maxSeqLen);
        _attention = attention;
        _attentionScratch = attention == AttentionKernel.Gemm
            ? new float[checked((long)maxBatch * config.HeadCountKv * AttentionGemm.ScratchPerItem(maxSeqLen, config.HeadDim))]
            : [];
        _pool = pool ?? WorkerPool.Shared;
        Parameters = new float[_layout.Count];
        Gradients = new float[_layout.Count];
        new SeekSharp.Models.Blocks.Rope(config, freqFactors: null).Table(maxSeqLen, _act.RopeCos, _act.RopeSin);
        MaxBatch = maxBatch;
        MaxSeqLen = maxSeqLen;
    }

    /// <summary>The model's shape.</summary>
    public ModelConfig Config { get; }
    /// <summary>Most sequences per call.</summary>
    public int MaxBatch { get; }
    /// <summary>Most positions per sequence.</summary>
    public int MaxSeqLen { get; }
    /// <summary>All parameters, one flat array in the fixed tensor order of the GGUF export.</summary>
    public float[] Parameters { get; }
    /// <summary>Gradients, same layout as <see cref="Parameters"/>; backward passes add to them.</summary>
    public float[] Gradients { get; }
    /// <summary>Number of trainable parameters (a tied output counts once).</summary>
    public int ParameterCount => _layout.Count;
    /// <summary>Logits [B, T, V] of the last forward (Loss or LogProbs), row-major.</summary>
    public ReadOnlySpan<float> Logits => _act.Logits.AsSpan(0, _batch * _seqLen * Config.VocabSize);

    internal ParameterLayout Layout => _layout;

    /// <summary>
    /// GPT-2 / llama style initialisation from <paramref name="random"/>: every matrix and the embedding normal with
    /// standard deviation <paramref name="std"/>, the projections that write into the residual stream (attention
    /// output, feed-forward down) scaled by 1/√(2L) so the stream's variance does not grow with depth, norm gains 1.
    /// </summary>
    public void InitializeWeights(TrainingRandom random, float std = 0.02f)
    {
        float residualStd = std / MathF.Sqrt(2f * Config.BlockCount);
        foreach (var t in _layout.All)
        {
            var values = t.Of(Parameters);
            if (!t.IsMatrix)
            {
                values.Fill(1f);
                continue;
            }
            bool residualOut = t.Name.EndsWith("attn_output.weight", StringComparison.Ordinal) || t.Name.EndsWith("ffn_down.weight", StringComparison.Ordinal);
            float s = residualOut ? residualStd : std;
            for (int i = 0; i < values.Length; i++)
                values[i] = (float)(random.NextGaussian() * s);
        }
    }

    /// <summary>Sets every gradient to zero (before accumulating a new step's gradients).</summary>
    public void ZeroGradients() => Array.Clear(Gradients);

    /// <summary>
    /// Forward pass with the mean weighted cross-entropy, <c>−Σ w·log p(target) / #{w ≠ 0}</c>: a weight of 0 drops a
    /// token (SFT masks non-assistant tokens), other weights scale its term. Returns 0 when every weight is 0.
    /// </summary>
    /// <param name="tokens">Input ids [B, T].</param>
    /// <param name="targets">Next-token ids [B, T], each in [0, V).</param>
    /// <param name="weights">Per-token weights [B, T], finite.</param>
    /// <param name="batch">B, at most <see cref="MaxBatch"/>.</param>
    /// <param name="seqLen">T, at most <see cref="MaxSeqLen"/>.</param>
    public float Loss(ReadOnlySpan<int> tokens, ReadOnlySpan<int> targets, ReadOnlySpan<float> weights, int batch, int seqLen)
    {
        int n = CheckInputs(tokens, targets, batch, seqLen);
        if (weights.Length != n)
            throw new ArgumentException($"weights has {weights.Length} entries; [B={batch}, T={seqLen}] needs {n}.", nameof(weights));
        Forward(tokens, targets, batch, seqLen);
        weights.CopyTo(_act.Weights);
        double sum = 0;
        int count = 0;
        for (int i = 0; i < n; i++)
        {
            if (weights[i] == 0f) continue;
            if (!float.IsFinite(weights[i]))
                throw new ArgumentException($"weights[{i}] is {weights[i]}; weights must be finite.", nameof(weights));
            sum -= (double)weights[i] * _act.LogProbs[i];
            count++;
        }
        _lossForward = true;
        _lossTokens = count;
        return count == 0 ? 0f : (float)(sum / count);
    }

    /// <summary>Adds the gradient of <paramref name="scale"/> × the last <see cref="Loss"/> to <see cref="Gradients"/>.</summary>
    /// <param name="scale">Multiplier of the loss, e.g. 1 / micro-batches when several batches accumulate into one step.</param>
    /// <exception cref="InvalidOperationException">The last forward was not <see cref="Loss"/>.</exception>
    public void LossBackward(float scale = 1f)
    {
        if (!_lossForward)
            throw new InvalidOperationException("LossBackward needs a preceding Loss call (the last forward was LogProbs or none).");
        int n = _batch * _seqLen;
        var dlp = _act.DLogProbs.AsSpan(0, n);
        float perToken = _lossTokens == 0 ? 0f : -scale / _lossTokens;
        for (int i = 0; i < n; i++)
            dlp[i] = _act.Weights[i] * perToken;
        Backward();
    }

    /// <summary>
    /// Forward pass that writes log p(target) of every token to <paramref name="logProbs"/> [B, T], under the softmax of
    /// the logits divided by <paramref name="temperature"/> (the distribution a sampler at that temperature draws from;
    /// <see cref="LogProbsBackward"/> differentiates the same).
    /// </summary>
    /// <param name="tokens">Input ids [B, T].</param>
    /// <param name="targets">Ids [B, T] whose log-probabilities are wanted, each in [0, V).</param>
    /// <param name="batch">B, at most <see cref="MaxBatch"/>.</param>
    /// <param name="seqLen">T, at most <see cref="MaxSeqLen"/>.</param>
    /// <param name="logProbs">Output [B, T].</param>
    /// <param name="temperature">τ &gt; 0; 1 is the model's own distribution.</param>
    public void LogProbs(ReadOnlySpan<int> tokens, ReadOnlySpan<int> targets, int batch, int seqLen, Span<float> logProbs, float temperature = 1f)
    {
        int n = CheckInputs(tokens, targets, batch, seqLen);
        if (logProbs.Length < n)
            throw new ArgumentException($"logProbs has {logProbs.Length} entries; [B={batch}, T={seqLen}] needs {n}.", nameof(logProbs));
        if (!(temperature > 0) || !float.IsFinite(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "the temperature must be positive and finite.");
        Forward(tokens, targets, batch, seqLen, 1f / temperature);
        _lossForward = false;
        _act.LogProbs.AsSpan(0, n).CopyTo(logProbs);
    }

    /// <summary>
    /// Adds to <see cref="Gradients"/> the gradient of <c>Σ dLogProbs[b, t] · log p(target[b, t])</c> through the last
    /// forward (Loss or LogProbs): pass ∂objective/∂logp per token, e.g. −advantage/count for a policy-gradient loss.
    /// </summary>
    /// <param name="dLogProbs">[B, T] of the last forward.</param>
    public void LogProbsBackward(ReadOnlySpan<float> dLogProbs)
    {
        if (!_hasForward)
            throw new InvalidOperationException("LogProbsBackward needs a preceding LogProbs or Loss call.");
        int n = _batch * _seqLen;
        if (dLogProbs.Length != n)
            throw new ArgumentException($"dLogProbs has {dLogProbs.Length} entries; the last forward had [B={_batch}, T={_seqLen}] = {n}.", nameof(dLogProbs));
        dLogProbs.CopyTo(_act.DLogProbs);
        Backward();
    }

    private int CheckInputs(ReadOnlySpan<int> tokens, ReadOnlySpan<int> targets, int batch, int seqLen)
    {
        if (batch < 1 || batch > MaxBatch)
            throw new ArgumentOutOfRangeException(nameof(batch), batch, $"Between 1 and MaxBatch ({MaxBatch}).");
        if (seqLen < 1 || seqLen > MaxSeqLen)
            throw new ArgumentOutOfRangeException(nameof(seqLen), seqLen, $"Between 1 and MaxSeqLen ({MaxSeqLen}).");
        int n = batch * seqLen, vocab = Config.VocabSize;
        if (tokens.Length != n || targets.Length != n)
            throw new ArgumentException($"tokens ({tokens.Length}) and targets ({targets.Length}) must both hold B·T = {batch}·{seqLen} = {n} ids.");
        for (int i = 0; i < n; i++)
        {
            if ((uint)tokens[i] >= (uint)vocab)
                throw new ArgumentException($"tokens[{i}] = {tokens[i]} is outside the vocabulary 0..{vocab - 1}.", nameof(tokens));
            if ((uint)targets[i] >= (uint)vocab)
                throw new ArgumentException($"targets[{i}] = {targets[i]} is outside the vocabulary 0..{vocab - 1}.", nameof(targets));
        }
        return n;
    }

    // x = embed(tokens); per block x += attn(norm(x)); x += ffn(norm(x)); logits = norm(x) · outputᵀ; logp = log softmax[target].
    private void Forward(ReadOnlySpan<int> tokens, ReadOnlySpan<int> targets, int batch, int seqLen, float logitScale = 1f)
    {
        var c = Config;
        var a = _act;
        var p = Parameters;
        int n = batch * seqLen, d = c.EmbeddingLength, hd = c.HeadDim, qDim = c.HeadCount * hd, kvDim = c.HeadCountKv * hd, qkvDim = qDim + 2 * kvDim, f = c.FeedForwardLength;
        _batch = batch;
        _seqLen = seqLen;
        tokens.CopyTo(a.Tokens);
        targets.CopyTo(a.Targets);

        Embedding.Forward(tokens, _layout.TokenEmbedding.Of(p), a.Residual[0], d);
        for (int l = 0; l < c.BlockCount; l++)
        {
            var w = _layout.Layers[l];
            float[] x = a.Residual[l], mid = a.ResidualMid[l], next = a.Residual[l + 1];

            RmsNorm.Forward(x, w.AttnNorm.Of(p), c.NormEpsilon, a.AttnNorm[l], a.AttnRstd[l], n, _pool);
            float[] qkv = a.Qkv[l]; // [N, Q + 2K]
            Linear.Forward(a.AttnNorm[l], w.Qkv.Of(p), qkv, n, d, qkvDim, _pool);
            // q and k are adjacent in each row: one pass rotates H + Hkv heads.
            Rope.Forward(qkv, a.RopeCos, a.RopeSin, qkv, n, seqLen, c.HeadCount + c.HeadCountKv, hd, qkvDim);
            if (_attention == AttentionKernel.Gemm)
                AttentionGemm.Forward(qkv, qkv.AsSpan(qDim), qkv.AsSpan(qDim + kvDim), a.Att[l], a.AttnOut[l],
                    batch, seqLen, c.HeadCount, c.HeadCountKv, hd, qkvDim, qkvDim, _attentionScratch, _pool);
            else
                Attention.Forward(qkv, qkv.AsSpan(qDim), qkv.AsSpan(qDim + kvDim), a.Att[l], a.AttnOut[l],
                    batch, seqLen, c.HeadCount, c.HeadCountKv, hd, qkvDim, qkvDim, _pool);
            x.AsSpan(0, n * d).CopyTo(mid);
            Linear.Forward(a.AttnOut[l], w.Wo.Of(p), mid, n, qDim, d, _pool, accumulate: true);

            RmsNorm.Forward(mid, w.FfnNorm.Of(p), c.NormEpsilon, a.FfnNorm[l], a.FfnRstd[l], n, _pool);
            float[] gateUp = a.GateUp[l]; // [N, 2F]
            Linear.Forward(a.FfnNorm[l], w.GateUp.Of(p), gateUp, n, d, 2 * f, _pool);
            SwiGlu.Forward(gateUp, a.Hidden[l], n, f, _pool);
            mid.AsSpan(0, n * d).CopyTo(next);
            Linear.Forward(a.Hidden[l], w.Down.Of(p), next, n, f, d, _pool, accumulate: true);
        }
        RmsNorm.Forward(a.Residual[c.BlockCount], _layout.OutputNorm.Of(p), c.NormEpsilon, a.FinalNorm, a.FinalRstd, n, _pool);
        Linear.Forward(a.FinalNorm, _layout.Output.Of(p), a.Logits, n, d, c.VocabSize, _pool);
        CrossEntropy.Forward(a.Logits, targets, a.LogSumExp, a.LogProbs, c.VocabSize, _pool, logitScale);
        _logitScale = logitScale;
        _hasForward = true;
    }

    // The forward in reverse from a.DLogProbs. Residual adds need no op: each branch's input gradient is accumulated
    // straight into DResidual, which carries the identity path.
    private void Backward()
    {
        var c = Config;
        var a = _act;
        var p = Parameters;
        var g = Gradients;
        int batch = _batch, seqLen = _seqLen;
        int n = batch * seqLen, d = c.EmbeddingLength, hd = c.HeadDim, qDim = c.HeadCount * hd, kvDim = c.HeadCountKv * hd, qkvDim = qDim + 2 * kvDim, f = c.FeedForwardLength, v = c.VocabSize;

        var dLogits = a.DLogits.AsSpan(0, n * v);
        dLogits.Clear();
        CrossEntropy.Backward(a.DLogProbs.AsSpan(0, n), a.Logits, a.Targets.AsSpan(0, n), a.LogSumExp, dLogits, v, _pool, _logitScale);
        var dNorm = a.DNorm.AsSpan(0, n * d);
        dNorm.Clear();
        Linear.Backward(dLogits, a.FinalNorm, _layout.Output.Of(p), dNorm, _layout.Output.Of(g), n, d, v, _pool);
        var dRes = a.DResidual.AsSpan(0, n * d);
        dRes.Clear();
        RmsNorm.Backward(dNorm, a.Residual[c.BlockCount], _layout.OutputNorm.Of(p), a.FinalRstd, dRes, _layout.OutputNorm.Of(g), n, _pool);

        for (int l = c.BlockCount - 1; l >= 0; l--)
        {
            var w = _layout.Layers[l];

            // feed-forward branch: next = mid + down(swiglu(gate(norm(mid)), up(norm(mid))))
            var dHidden = a.DHidden.AsSpan(0, n * f);
            var dGateUp = a.DGateUp.AsSpan(0, n * 2 * f);
            float[] gateUp = a.GateUp[l];
            dHidden.Clear();
            dGateUp.Clear();
            dNorm.Clear();
            Linear.Backward(dRes, a.Hidden[l], w.Down.Of(p), dHidden, w.Down.Of(g), n, f, d, _pool);
            SwiGlu.Backward(dHidden, gateUp, dGateUp, n, f, _pool);
            Linear.Backward(dGateUp, a.FfnNorm[l], w.GateUp.Of(p), dNorm, w.GateUp.Of(g), n, d, 2 * f, _pool);
            RmsNorm.Backward(dNorm, a.ResidualMid[l], w.FfnNorm.Of(p), a.FfnRstd[l], dRes, w.FfnNorm.Of(g), n, _pool);

            // attention branch: mid = x + o(attention(rope(q(norm(x))), rope(k(norm(x))), v(norm(x))))
            var dAttnOut = a.DAttnOut.AsSpan(0, n * qDim);
            var dQkv = a.DQkv.AsSpan(0, n * qkvDim);
            var dQkvPre = a.DQkvPre.AsSpan(0, n * qkvDim);
            float[] qkv = a.Qkv[l];
            dAttnOut.Clear();
            dQkv.Clear();
            dQkvPre.Clear();
            dNorm.Clear();
            Linear.Backward(dRes, a.AttnOut[l], w.Wo.Of(p), dAttnOut, w.Wo.Of(g), n, qDim, d, _pool);
            if (_attention == AttentionKernel.Gemm)
                AttentionGemm.Backward(dAttnOut, qkv, qkv.AsSpan(qDim), qkv.AsSpan(qDim + kvDim), a.Att[l],
                    dQkv, dQkv[qDim..], dQkv[(qDim + kvDim)..], batch, seqLen, c.HeadCount, c.HeadCountKv, hd, qkvDim, qkvDim, _attentionScratch, _pool);
            else
                Attention.Backward(dAttnOut, qkv, qkv.AsSpan(qDim), qkv.AsSpan(qDim + kvDim), a.Att[l],
                    dQkv, dQkv[qDim..], dQkv[(qDim + kvDim)..], batch, seqLen, c.HeadCount, c.HeadCountKv, hd, qkvDim, qkvDim, _pool);
            Rope.Backward(dQkv, a.RopeCos, a.RopeSin, dQkvPre, n, seqLen, c.HeadCount + c.HeadCountKv, hd, qkvDim);
            for (int row = 0; row < n; row++) // v is not rotated: its gradient passes through
            {
                var dvIn = dQkv.Slice(row * qkvDim + qDim + kvDim, kvDim);
                var dvOut = dQkvPre.Slice(row * qkvDim + qDim + kvDim, kvDim);
                for (int i = 0; i < kvDim; i++)
                    dvOut[i] += dvIn[i];
            }
            Linear.Backward(dQkvPre, a.AttnNorm[l], w.Qkv.Of(p), dNorm, w.Qkv.Of(g), n, d, qkvDim, _pool);
            RmsNorm.Backward(dNorm, a.Residual[l], w.AttnNorm.Of(p), a.AttnRstd[l], dRes, w.AttnNorm.Of(g), n, _pool);
        }
        Embedding.Backward(dRes, a.Tokens.AsSpan(0, n), _layout.TokenEmbedding.Of(g), d);
    }
}

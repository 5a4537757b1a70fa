using System.Collections.Concurrent;
using SeekSharp.Gguf;
using SeekSharp.Kernels;

namespace SeekSharp.Conformance.Tests.TinyModels;

/// <summary>
/// Writes small random-weight llama / qwen2 / qwen3 / deepseek2 GGUF files that llama.cpp loads, so conformance tests can compare
/// SeekSharp with llama.cpp without downloading a model.
/// </summary>
/// <remarks>
/// Names and keys follow llama.cpp (src/llama-arch.cpp, src/llama-model.cpp). Glossary: d = Dim, nh = Heads,
/// nkv = KvHeads, hd = HeadDim = d / nh, ff = FfnDim, V = vocab size. Shapes below are ggml order {ne0, ne1}:
/// ne0 is the contiguous input width, so a {cols, rows} weight maps a cols-vector to a rows-vector.
///
/// Rotary layout. Hugging Face Llama rotates the two halves of each head (x[i], x[i + hd/2]); convert_hf_to_gguf
/// permutes the rows of attn_q / attn_k for the llama architecture so that llama.cpp can rotate adjacent pairs
/// (x[2i], x[2i+1]) instead: llama uses LLAMA_ROPE_TYPE_NORM (adjacent pairs). qwen2 is written unpermuted and
/// llama.cpp rotates halves: LLAMA_ROPE_TYPE_NEOX. The weights here are random, so no permutation is applied, but
/// SeekSharp must rotate exactly as llama.cpp does for each architecture to match it.
///
/// Random weights, uniform with these means and standard deviations: every linear weight std 1/sqrt(fan_in) so each
/// projection keeps activations O(1); embeddings std 1, or 1/sqrt(d) when tied to the output (unit-scale rows would
/// give logits of spread sqrt(d), where a token's self-similarity dominates and greedy decoding repeats one token);
/// norm weights 1 +- 0.1 (std) so they are not all equal; biases std 0.2. The logits then have a spread of order one.
/// deepseek2 (<see cref="CreateDeepSeek2Writer"/>) adds its own glossary and two router-specific scales.
/// </remarks>
internal static class TinyModelBuilder
{
    private static readonly ConcurrentDictionary<TinyModelOptions, Lazy<string>> Cache = new();
    private static readonly Lazy<string> CacheDirectory = new(CreateCacheDirectory);

    /// <summary>
    /// Writes the model described by <paramref name="options"/> to <paramref name="path"/>. <paramref name="streaming"/>
    /// draws each tensor only when the writer reaches it, so a model larger than memory (DeepSeek-V2-Lite's shape: 31 GB
    /// in F16) is written holding one tensor at a time; the file is the same either way.
    /// </summary>
    public static void Build(TinyModelOptions options, string path, bool streaming = false) => CreateWriter(options, streaming).Write(path);

    /// <summary>
    /// The path of a model file for <paramref name="options"/>, built on first use and shared by every test of this
    /// process (the files live in a per-process temp folder deleted at exit). Identical options give the same file.
    /// </summary>
    public static string GetOrBuild(TinyModelOptions options) =>
        Cache.GetOrAdd(options, o => new Lazy<string>(() =>
        {
            string path = Path.Combine(CacheDirectory.Value, $"tiny-{Cache.Count}-{Guid.NewGuid():N}.gguf");
            Build(o, path);
            return path;
        })).Value;

    /// <summary>
    /// A writer holding the whole model: metadata, tokenizer and tensors, ready to <c>Write</c>. With
    /// <paramref name="streaming"/> the tensors are drawn during <c>Write</c>, from one random stream, so that writer
    /// must be written once only (a second Write would continue the stream and give other weights).
    /// </summary>
    public static GgufWriter CreateWriter(TinyModelOptions o, bool streaming = false)
    {
        Validate(o);
        if (o.Architecture == TinyArchitecture.DeepSeek2)
            return CreateDeepSeek2Writer(o, o.DeepSeek2!, streaming);
        string arch = o.ArchitectureName;
        int d = o.Dim, hd = o.HeadDim, qDim = o.Heads * hd, kvDim = o.KvHeads * hd, ff = o.FfnDim, vocab = o.Tokenizer.VocabSize;
        var w = new GgufWriter();
        var t = new TensorSink(w, new Random(o.Seed), streaming);

        w.Set("general.architecture", arch);
        w.Set("general.name", $"seeksharp-tiny-{arch}");
        w.Set($"{arch}.context_length", (uint)o.ContextLength);
        w.Set($"{arch}.embedding_length", (uint)d);
        w.Set($"{arch}.block_count", (uint)o.Layers);
        w.Set($"{arch}.feed_forward_length", (uint)ff);
        w.Set($"{arch}.attention.head_count", (uint)o.Heads);
        w.Set($"{arch}.attention.head_count_kv", (uint)o.KvHeads);
        if (o.ExplicitHeadDim > 0)
        {
            w.Set($"{arch}.attention.key_length", (uint)hd);
            w.Set($"{arch}.attention.value_length", (uint)hd);
        }
        w.Set($"{arch}.attention.layer_norm_rms_epsilon", o.RmsNormEps);
        w.Set($"{arch}.rope.freq_base", o.RopeTheta);
        w.Set($"{arch}.rope.dimension_count", (uint)hd);
        w.Set($"{arch}.vocab_size", (uint)vocab);
        bool moe = o.Architecture == TinyArchitecture.Qwen3Moe;
        if (moe)
        {
            w.Set($"{arch}.expert_count", (uint)o.Experts);
            w.Set($"{arch}.expert_used_count", (uint)o.ExpertsUsed);
            w.Set($"{arch}.expert_feed_forward_length", (uint)o.ExpertFfnDim);
        }
        o.Tokenizer.Write(w);

        // Tied: the embedding is also the output projection, so it takes the projection scale 1/sqrt(d).
        Matrix(t, "token_embd.weight", o.WeightType, cols: d, rows: vocab, std: o.TiedOutput ? null : 1.0); // {d, V}
        if (o.Llama3Scaling is { } scaling)
            t.Add("rope_freqs.weight", GgmlType.F32, [hd / 2], () => Llama3RopeFactors(scaling, o.RopeTheta, hd)); // {hd/2}

        for (int layer = 0; layer < o.Layers; layer++)
        {
            string p = $"blk.{layer}.";
            Norm(t, p + "attn_norm.weight", d);                                            // {d}
            Matrix(t, p + "attn_q.weight", o.WeightType, cols: d, rows: qDim);            // {d, nh*hd}
            Matrix(t, p + "attn_k.weight", o.WeightType, cols: d, rows: kvDim);           // {d, nkv*hd}
            Matrix(t, p + "attn_v.weight", o.WeightType, cols: d, rows: kvDim);           // {d, nkv*hd}
            if (o.Architecture == TinyArchitecture.Qwen2 && o.QkvBias)
            {
                Vector(t, p + "attn_q.bias", qDim, mean: 0, std: 0.2);                    // {nh*hd}
                Vector(t, p + "attn_k.bias", kvDim, mean: 0, std: 0.2);                   // {nkv*hd}
                Vector(t, p + "attn_v.bias", kvDim, mean: 0, std: 0.2);                   // {nkv*hd}
            }
            if (o.Architecture is TinyArchitecture.Qwen3 or TinyArchitecture.Qwen3Moe)
            {
                Norm(t, p + "attn_q_norm.weight", hd);                                     // {hd}
                Norm(t, p + "attn_k_norm.weight", hd);                                     // {hd}
            }
            Matrix(t, p + "attn_output.weight", o.WeightType, cols: qDim, rows: d);       // {nh*hd, d}
            Norm(t, p + "ffn_norm.weight", d);                                             // {d}
            if (moe)
            {
                // Router F32 with a spread that gives clear top-k margins (see CreateDeepSeek2Writer); E experts of fe.
                int e = o.Experts, fe = o.ExpertFfnDim;
                Matrix(t, p + "ffn_gate_inp.weight", GgmlType.F32, cols: d, rows: e, std: 2.0 / Math.Sqrt(d));                          // {d, E}
                t.Add(p + "ffn_gate_exps.weight", o.WeightType, [d, fe, e], () => t.Draw((long)e * fe * d, 0, 1.0 / Math.Sqrt(d)).Value);  // {d, fe, E}
                t.Add(p + "ffn_up_exps.weight", o.WeightType, [d, fe, e], () => t.Draw((long)e * fe * d, 0, 1.0 / Math.Sqrt(d)).Value);    // {d, fe, E}
                t.Add(p + "ffn_down_exps.weight", o.WeightType, [fe, d, e], () => t.Draw((long)e * d * fe, 0, 1.0 / Math.Sqrt(fe)).Value); // {fe, d, E}
                continue;
            }
            Matrix(t, p + "ffn_gate.weight", o.WeightType, cols: d, rows: ff);            // {d, ff}
            Matrix(t, p + "ffn_up.weight", o.WeightType, cols: d, rows: ff);              // {d, ff}
            Matrix(t, p + "ffn_down.weight", o.WeightType, cols: ff, rows: d);            // {ff, d}
        }

        Norm(t, "output_norm.weight", d);                                                  // {d}
        if (!o.TiedOutput)
            Matrix(t, "output.weight", o.WeightType, cols: d, rows: vocab);               // {d, V}
        return w;
    }

    /// <summary>
    /// The divisors convert_hf_to_gguf derives for Llama 3 scaling, one per rotary frequency
    /// theta_i = base^(-2i/hd): 1 for short wavelengths, <c>Factor</c> for long ones, a smooth blend between.
    /// llama.cpp divides each frequency by its entry.
    /// </summary>
    public static float[] Llama3RopeFactors(Llama3RopeScaling s, float ropeTheta, int headDim)
    {
        var factors = new float[headDim / 2];
        double lowFreqWavelen = s.OriginalContextLength / s.LowFreqFactor;
        double highFreqWavelen = s.OriginalContextLength / s.HighFreqFactor;
        for (int i = 0; i < factors.Length; i++)
        {
            double freq = 1.0 / Math.Pow(ropeTheta, 2.0 * i / headDim);
            double wavelen = 2 * Math.PI / freq;
            if (wavelen < highFreqWavelen)
                factors[i] = 1f;
            else if (wavelen > lowFreqWavelen)
                factors[i] = s.Factor;
            else
            {
                double smooth = (s.OriginalContextLength / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                factors[i] = (float)(1 / ((1 - smooth) / s.Factor + smooth));
            }
        }
        return factors;
    }

    /// <summary>
    /// A deepseek2 model as convert_hf_to_gguf writes DeepSeek V2/V3 (conversion/deepseek.py, DeepseekV2Model) and
    /// llama.cpp loads it (src/models/deepseek2.cpp: load_arch_hparams, load_arch_tensors and the graph).
    /// </summary>
    /// <remarks>
    /// Glossary: d = Dim, nh = Heads, qr = QLoraRank, kr = KvLoraRank, nope / rope / v = per-head widths,
    /// qk = nope + rope, ff = FfnDim (leading dense blocks), E = Experts, fe = ExpertFfnDim, S = SharedExperts.
    /// Shapes are ggml order {ne0, ne1, ne2}; a 3-D expert tensor is E matrices of {ne0, ne1}.
    ///
    /// Scales beyond the general ones: the router (ffn_gate_inp) has std 2/sqrt(d), so its logits have spread about
    /// 2 and each token's top-k is decided by clear margins and differs between tokens; the correction bias has
    /// mean 0 and std 0.1, about a third of the sigmoid scores' spread, so it changes some tokens' choice, not all.
    ///
    /// The attention keys are the converter's MLA layout when SplitKvB (head_count_kv 1, key_length kr + rope and
    /// value_length kr describe the latent cache; key/value_length_mla the per-head widths qk and v), else the
    /// layout of GGUFs converted before the split (head_count_kv nh, key_length qk, value_length v, no *_mla keys),
    /// which llama.cpp runs as ordinary multi-head attention. attention.q_lora_rank is written even when 0: the
    /// converter omits it for V2-Lite, but llama.cpp then only accepts the file because V2-Lite has 27 layers (it
    /// takes 26 or 27 layers to mean "no q_lora_rank key") and requires the key for every other layer count.
    /// </remarks>
    public static GgufWriter CreateDeepSeek2Writer(TinyModelOptions o, TinyDeepSeek2 ds, bool streaming = false)
    {
        const string arch = "deepseek2";
        int d = o.Dim, nh = o.Heads, ff = o.FfnDim, vocab = o.Tokenizer.VocabSize;
        int qr = ds.QLoraRank, kr = ds.KvLoraRank, nope = ds.NopeDim, rope = ds.RopeDim, v = ds.ValueDim, qk = ds.QkHeadDim;
        int experts = ds.Experts, fe = ds.ExpertFfnDim, shared = fe * ds.SharedExperts;
        var w = new GgufWriter();
        var t = new TensorSink(w, new Random(o.Seed), streaming);

        w.Set("general.architecture", arch);
        w.Set("general.name", $"seeksharp-tiny-{arch}");
        w.Set($"{arch}.context_length", (uint)o.ContextLength);
        w.Set($"{arch}.embedding_length", (uint)d);
        w.Set($"{arch}.block_count", (uint)o.Layers);
        w.Set($"{arch}.feed_forward_length", (uint)ff);
        w.Set($"{arch}.attention.head_count", (uint)nh);
        w.Set($"{arch}.attention.head_count_kv", ds.SplitKvB ? 1u : (uint)nh);
        w.Set($"{arch}.attention.key_length", (uint)(ds.SplitKvB ? kr + rope : qk));
        w.Set($"{arch}.attention.value_length", (uint)(ds.SplitKvB ? kr : v));
        if (ds.SplitKvB)
        {
            w.Set($"{arch}.attention.key_length_mla", (uint)qk);
            w.Set($"{arch}.attention.value_length_mla", (uint)v);
        }
        w.Set($"{arch}.attention.q_lora_rank", (uint)qr);
        w.Set($"{arch}.attention.kv_lora_rank", (uint)kr);
        w.Set($"{arch}.attention.layer_norm_rms_epsilon", o.RmsNormEps);
        w.Set($"{arch}.rope.freq_base", o.RopeTheta);
        w.Set($"{arch}.rope.dimension_count", (uint)rope);
        if (ds.Yarn is { } yarn)
        {
            w.Set($"{arch}.rope.scaling.type", "yarn");
            w.Set($"{arch}.rope.scaling.factor", yarn.Factor);
            w.Set($"{arch}.rope.scaling.original_context_length", (uint)yarn.OriginalContextLength);
            w.Set($"{arch}.rope.scaling.yarn_log_multiplier", 0.1f * yarn.MscaleAllDim);
            w.Set($"{arch}.rope.scaling.yarn_beta_fast", yarn.BetaFast);
            w.Set($"{arch}.rope.scaling.yarn_beta_slow", yarn.BetaSlow);
        }
        w.Set($"{arch}.leading_dense_block_count", (uint)ds.LeadingDenseBlocks);
        w.Set($"{arch}.expert_count", (uint)experts);
        w.Set($"{arch}.expert_used_count", (uint)ds.ExpertsUsed);
        w.Set($"{arch}.expert_shared_count", (uint)ds.SharedExperts);
        w.Set($"{arch}.expert_feed_forward_length", (uint)fe);
        w.Set($"{arch}.expert_weights_scale", ds.WeightsScale);
        w.Set($"{arch}.expert_weights_norm", ds.WeightsNorm);
        w.Set($"{arch}.expert_gating_func", (uint)ds.Gating);
        w.Set($"{arch}.expert_group_count", (uint)ds.ExpertGroups);
        w.Set($"{arch}.expert_group_used_count", (uint)ds.ExpertGroupsUsed);
        w.Set($"{arch}.vocab_size", (uint)vocab);
        o.Tokenizer.Write(w);

        Matrix(t, "token_embd.weight", o.WeightType, cols: d, rows: vocab, std: o.TiedOutput ? null : 1.0); // {d, V}

        // The random stream is consumed in the same order whatever SplitKvB and CorrectionBias say, so those two
        // switches change how one model is stored, not the model.
        for (int layer = 0; layer < o.Layers; layer++)
        {
            string p = $"blk.{layer}.";
            Norm(t, p + "attn_norm.weight", d);                                            // {d}
            if (qr > 0)
            {
                Matrix(t, p + "attn_q_a.weight", o.WeightType, cols: d, rows: qr);        // {d, qr}
                Norm(t, p + "attn_q_a_norm.weight", qr);                                   // {qr}
                Matrix(t, p + "attn_q_b.weight", o.WeightType, cols: qr, rows: nh * qk);  // {qr, nh*qk}
            }
            else
                Matrix(t, p + "attn_q.weight", o.WeightType, cols: d, rows: nh * qk);     // {d, nh*qk}
            // Output rows: the kr latent entries, then the one roped key shared by all heads.
            Matrix(t, p + "attn_kv_a_mqa.weight", o.WeightType, cols: d, rows: kr + rope); // {d, kr+rope}
            Norm(t, p + "attn_kv_a_norm.weight", kr);                                      // {kr}
            // Drawn once for both halves, by whichever tensor asks first (Lazy keeps the stream's order when streaming).
            var kvB = t.Draw((long)nh * (nope + v) * kr, 0, 1.0 / Math.Sqrt(kr));              // [nh*(nope+v), kr]
            if (ds.SplitKvB)
            {
                var split = new Lazy<(float[] KB, float[] VB)>(() => SplitKvB(kvB.Value, nh, nope, v, kr), LazyThreadSafetyMode.None);
                t.Add(p + "attn_k_b.weight", o.WeightType, [nope, kr, nh], () => split.Value.KB); // {nope, kr, nh}
                t.Add(p + "attn_v_b.weight", o.WeightType, [kr, v, nh], () => split.Value.VB);    // {kr, v, nh}
            }
            else
                t.Add(p + "attn_kv_b.weight", o.WeightType, [kr, nh * (nope + v)], () => kvB.Value); // {kr, nh*(nope+v)}
            Matrix(t, p + "attn_output.weight", o.WeightType, cols: nh * v, rows: d);     // {nh*v, d}
            Norm(t, p + "ffn_norm.weight", d);                                             // {d}

            if (layer < ds.LeadingDenseBlocks)
            {
                Matrix(t, p + "ffn_gate.weight", o.WeightType, cols: d, rows: ff);        // {d, ff}
                Matrix(t, p + "ffn_up.weight", o.WeightType, cols: d, rows: ff);          // {d, ff}
                Matrix(t, p + "ffn_down.weight", o.WeightType, cols: ff, rows: d);        // {ff, d}
                continue;
            }
            // The router stays F32 like every converted or quantized file (convert_hf_to_gguf and llama-quantize
            // never quantize ffn_gate_inp); 1-D tensors are F32 anyway.
            Matrix(t, p + "ffn_gate_inp.weight", GgmlType.F32, cols: d, rows: experts, std: 2.0 / Math.Sqrt(d)); // {d, E}
            // The bias is drawn even when not written, before the experts (forced by them if no tensor asked for it).
            var bias = t.Draw(experts, 0, 0.1);
            if (ds.CorrectionBias)
                t.Add(p + "exp_probs_b.bias", GgmlType.F32, [experts], () => bias.Value);     // {E}
            t.Add(p + "ffn_gate_exps.weight", o.WeightType, [d, fe, experts], () =>            // {d, fe, E}
            {
                _ = bias.Value;
                return t.Draw((long)experts * fe * d, 0, 1.0 / Math.Sqrt(d)).Value;
            });
            t.Add(p + "ffn_up_exps.weight", o.WeightType, [d, fe, experts], () => t.Draw((long)experts * fe * d, 0, 1.0 / Math.Sqrt(d)).Value);    // {d, fe, E}
            t.Add(p + "ffn_down_exps.weight", o.WeightType, [fe, d, experts], () => t.Draw((long)experts * d * fe, 0, 1.0 / Math.Sqrt(fe)).Value); // {fe, d, E}
            Matrix(t, p + "ffn_gate_shexp.weight", o.WeightType, cols: d, rows: shared);  // {d, fe*S}
            Matrix(t, p + "ffn_up_shexp.weight", o.WeightType, cols: d, rows: shared);    // {d, fe*S}
            Matrix(t, p + "ffn_down_shexp.weight", o.WeightType, cols: shared, rows: d);  // {fe*S, d}
        }

        Norm(t, "output_norm.weight", d);                                                  // {d}
        if (!o.TiedOutput)
            Matrix(t, "output.weight", o.WeightType, cols: d, rows: vocab);               // {d, V}
        return w;
    }

    /// <summary>
    /// Splits Hugging Face's kv_b_proj exactly as convert_hf_to_gguf does for weight-absorbed MLA. kv_b maps the kr
    /// latent to each head's nope key rows followed by its v value rows: [nh*(nope+v), kr] row-major, which is ggml
    /// {kr, nh*(nope+v)}. Per head, the key part is transposed (k_b[h][c][n] = kv_b[h*(nope+v) + n][c], ggml
    /// {nope, kr, nh}) so that llama.cpp can absorb it into the query; the value part is kept (v_b[h][j][c] =
    /// kv_b[h*(nope+v) + nope + j][c], ggml {kr, v, nh}).
    /// </summary>
    public static (float[] KB, float[] VB) SplitKvB(ReadOnlySpan<float> kvB, int heads, int nope, int v, int kvLoraRank)
    {
        int kr = kvLoraRank, rowsPerHead = nope + v;
        if (kvB.Length != (long)heads * rowsPerHead * kr)
            throw new ArgumentException($"kv_b has {kvB.Length} values, expected {heads} * ({nope} + {v}) * {kr}.", nameof(kvB));
        var kB = new float[heads * kr * nope];
        var vB = new float[heads * v * kr];
        for (int h = 0; h < heads; h++)
        {
            for (int n = 0; n < nope; n++)
                for (int c = 0; c < kr; c++)
                    kB[(h * kr + c) * nope + n] = kvB[(h * rowsPerHead + n) * kr + c];
            for (int j = 0; j < v; j++)
                kvB.Slice((h * rowsPerHead + nope + j) * kr, kr).CopyTo(vB.AsSpan((h * v + j) * kr, kr));
        }
        return (kB, vB);
    }

    private static void ValidateDeepSeek2(TinyModelOptions o, TinyDeepSeek2 ds)
    {
        if (o.Dim <= 0 || o.Heads <= 0 || o.Layers <= 0 || o.FfnDim <= 0 || ds.QLoraRank < 0 || ds.KvLoraRank <= 0 ||
            ds.NopeDim <= 0 || ds.RopeDim <= 0 || ds.ValueDim <= 0 || ds.Experts <= 0 || ds.ExpertsUsed <= 0 ||
            ds.SharedExperts <= 0 || ds.ExpertFfnDim <= 0)
            throw new ArgumentException($"Sizes must be positive (QLoraRank may be 0; llama.cpp's deepseek2 graph always runs a shared expert): {o}.");
        if (ds.RopeDim % 2 != 0)
            throw new ArgumentException($"RopeDim {ds.RopeDim} must be even: rotary embeddings turn pairs.");
        if (ds.LeadingDenseBlocks < 0 || ds.LeadingDenseBlocks > o.Layers)
            throw new ArgumentException($"LeadingDenseBlocks {ds.LeadingDenseBlocks} must be within 0..Layers ({o.Layers}).");
        if (ds.ExpertsUsed > ds.Experts)
            throw new ArgumentException($"ExpertsUsed {ds.ExpertsUsed} exceeds Experts {ds.Experts}.");
        // llama.cpp's loader asserts n_expert_groups < n_expert and, with groups, n_expert % groups == 0 and
        // 0 < n_group_used < groups; its graph scores a group by the sum of its two best experts.
        if (ds.ExpertGroups < 1 || ds.ExpertGroups >= ds.Experts || ds.Experts % ds.ExpertGroups != 0)
            throw new ArgumentException($"ExpertGroups {ds.ExpertGroups} must divide Experts {ds.Experts} into more than one expert per group.");
        int perGroup = ds.Experts / ds.ExpertGroups;
        if (ds.ExpertGroups == 1 ? ds.ExpertGroupsUsed != 1 : ds.ExpertGroupsUsed < 1 || ds.ExpertGroupsUsed >= ds.ExpertGroups || perGroup < 2)
            throw new ArgumentException($"ExpertGroupsUsed {ds.ExpertGroupsUsed} must be 1 with one group, else 1..{ds.ExpertGroups - 1} of groups of at least 2 experts.");
        if (ds.ExpertsUsed > ds.ExpertGroupsUsed * perGroup)
            throw new ArgumentException($"ExpertsUsed {ds.ExpertsUsed} exceeds the {ds.ExpertGroupsUsed * perGroup} experts of the used groups.");
        if (ds.QLoraRank > 0 && o.Layers is 26 or 27)
            throw new ArgumentException($"llama.cpp takes {o.Layers} layers to mean V2-Lite and ignores q_lora_rank; use QLoraRank 0 or another layer count.");
        if (ds.Yarn is { } yarn && (yarn.Factor < 1 || yarn.OriginalContextLength <= 0 || yarn.MscaleAllDim <= 0))
            throw new ArgumentException($"YaRN needs Factor >= 1, a positive original context and a positive mscale_all_dim: {yarn}.");
        if (ds.Yarn is { } beta && (beta.BetaFast != 32f || beta.BetaSlow != 1f))
            throw new ArgumentException("llama.cpp's deepseek2 loader ignores yarn_beta_fast/slow and always uses 32 and 1; other values would not be tested.");
        if (o.Llama3Scaling is not null)
            throw new ArgumentException("Llama 3 rope scaling (rope_freqs.weight) is only written for the llama architecture.");
        int block = TensorTypes.BlockSize(o.WeightType);
        var widths = new List<int> { o.Dim, ds.KvLoraRank, o.Heads * ds.ValueDim, o.FfnDim, ds.ExpertFfnDim, ds.ExpertFfnDim * ds.SharedExperts };
        if (ds.QLoraRank > 0)
            widths.Add(ds.QLoraRank);
        if (ds.SplitKvB)
            widths.Add(ds.NopeDim); // attn_k_b rows are nope wide
        foreach (int width in widths)
            if (width % block != 0)
                throw new ArgumentException($"{o.WeightType} needs every weight input width to be a multiple of {block}; {width} is not.");
    }

    private static void Validate(TinyModelOptions o)
    {
        if ((o.Architecture == TinyArchitecture.DeepSeek2) != (o.DeepSeek2 is not null))
            throw new ArgumentException("DeepSeek2 options are required for the deepseek2 architecture and only allowed there.");
        if (o.DeepSeek2 is { } ds)
        {
            ValidateDeepSeek2(o, ds);
            return;
        }
        if (o.Dim <= 0 || o.Heads <= 0 || o.KvHeads <= 0 || o.Layers <= 0 || o.FfnDim <= 0)
            throw new ArgumentException($"Sizes must be positive: {o}.");
        if ((o.ExplicitHeadDim == 0 && o.Dim % o.Heads != 0) || o.HeadDim % 2 != 0)
            throw new ArgumentException($"Dim {o.Dim} must split into {o.Heads} heads of even width.");
        if (o.Heads % o.KvHeads != 0)
            throw new ArgumentException($"Heads {o.Heads} must be a multiple of KvHeads {o.KvHeads} (grouped-query attention).");
        int block = TensorTypes.BlockSize(o.WeightType);
        foreach (int width in new[] { o.Dim, o.Heads * o.HeadDim, o.FfnDim })
            if (width % block != 0)
                throw new ArgumentException($"{o.WeightType} needs every weight input width to be a multiple of {block}; {width} is not.");
        if (o.Llama3Scaling is not null && o.Architecture != TinyArchitecture.Llama)
            throw new ArgumentException("Llama 3 rope scaling (rope_freqs.weight) is only written for the llama architecture.");
    }

    // A [rows, cols] weight, row-major, entries with mean 0 and std 1/sqrt(cols) unless given.
    private static void Matrix(TensorSink t, string name, GgmlType type, int cols, int rows, double? std = null) =>
        t.Add(name, type, [cols, rows], () => t.Draw((long)rows * cols, 0, std ?? 1.0 / Math.Sqrt(cols)).Value);

    private static void Norm(TensorSink t, string name, int n) => Vector(t, name, n, mean: 1, std: 0.1);

    private static void Vector(TensorSink t, string name, int n, double mean, double std) =>
        t.Add(name, GgmlType.F32, [n], () => t.Draw(n, mean, std).Value);

    /// <summary>
    /// Where the builders put tensors: drawn at once and held by the writer, or (streaming) drawn when the writer
    /// reaches each tensor, which it does in the order they were added. Both consume the one random stream in that
    /// order, so streaming gives the same file while holding one tensor's values at a time.
    /// </summary>
    private sealed class TensorSink(GgufWriter writer, Random rng, bool streaming)
    {
        /// <summary>Adds a tensor whose float values <paramref name="values"/> gives, encoded to <paramref name="type"/>.</summary>
        public void Add(string name, GgmlType type, long[] shape, Func<float[]> values)
        {
            if (!streaming)
            {
                writer.AddTensor(name, type, shape, values());
                return;
            }
            writer.AddTensor(name, type, shape, () =>
            {
                float[] v = values();
                var data = new byte[TensorTypes.RowBytes(type, shape[0]) * (v.LongLength / shape[0])];
                TensorTypes.Quantize(type, v, data);
                return data;
            });
        }

        /// <summary>
        /// count values with the given mean and std (see Fill), drawn on first use: for values a tensor's callback
        /// needs, or that two tensors share. Forcing it at the point where the eager builder drew keeps the stream.
        /// </summary>
        public Lazy<float[]> Draw(long count, double mean, double std) =>
            new(() =>
            {
                var values = new float[count];
                Fill(rng, values, mean, std);
                return values;
            }, LazyThreadSafetyMode.None);
    }

    // Uniform on [mean - sqrt(3)*std, mean + sqrt(3)*std], which has the requested mean and std. Random weights need
    // no Gaussian shape, and one NextDouble per value keeps a 150k-token vocab quick to build in Debug test runs.
    // System.Random's seeded sequence is stable across .NET versions and platforms.
    private static void Fill(Random rng, Span<float> values, double mean, double std)
    {
        double halfWidth = Math.Sqrt(3.0) * std;
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(mean + halfWidth * (2.0 * rng.NextDouble() - 1.0));
    }

    private static string CreateCacheDirectory()
    {
        DeleteDirectoriesOfDeadProcesses();
        string dir = Path.Combine(Path.GetTempPath(), $"{CacheDirectoryPrefix}{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { } // a file still mapped by llama.cpp; the OS temp cleaner gets it
            catch (UnauthorizedAccessException) { }
        };
        return dir;
    }

    private const string CacheDirectoryPrefix = "seeksharp-tiny-";

    // The test host may be killed without running ProcessExit handlers; its folder is removed by the next run.
    private static void DeleteDirectoriesOfDeadProcesses()
    {
        foreach (string dir in Directory.EnumerateDirectories(Path.GetTempPath(), CacheDirectoryPrefix + "*"))
        {
            if (!int.TryParse(Path.GetFileName(dir)[CacheDirectoryPrefix.Length..], out int pid) || IsAlive(pid))
                continue;
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}

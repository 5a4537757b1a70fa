using SeekSharp.Gguf;
using SeekSharp.Kernels;
using SeekSharp.Models;
using SeekSharp.Safetensors;
using SeekSharp.Tokenization;

namespace SeekSharp.HuggingFace;

/// <summary>
/// How each supported Hugging Face architecture maps to GGUF, following llama.cpp's convert_hf_to_gguf.py (TextModel,
/// LlamaModel, Qwen2Model, Qwen3Model, DeepseekV2Model): config.json keys to <c>{arch}.*</c> metadata in the order the
/// converter adds them, and checkpoint tensors to GGUF tensors with the converter's layout changes.
/// Glossary: D hidden size, L layers, H query heads, Hkv key/value heads, Dh head width, F feed-forward width,
/// V vocabulary, E routed experts, Fe expert width, N/R/Dv MLA's nope/rope/value head widths, C kv_lora_rank.
/// </summary>
internal static class HfModelMapping
{
    /// <summary>One architecture: its config.json <c>model_type</c>, the GGUF architecture it becomes, and what differs.</summary>
    /// <param name="PermuteQk">llama: Q/K rows are reordered from Hugging Face's half-split RoPE layout to the adjacent
    /// pairs llama.cpp's NORM rope expects (LlamaModel.permute).</param>
    /// <param name="QkvBias">qwen2: q/k/v projections carry biases.</param>
    /// <param name="QkNorm">qwen3: per-head q/k RMSNorm gains.</param>
    /// <param name="Mla">deepseek_v2/v3: multi-head latent attention and DeepSeekMoE.</param>
    sealed record Architecture(string GgufName, bool PermuteQk = false, bool QkvBias = false, bool QkNorm = false, bool Mla = false);

    static readonly Dictionary<string, Architecture> Known = new(StringComparer.Ordinal)
    {
        ["llama"] = new("llama", PermuteQk: true),
        ["qwen2"] = new("qwen2", QkvBias: true),
        ["qwen3"] = new("qwen3", QkNorm: true),
        ["deepseek_v2"] = new("deepseek2", Mla: true),
        ["deepseek_v3"] = new("deepseek2", Mla: true),
    };

    /// <summary>The supported <c>model_type</c> values, for messages.</summary>
    public static string SupportedModelTypes => string.Join(", ", Known.Keys);

    /// <summary>Maps the folder to a conversion plan whose 2-D weights are written as <paramref name="weightType"/> chooses.</summary>
    public static ConversionPlan Plan(string folder, HfWeightType weightType)
    {
        var config = HfConfig.Read(Path.Combine(folder, "config.json"));
        string modelType = config.ModelType;
        if (!Known.TryGetValue(modelType, out var arch))
            throw new ModelLoadException(config.Path,
                $"model_type '{modelType}' ({config.ArchitectureClass ?? "no architectures entry"}) is not supported; supported: {SupportedModelTypes}");

        int[]? blockSize = null;
        if (config.Object("quantization_config") is { } q)
        {
            string? method = q.String("quant_method");
            if (method != "fp8")
                throw new ModelLoadException(config.Path, $"quantization_config.quant_method is '{method}'; only DeepSeek's block-scaled 'fp8' checkpoints are supported");
            blockSize = q.IntArray("weight_block_size");
            if (blockSize is not { Length: 2 })
                throw new ModelLoadException(config.Path, "quantization_config.weight_block_size must be two positive integers (rows, columns of a scale block)");
        }

        var checkpoint = SafetensorsCheckpoint.Open(folder);
        try
        {
            var weights = new HfWeights(checkpoint, config, blockSize);
            var builder = new Builder(config, weights, arch, weightType);
            if (arch.Mla) builder.MapDeepSeek2(); else builder.MapLlamaLike();
            if (weights.Unused().FirstOrDefault() is { } stray)
                throw new SafetensorsFormatException(checkpoint.Find(stray)!.Value.File.Path, stray,
                    $"no {modelType} tensor is called this, so the conversion cannot place it (llama.cpp's converter stops with \"Can not map tensor\" too)");

            var metadata = builder.Metadata(folder);
            return new ConversionPlan(folder, metadata, builder.Tensors, checkpoint);
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    /// <summary>
    /// LlamaModel.permute: rows [heads, 2, Dh/2] become [heads, Dh/2, 2], so row h·Dh + 2i + j takes row
    /// h·Dh + j·Dh/2 + i: dimension i of the first half and i of the second half end up side by side.
    /// </summary>
    internal static float[] PermuteRows(float[] x, int heads, int hd, int cols)
    {
        var y = new float[x.Length];
        int half = hd / 2;
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < half; i++)
                for (int j = 0; j < 2; j++)
                    Array.Copy(x, (long)(h * hd + j * half + i) * cols, y, (long)(h * hd + 2 * i + j) * cols, cols);
        return y;
    }

    /// <summary>The Hugging Face row that <see cref="PermuteRows"/> moves to row <paramref name="row"/> (heads of <paramref name="hd"/> rows).</summary>
    internal static long PermutedSource(long row, int hd)
    {
        long h = row / hd, k = row % hd;
        return h * hd + (k % 2) * (hd / 2) + k / 2;
    }

    sealed class Builder(HfConfig c, HfWeights w, Architecture arch, HfWeightType weightType)
    {
        public readonly List<PlannedTensor> Tensors = [];
        // Metadata after general.*, in the converter's order; the tokenizer keys follow.
        readonly List<(string Key, object Value)> _params = [];
        int _vocab;
        GgmlType? _guessed;

        string A => arch.GgufName;
        void Set(string key, object value) => _params.Add(($"{A}.{key}", value));

        // convert_hf_to_gguf's tensor type rule: 1-D tensors, norms and the router stay F32 (llama.cpp's kernels
        // expect them so); other weights take the output type.
        GgmlType TypeOf(string ggufName, int dims, SafetensorsDType stored)
        {
            if (dims <= 1 || ggufName.EndsWith("_norm.weight", StringComparison.Ordinal) || ggufName.EndsWith("ffn_gate_inp.weight", StringComparison.Ordinal))
                return GgmlType.F32;
            return weightType switch
            {
                HfWeightType.F32 => GgmlType.F32,
                HfWeightType.F16 => GgmlType.F16,
                HfWeightType.BF16 => GgmlType.BF16,
                HfWeightType.Source => HfWeights.StoredAs(stored),
                _ => _guessed ??= Guess(),
            };
        }

        // The converter's --outtype auto: the first matrix stored in BF16 or F16 decides; F16 when there is none.
        GgmlType Guess()
        {
            foreach (string name in w.Checkpoint.TensorNames)
            {
                var info = w.Checkpoint.Find(name)!.Value.Info;
                if (info.Shape.Length < 2) continue;
                if (info.DType == SafetensorsDType.BF16) return GgmlType.BF16;
                if (info.DType == SafetensorsDType.F16) return GgmlType.F16;
            }
            return GgmlType.F16;
        }

        /// <summary>A tensor copied as stored (or re-encoded), its shape reversed into ggml order.</summary>
        void Copy(string gguf, string hf, params long[] shape)
        {
            var (file, info) = w.Require(hf, shape);
            var type = TypeOf(gguf, shape.Length, info.DType);
            bool direct = type == GgmlType.F32 && info.DType == SafetensorsDType.F32
                || type == GgmlType.F16 && info.DType == SafetensorsDType.F16
                || type == GgmlType.BF16 && info.DType == SafetensorsDType.BF16;
            Tensors.Add(new PlannedTensor(gguf, type, Ggml(shape), direct ? null : (first, n, dst) => w.DecodeRows(hf, first, n, dst), direct ? (file, info) : null));
        }

        /// <summary>A tensor whose rows are computed from checkpoint tensors; <paramref name="stored"/> is the source dtype.</summary>
        void Computed(string gguf, long[] ggmlShape, SafetensorsDType stored, RowFill rows) =>
            Tensors.Add(new PlannedTensor(gguf, TypeOf(gguf, ggmlShape.Length, stored), ggmlShape, rows, null));

        static long[] Ggml(long[] rowMajor) => rowMajor.Reverse().ToArray();

        SafetensorsDType DTypeOf(string hf) => w.Checkpoint.Find(hf)!.Value.Info.DType;

        // ---- llama, qwen2, qwen3 ----

        public void MapLlamaLike()
        {
            int d = c.Int("hidden_size", "the embedding width");
            int layers = c.Int("num_hidden_layers", "the layer count");
            int nHead = c.Int("num_attention_heads", "attention");
            int nKv = c.IntOrNull("num_key_value_heads") ?? nHead;
            int ff = c.Int("intermediate_size", "the feed-forward width");
            _vocab = c.Int("vocab_size", "the token embedding");
            int? headDimKey = c.IntOrNull("head_dim");
            if (nHead == 0 || nKv == 0 || (headDimKey is null && d % nHead != 0))
                throw new ModelLoadException(c.Path, $"hidden_size {d} does not split into num_attention_heads {nHead} (and there is no head_dim)");
            int hd = headDimKey ?? d / nHead;
            bool tied = c.BoolOrNull("tie_word_embeddings") ?? false;

            BaseParams(layers, nHead, nKv, ff, d);
            if (headDimKey is { } h) { Set("attention.key_length", (uint)h); Set("attention.value_length", (uint)h); }
            float[]? ropeFactors = RopeScaling(hd);
            if (arch.PermuteQk)
            {
                Set("vocab_size", (uint)_vocab);
                Set("rope.dimension_count", (uint)hd);
            }

            Copy("token_embd.weight", "model.embed_tokens.weight", _vocab, d);
            if (ropeFactors is not null)
                Computed("rope_freqs.weight", [ropeFactors.Length], SafetensorsDType.F32, (_, _, dst) => ropeFactors.CopyTo(dst));
            for (int i = 0; i < layers; i++)
            {
                string p = $"model.layers.{i}.", b = $"blk.{i}.";
                Copy(b + "attn_norm.weight", p + "input_layernorm.weight", d);
                QkProjection(b + "attn_q", p + "self_attn.q_proj", nHead, hd, d, nHead);
                QkProjection(b + "attn_k", p + "self_attn.k_proj", nKv, hd, d, nHead);
                Copy(b + "attn_v.weight", p + "self_attn.v_proj.weight", nKv * hd, d);
                if (arch.QkvBias || w.Has(p + "self_attn.v_proj.bias"))
                    Copy(b + "attn_v.bias", p + "self_attn.v_proj.bias", nKv * hd);
                Copy(b + "attn_output.weight", p + "self_attn.o_proj.weight", d, nHead * hd);
                if (w.Has(p + "self_attn.o_proj.bias")) Copy(b + "attn_output.bias", p + "self_attn.o_proj.bias", d);
                if (arch.QkNorm)
                {
                    Copy(b + "attn_q_norm.weight", p + "self_attn.q_norm.weight", hd);
                    Copy(b + "attn_k_norm.weight", p + "self_attn.k_norm.weight", hd);
                }
                Copy(b + "ffn_norm.weight", p + "post_attention_layernorm.weight", d);
                Copy(b + "ffn_gate.weight", p + "mlp.gate_proj.weight", ff, d);
                Copy(b + "ffn_up.weight", p + "mlp.up_proj.weight", ff, d);
                Copy(b + "ffn_down.weight", p + "mlp.down_proj.weight", d, ff);
                w.Skip(p + "self_attn.rotary_emb.inv_freq");
            }
            Copy("output_norm.weight", "model.norm.weight", d);
            Output(tied, d);
        }

        // q/k projections (and their biases): llama permutes the rows of each head so that the two rotated halves of
        // Hugging Face's rotate_half become adjacent pairs (LlamaModel.permute); qwen keeps them (NEOX rope).
        void QkProjection(string gguf, string hf, int heads, int hd, int d, int nHead)
        {
            bool bias = arch.QkvBias || w.Has(hf + ".bias");
            if (!arch.PermuteQk)
            {
                Copy(gguf + ".weight", hf + ".weight", heads * hd, d);
                if (bias) Copy(gguf + ".bias", hf + ".bias", heads * hd);
                return;
            }
            w.Require(hf + ".weight", heads * hd, d);
            Computed(gguf + ".weight", [d, heads * hd], DTypeOf(hf + ".weight"), (first, n, dst) =>
            {
                for (int r = 0; r < n; r++)
                    w.DecodeRows(hf + ".weight", PermutedSource(first + r, hd), 1, dst.Slice(r * d, d));
            });
            if (bias)
            {
                // One row: the bias vector, permuted as a column of the weight.
                w.Require(hf + ".bias", heads * hd);
                Computed(gguf + ".bias", [heads * hd], DTypeOf(hf + ".bias"), (_, _, dst) =>
                {
                    var x = new float[heads * hd];
                    w.DecodeRows(hf + ".bias", 0, 1, x);
                    PermuteRows(x, heads, hd, 1).CopyTo(dst);
                });
            }
        }

        void Output(bool tied, int d)
        {
            if (tied)
            {
                // The output projection is the embedding; the converter drops a stored copy.
                w.Skip("lm_head.weight");
                return;
            }
            Copy("output.weight", "lm_head.weight", _vocab, d);
        }

        // TextModel.set_gguf_parameters: the keys every architecture writes, in its order.
        void BaseParams(int layers, int nHead, int nKv, int ff, int d)
        {
            Set("block_count", (uint)layers);
            if (c.IntOrNull("max_position_embeddings") is { } ctx) Set("context_length", (uint)ctx);
            Set("embedding_length", (uint)d);
            Set("feed_forward_length", (uint)ff);
            Set("attention.head_count", (uint)nHead);
            Set("attention.head_count_kv", (uint)nKv);
            if (c.FloatOrNull("rope_theta") is { } theta) Set("rope.freq_base", theta);
            if (c.FloatOrNull("rms_norm_eps") is { } eps) Set("attention.layer_norm_rms_epsilon", eps);
        }

        /// <summary>
        /// rope_scaling: "linear" is written as a scaling type and factor; "llama3" (Llama 3.1, R1-Distill-Llama) as
        /// the rope_freqs tensor of per-pair divisors LlamaModel.generate_extra_tensors computes; "yarn" only for
        /// DeepSeek, whose loader is the one that reads it. Anything else is refused by name.
        /// </summary>
        float[]? RopeScaling(int ropeDim)
        {
            if (c.Object("rope_scaling") is not { } s) return null;
            string type = s.String("rope_type") ?? s.String("type") ?? "default";
            switch (type)
            {
                case "default":
                    return null;
                case "linear":
                    Set("rope.scaling.type", "linear");
                    Set("rope.scaling.factor", s.FloatOrNull("factor") ?? throw c.Missing("rope_scaling.factor", "linear RoPE scaling"));
                    return null;
                case "llama3" when arch.PermuteQk:
                    return Llama3RopeFactors(s, ropeDim);
                case "yarn" when arch.Mla:
                    float factor = s.FloatOrNull("factor") ?? throw c.Missing("rope_scaling.factor", "YaRN");
                    Set("rope.scaling.type", "yarn");
                    Set("rope.scaling.factor", factor);
                    Set("rope.scaling.original_context_length", (uint)(s.IntOrNull("original_max_position_embeddings")
                        ?? throw c.Missing("rope_scaling.original_max_position_embeddings", "YaRN")));
                    if (s.FloatOrNull("beta_fast") is { } fast) Set("rope.scaling.yarn_beta_fast", fast);
                    if (s.FloatOrNull("beta_slow") is { } slow) Set("rope.scaling.yarn_beta_slow", slow);
                    return null;
                default:
                    throw new ModelLoadException(c.Path, $"rope_scaling type '{type}' is not supported for {c.ModelType} (supported: none, linear{(arch.PermuteQk ? ", llama3" : "")}{(arch.Mla ? ", yarn" : "")})");
            }
        }

        // Llama 3.1's frequency-dependent scaling: wavelengths shorter than the high-frequency bound are kept, longer
        // than the low-frequency bound divided by factor, with a smooth blend between (computed in float32 as the
        // converter's torch code does).
        float[] Llama3RopeFactors(HfConfig.Section s, int dim)
        {
            float theta = c.FloatOrNull("rope_theta") ?? 10000f;
            float factor = s.FloatOrNull("factor") ?? 8f, low = s.FloatOrNull("low_freq_factor") ?? 1f, high = s.FloatOrNull("high_freq_factor") ?? 4f;
            float old = s.FloatOrNull("original_max_position_embeddings") ?? 8192f;
            float lowWavelen = old / low, highWavelen = old / high;
            var factors = new float[dim / 2];
            for (int i = 0; i < factors.Length; i++)
            {
                float freq = 1f / MathF.Pow(theta, 2f * i / dim);
                double wavelen = 2 * Math.PI / freq;
                if (wavelen < highWavelen) factors[i] = 1f;
                else if (wavelen > lowWavelen) factors[i] = factor;
                else
                {
                    double smooth = (old / wavelen - low) / (high - low);
                    factors[i] = (float)(1 / ((1 - smooth) / factor + smooth));
                }
            }
            return factors;
        }

        // ---- deepseek_v2, deepseek_v3 ----

        public void MapDeepSeek2()
        {
            const string why = "multi-head latent attention";
            int d = c.Int("hidden_size", "the embedding width");
            int layers = c.Int("num_hidden_layers", "the layer count");
            int nHead = c.Int("num_attention_heads", "attention");
            int ff = c.Int("intermediate_size", "the dense feed-forward width");
            _vocab = c.Int("vocab_size", "the token embedding");
            int? qLora = c.IntOrNull("q_lora_rank");
            int kvLora = c.IntOrNull("kv_lora_rank") ?? 512;
            int nope = c.Int("qk_nope_head_dim", why), rope = c.Int("qk_rope_head_dim", why), v = c.Int("v_head_dim", why);
            int? experts = c.IntOrNull("n_routed_experts");
            int fe = c.IntOrNull("moe_intermediate_size") ?? ff;
            int shared = c.IntOrNull("n_shared_experts") ?? 0;
            int dense = c.IntOrNull("first_k_dense_replace") ?? (experts is null ? layers : 0);
            bool tied = c.BoolOrNull("tie_word_embeddings") ?? false;

            // DeepseekV2Model.set_gguf_parameters: MLA runs as one shared KV head of the latent, so head_count_kv is 1.
            BaseParams(layers, nHead, 1, ff, d);
            if (c.IntOrNull("num_experts_per_tok") is { } used) Set("expert_used_count", (uint)used);
            if (c.IntOrNull("n_group") is { } groups) Set("expert_group_count", (uint)groups);
            if (c.IntOrNull("topk_group") is { } groupsUsed) Set("expert_group_used_count", (uint)groupsUsed);
            if (c.String("scoring_func") is { } scoring)
                Set("expert_gating_func", scoring switch
                {
                    "softmax" => (uint)ExpertGating.Softmax,
                    "sigmoid" => (uint)ExpertGating.Sigmoid,
                    _ => throw new ModelLoadException(c.Path, $"scoring_func '{scoring}' is not supported (softmax, sigmoid)"),
                });
            RopeScaling(rope);
            Set("leading_dense_block_count", (uint)dense);
            Set("vocab_size", (uint)_vocab);
            if (qLora is { } qRank) Set("attention.q_lora_rank", (uint)qRank);
            Set("attention.kv_lora_rank", (uint)kvLora);
            Set("attention.key_length", (uint)(kvLora + rope));
            Set("attention.value_length", (uint)kvLora);
            Set("attention.key_length_mla", (uint)(nope + rope));
            Set("attention.value_length_mla", (uint)v);
            Set("expert_feed_forward_length", (uint)fe);
            if (experts is { } e) Set("expert_count", (uint)e);
            Set("expert_shared_count", (uint)shared);
            if (c.FloatOrNull("routed_scaling_factor") is { } scale) Set("expert_weights_scale", scale);
            if (c.BoolOrNull("norm_topk_prob") == true) Set("expert_weights_norm", true);
            Set("rope.dimension_count", (uint)rope);
            if (c.Object("rope_scaling") is { } rs && rs.FloatOrNull("mscale_all_dim") is { } mscaleAll)
                // The converter stores 0.1 · mscale_all_dim here for DeepSeek (llama.cpp's TAG_DEEPSEEK2_YARN_LOG_MUL_FIX).
                Set("rope.scaling.yarn_log_multiplier", 0.1f * mscaleAll);

            Copy("token_embd.weight", "model.embed_tokens.weight", _vocab, d);
            for (int i = 0; i < layers; i++)
            {
                string p = $"model.layers.{i}.", b = $"blk.{i}.";
                Copy(b + "attn_norm.weight", p + "input_layernorm.weight", d);
                if (qLora is { } qr)
                {
                    Copy(b + "attn_q_a.weight", p + "self_attn.q_a_proj.weight", qr, d);
                    Copy(b + "attn_q_a_norm.weight", p + "self_attn.q_a_layernorm.weight", qr);
                    Copy(b + "attn_q_b.weight", p + "self_attn.q_b_proj.weight", nHead * (nope + rope), qr);
                }
                else Copy(b + "attn_q.weight", p + "self_attn.q_proj.weight", nHead * (nope + rope), d);
                Copy(b + "attn_kv_a_mqa.weight", p + "self_attn.kv_a_proj_with_mqa.weight", kvLora + rope, d);
                Copy(b + "attn_kv_a_norm.weight", p + "self_attn.kv_a_layernorm.weight", kvLora);
                SplitKvB(b, p + "self_attn.kv_b_proj.weight", nHead, nope, v, kvLora);
                Copy(b + "attn_output.weight", p + "self_attn.o_proj.weight", d, nHead * v);
                Copy(b + "ffn_norm.weight", p + "post_attention_layernorm.weight", d);
                if (i < dense || experts is null)
                {
                    Copy(b + "ffn_gate.weight", p + "mlp.gate_proj.weight", ff, d);
                    Copy(b + "ffn_up.weight", p + "mlp.up_proj.weight", ff, d);
                    Copy(b + "ffn_down.weight", p + "mlp.down_proj.weight", d, ff);
                }
                else
                {
                    int ne = experts.Value;
                    Copy(b + "ffn_gate_inp.weight", p + "mlp.gate.weight", ne, d);
                    if (w.Has(p + "mlp.gate.e_score_correction_bias"))
                        Copy(b + "exp_probs_b.bias", p + "mlp.gate.e_score_correction_bias", ne);
                    StackExperts(b + "ffn_gate_exps.weight", p, "gate_proj", ne, fe, d);
                    StackExperts(b + "ffn_down_exps.weight", p, "down_proj", ne, d, fe);
                    StackExperts(b + "ffn_up_exps.weight", p, "up_proj", ne, fe, d);
                    if (shared > 0)
                    {
                        Copy(b + "ffn_gate_shexp.weight", p + "mlp.shared_experts.gate_proj.weight", shared * fe, d);
                        Copy(b + "ffn_up_shexp.weight", p + "mlp.shared_experts.up_proj.weight", shared * fe, d);
                        Copy(b + "ffn_down_shexp.weight", p + "mlp.shared_experts.down_proj.weight", d, shared * fe);
                    }
                }
            }
            Copy("output_norm.weight", "model.norm.weight", d);
            Output(tied, d);

            // Multi-token-prediction layers (DeepSeek-V3's layer 61) follow the last block; the converter skips them.
            foreach (string name in w.Checkpoint.TensorNames)
                if (name.StartsWith("model.layers.", StringComparison.Ordinal)
                    && int.TryParse(name.AsSpan(13, name.IndexOf('.', 13) - 13), out int layer) && layer >= layers)
                    w.Skip(name);
        }

        /// <summary>
        /// DeepseekV2Model.modify_tensors: kv_b_proj [H·(N + Dv), C] becomes, per head, k_b = its key rows transposed
        /// (torch [H, C, N], ggml {N, C, H}) so llama.cpp can absorb it into the query, and v_b = its value rows
        /// (torch [H, Dv, C], ggml {C, Dv, H}).
        /// </summary>
        void SplitKvB(string b, string hf, int nHead, int nope, int v, int kvLora)
        {
            w.Require(hf, nHead * (nope + v), kvLora);
            var dtype = DTypeOf(hf);
            // k_b: ggml row h·C + c holds column c of head h's N key rows, a transpose, so each head's [N, C] block is decoded.
            Computed(b + "attn_k_b.weight", [nope, kvLora, nHead], dtype, (first, n, dst) =>
            {
                var rented = System.Buffers.ArrayPool<float>.Shared.Rent(nope * kvLora);
                var block = rented.AsSpan(0, nope * kvLora);
                for (long r = first; r < first + n;)
                {
                    long h = r / kvLora;
                    w.DecodeRows(hf, h * (nope + v), nope, block);
                    for (; r < first + n && r / kvLora == h; r++)
                    {
                        int cc = (int)(r % kvLora);
                        var row = dst.Slice((int)(r - first) * nope, nope);
                        for (int k = 0; k < nope; k++) row[k] = block[k * kvLora + cc];
                    }
                }
                System.Buffers.ArrayPool<float>.Shared.Return(rented);
            });
            // v_b: ggml row h·Dv + j is kv_b row h·(N + Dv) + N + j.
            Computed(b + "attn_v_b.weight", [kvLora, v, nHead], dtype, (first, n, dst) =>
            {
                for (long r = first; r < first + n;)
                {
                    long h = r / v, j = r % v;
                    int run = (int)Math.Min(first + n - r, v - j);
                    w.DecodeRows(hf, h * (nope + v) + nope + j, run, dst.Slice((int)(r - first) * kvLora, run * kvLora));
                    r += run;
                }
            });
        }

        /// <summary>The converter's torch.stack of experts 0..E-1: torch [E, rows, cols], ggml {cols, rows, E}.</summary>
        void StackExperts(string gguf, string p, string proj, int experts, int rows, int cols)
        {
            var names = Enumerable.Range(0, experts).Select(x => $"{p}mlp.experts.{x}.{proj}.weight").ToArray();
            foreach (var n in names) w.Require(n, rows, cols);
            // ggml row x·rows + i is row i of expert x.
            Computed(gguf, [cols, rows, experts], DTypeOf(names[0]), (first, n, dst) =>
            {
                for (long r = first; r < first + n;)
                {
                    long x = r / rows, i = r % rows;
                    int run = (int)Math.Min(first + n - r, rows - i);
                    w.DecodeRows(names[x], i, run, dst.Slice((int)(r - first) * cols, run * cols));
                    r += run;
                }
            });
        }

        /// <summary>general.* keys, the architecture's keys, general.file_type, the tokenizer, general.quantization_version.</summary>
        public IReadOnlyDictionary<string, object> Metadata(string folder)
        {
            var writer = new GgufWriter(3);
            writer.Set("general.architecture", A);
            writer.Set("general.type", "model");
            writer.Set("general.name", Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder))));
            foreach (var (k, v) in _params) writer.Set(k, v);
            writer.Set("general.file_type", FileType());
            GgufTokenizerMetadata.Write(writer, HfTokenizer.Load(folder, _vocab, c));
            writer.Set("general.quantization_version", 2u);
            return writer.Metadata;
        }

        // llama_ftype of the matrices: ALL_F32 0, MOSTLY_F16 1, MOSTLY_BF16 32 (the converter's ftype).
        uint FileType()
        {
            var matrices = Tensors.Where(t => t.Shape.Length >= 2 && t.Type != GgmlType.F32).Select(t => t.Type).ToArray();
            if (matrices.Length == 0) return 0;
            return matrices[0] == GgmlType.BF16 ? 32u : 1u;
        }
    }
}

using System.Text.Json;
using System.Text.Json.Nodes;
using SeekSharp.Kernels;
using SeekSharp.Kernels.Conversions;
using SeekSharp.Safetensors;

namespace SeekSharp.Conformance.Tests.TinyModels;

/// <summary>What a tiny Hugging Face folder holds: the architecture, its sizes and how the weights are stored.</summary>
internal sealed record TinyHfOptions
{
    /// <summary>config.json model_type: llama, qwen2, qwen3, deepseek_v2 or deepseek_v3.</summary>
    public string ModelType { get; init; } = "llama";
    /// <summary>The npm tokenizer package whose tokenizer.json and tokenizer_config.json are copied in.</summary>
    public string Tokenizer { get; init; } = "llama3_1";
    public int Dim { get; init; } = 64;
    public int Layers { get; init; } = 2;
    public int Heads { get; init; } = 4;
    public int KvHeads { get; init; } = 2;
    public int Ffn { get; init; } = 96;
    /// <summary>Explicit head_dim (qwen3 style), or 0 for Dim / Heads.</summary>
    public int HeadDim { get; init; }
    public bool Tied { get; init; }
    /// <summary>Extra ids beyond the tokenizer's, which the converter fills with [PADn] tokens.</summary>
    public int ExtraVocab { get; init; }
    /// <summary>Storage type of matrices (vectors follow it too, as in real checkpoints).</summary>
    public SafetensorsDType DType { get; init; } = SafetensorsDType.F32;
    /// <summary>Store the matrices of the blocks as F8_E4M3 with weight_scale_inv blocks of this size (DeepSeek-V3 style), or null.</summary>
    public int[]? Fp8Block { get; init; }
    /// <summary>Number of safetensors shards (1 = model.safetensors, more = an index).</summary>
    public int Shards { get; init; } = 1;
    public int Seed { get; init; } = 1;
}

/// <summary>
/// Writes small random-weight Hugging Face model folders (config.json, safetensors, the real tokenizer files of the npm
/// test packages) with SeekSharp's own <see cref="SafetensorsWriter"/>, laid out as transformers saves the
/// architecture: the input of the folder conversion and loading tests.
/// </summary>
internal static class TinyHfFolder
{
    public static int VocabOf(string tokenizer)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(RealTokenizers.Folder(tokenizer), "tokenizer.json")));
        int max = -1;
        foreach (var e in doc.RootElement.GetProperty("model").GetProperty("vocab").EnumerateObject()) max = Math.Max(max, e.Value.GetInt32());
        foreach (var a in doc.RootElement.GetProperty("added_tokens").EnumerateArray()) max = Math.Max(max, a.GetProperty("id").GetInt32());
        return max + 1;
    }

    /// <summary>Writes the folder into <paramref name="dir"/> (created) and returns it.</summary>
    public static string Build(TinyHfOptions o, string dir)
    {
        Directory.CreateDirectory(dir);
        int vocab = VocabOf(o.Tokenizer) + o.ExtraVocab;
        foreach (var f in new[] { "tokenizer.json", "tokenizer_config.json" })
            File.Copy(Path.Combine(RealTokenizers.Folder(o.Tokenizer), f), Path.Combine(dir, f), overwrite: true);

        var rng = new Random(o.Seed);
        var tensors = new List<(string Name, SafetensorsDType Type, long[] Shape, byte[] Data)>();
        bool mla = o.ModelType is "deepseek_v2" or "deepseek_v3";
        var config = mla ? DeepSeekConfig(o, vocab) : LlamaConfig(o, vocab);

        void Matrix(string name, int rows, int cols, float scale, bool blockWeight = true)
        {
            var values = Uniform(rng, rows * cols, scale);
            if (o.Fp8Block is { } block && blockWeight)
            {
                // Codes of moderate magnitude (never the NaN codes), and one scale per block of the grid.
                var codes = new byte[rows * cols];
                for (int i = 0; i < codes.Length; i++) codes[i] = (byte)(rng.Next(0x00, 0x50) | (rng.Next(2) << 7));
                int sr = (rows + block[0] - 1) / block[0], sc = (cols + block[1] - 1) / block[1];
                var scales = Uniform(rng, sr * sc, scale * 0.5f).Select(s => MathF.Abs(s) + scale * 0.05f).ToArray();
                tensors.Add((name, SafetensorsDType.F8E4M3, [rows, cols], codes));
                tensors.Add((name + "_scale_inv", SafetensorsDType.F32, [sr, sc], Floats(scales)));
                return;
            }
            tensors.Add((name, o.DType, [rows, cols], Encode(values, o.DType)));
        }
        void Vector(string name, int n, float center, float spread) =>
            tensors.Add((name, o.DType, [n], Encode(Uniform(rng, n, spread).Select(v => v + center).ToArray(), o.DType)));

        int d = o.Dim;
        Matrix("model.embed_tokens.weight", vocab, d, 1f, blockWeight: false);
        if (mla) DeepSeekBlocks(o, Matrix, Vector, config);
        else LlamaBlocks(o, Matrix, Vector);
        Vector("model.norm.weight", d, 1f, 0.1f);
        if (!o.Tied) Matrix("lm_head.weight", vocab, d, 0.5f, blockWeight: false);

        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        WriteShards(dir, tensors, o.Shards);
        return dir;
    }

    static JsonObject LlamaConfig(TinyHfOptions o, int vocab)
    {
        var c = new JsonObject
        {
            ["architectures"] = new JsonArray(o.ModelType switch { "llama" => "LlamaForCausalLM", "qwen2" => "Qwen2ForCausalLM", _ => "Qwen3ForCausalLM" }),
            ["model_type"] = o.ModelType,
            ["hidden_size"] = o.Dim,
            ["intermediate_size"] = o.Ffn,
            ["num_hidden_layers"] = o.Layers,
            ["num_attention_heads"] = o.Heads,
            ["num_key_value_heads"] = o.KvHeads,
            ["max_position_embeddings"] = 512,
            ["rms_norm_eps"] = 1e-5,
            ["rope_theta"] = o.ModelType == "llama" ? 500000.0 : 1000000.0,
            ["tie_word_embeddings"] = o.Tied,
            ["vocab_size"] = vocab,
            ["torch_dtype"] = o.DType == SafetensorsDType.BF16 ? "bfloat16" : "float32",
        };
        if (o.HeadDim > 0) c["head_dim"] = o.HeadDim;
        // As the released configs have them: Qwen's bos_token_id is not named in its tokenizer_config.json.
        if (o.Tokenizer == "qwen3") { c["bos_token_id"] = 151643; c["eos_token_id"] = 151645; }
        if (o.ModelType == "llama")
            c["rope_scaling"] = new JsonObject
            {
                ["factor"] = 8.0, ["high_freq_factor"] = 4.0, ["low_freq_factor"] = 1.0,
                ["original_max_position_embeddings"] = 64, ["rope_type"] = "llama3",
            };
        return c;
    }

    static void LlamaBlocks(TinyHfOptions o, Action<string, int, int, float, bool> matrix, Action<string, int, float, float> vector)
    {
        int d = o.Dim, hd = o.HeadDim > 0 ? o.HeadDim : d / o.Heads, q = o.Heads * hd, kv = o.KvHeads * hd;
        float s = 1f / MathF.Sqrt(d);
        for (int i = 0; i < o.Layers; i++)
        {
            string p = $"model.layers.{i}.";
            vector(p + "input_layernorm.weight", d, 1f, 0.1f);
            matrix(p + "self_attn.q_proj.weight", q, d, 2 * s, true);
            matrix(p + "self_attn.k_proj.weight", kv, d, 2 * s, true);
            matrix(p + "self_attn.v_proj.weight", kv, d, s, true);
            if (o.ModelType == "qwen2")
            {
                vector(p + "self_attn.q_proj.bias", q, 0f, 0.3f);
                vector(p + "self_attn.k_proj.bias", kv, 0f, 0.3f);
                vector(p + "self_attn.v_proj.bias", kv, 0f, 0.3f);
            }
            if (o.ModelType == "qwen3")
            {
                vector(p + "self_attn.q_norm.weight", hd, 1f, 0.2f);
                vector(p + "self_attn.k_norm.weight", hd, 1f, 0.2f);
            }
            matrix(p + "self_attn.o_proj.weight", d, q, s, true);
            vector(p + "post_attention_layernorm.weight", d, 1f, 0.1f);
            matrix(p + "mlp.gate_proj.weight", o.Ffn, d, s, true);
            matrix(p + "mlp.up_proj.weight", o.Ffn, d, s, true);
            matrix(p + "mlp.down_proj.weight", d, o.Ffn, 1f / MathF.Sqrt(o.Ffn), true);
        }
    }

    // A scaled-down DeepSeek-V3: compressed queries, MLA, one dense block then MoE blocks with a sigmoid router,
    // correction bias, grouped routing, a shared expert, YaRN, and one multi-token-prediction layer after the last block.
    static JsonObject DeepSeekConfig(TinyHfOptions o, int vocab)
    {
        bool v3 = o.ModelType == "deepseek_v3";
        var c = new JsonObject
        {
            ["architectures"] = new JsonArray(v3 ? "DeepseekV3ForCausalLM" : "DeepseekV2ForCausalLM"),
            ["model_type"] = o.ModelType,
            ["hidden_size"] = o.Dim,
            ["intermediate_size"] = o.Ffn,
            ["moe_intermediate_size"] = 32,
            ["num_hidden_layers"] = o.Layers,
            ["num_nextn_predict_layers"] = 1,
            ["num_attention_heads"] = o.Heads,
            ["num_key_value_heads"] = o.Heads,
            ["n_shared_experts"] = 1,
            ["n_routed_experts"] = 8,
            ["num_experts_per_tok"] = v3 ? 3 : 2,
            ["first_k_dense_replace"] = 1,
            ["n_group"] = v3 ? 4 : 1,
            ["topk_group"] = v3 ? 2 : 1,
            ["norm_topk_prob"] = v3,
            ["routed_scaling_factor"] = v3 ? 2.5 : 1.0,
            ["scoring_func"] = v3 ? "sigmoid" : "softmax",
            ["topk_method"] = v3 ? "noaux_tc" : "greedy",
            ["kv_lora_rank"] = 32,
            ["q_lora_rank"] = v3 ? 48 : null,
            ["qk_nope_head_dim"] = 16,
            ["qk_rope_head_dim"] = 8,
            ["v_head_dim"] = 16,
            ["max_position_embeddings"] = 256,
            ["rms_norm_eps"] = 1e-6,
            ["rope_theta"] = 10000,
            ["rope_scaling"] = new JsonObject
            {
                ["beta_fast"] = 32, ["beta_slow"] = 1, ["factor"] = 4, ["mscale"] = 1.0, ["mscale_all_dim"] = v3 ? 1.0 : 0.707,
                ["original_max_position_embeddings"] = 64, ["type"] = "yarn",
            },
            ["tie_word_embeddings"] = false,
            ["vocab_size"] = vocab,
        };
        if (o.Fp8Block is { } b)
            c["quantization_config"] = new JsonObject { ["activation_scheme"] = "dynamic", ["fmt"] = "e4m3", ["quant_method"] = "fp8", ["weight_block_size"] = new JsonArray(b[0], b[1]) };
        return c;
    }

    static void DeepSeekBlocks(TinyHfOptions o, Action<string, int, int, float, bool> matrix, Action<string, int, float, float> vector, JsonObject c)
    {
        int d = o.Dim, h = o.Heads, kr = 32, nope = 16, rope = 8, v = 16, fe = 32, experts = 8;
        int? qr = c["q_lora_rank"]?.GetValue<int>();
        float s = 1f / MathF.Sqrt(d);
        for (int i = 0; i <= o.Layers; i++)
        {
            string p = $"model.layers.{i}.";
            if (i == o.Layers)
            {
                // The multi-token-prediction layer: present in V3 checkpoints, skipped by the converter.
                matrix(p + "eh_proj.weight", d, 2 * d, s, true);
                vector(p + "enorm.weight", d, 1f, 0.1f);
                break;
            }
            vector(p + "input_layernorm.weight", d, 1f, 0.1f);
            if (qr is { } r)
            {
                matrix(p + "self_attn.q_a_proj.weight", r, d, s, true);
                vector(p + "self_attn.q_a_layernorm.weight", r, 1f, 0.1f);
                matrix(p + "self_attn.q_b_proj.weight", h * (nope + rope), r, 2f / MathF.Sqrt(r), true);
            }
            else matrix(p + "self_attn.q_proj.weight", h * (nope + rope), d, 2 * s, true);
            matrix(p + "self_attn.kv_a_proj_with_mqa.weight", kr + rope, d, 2 * s, true);
            vector(p + "self_attn.kv_a_layernorm.weight", kr, 1f, 0.1f);
            matrix(p + "self_attn.kv_b_proj.weight", h * (nope + v), kr, 2f / MathF.Sqrt(kr), true);
            matrix(p + "self_attn.o_proj.weight", d, h * v, s, true);
            vector(p + "post_attention_layernorm.weight", d, 1f, 0.1f);
            if (i == 0)
            {
                matrix(p + "mlp.gate_proj.weight", o.Ffn, d, s, true);
                matrix(p + "mlp.up_proj.weight", o.Ffn, d, s, true);
                matrix(p + "mlp.down_proj.weight", d, o.Ffn, 1f / MathF.Sqrt(o.Ffn), true);
                continue;
            }
            // Router in full precision as DeepSeek-V3 keeps it, with a spread that separates the top-k clearly.
            matrix(p + "mlp.gate.weight", experts, d, 4 * s, false);
            if (o.ModelType == "deepseek_v3") vector(p + "mlp.gate.e_score_correction_bias", experts, 0f, 0.05f);
            for (int x = 0; x < experts; x++)
            {
                matrix($"{p}mlp.experts.{x}.gate_proj.weight", fe, d, s, true);
                matrix($"{p}mlp.experts.{x}.up_proj.weight", fe, d, s, true);
                matrix($"{p}mlp.experts.{x}.down_proj.weight", d, fe, 1f / MathF.Sqrt(fe), true);
            }
            matrix(p + "mlp.shared_experts.gate_proj.weight", fe, d, s, true);
            matrix(p + "mlp.shared_experts.up_proj.weight", fe, d, s, true);
            matrix(p + "mlp.shared_experts.down_proj.weight", d, fe, 1f / MathF.Sqrt(fe), true);
        }
    }

    static void WriteShards(string dir, List<(string Name, SafetensorsDType Type, long[] Shape, byte[] Data)> tensors, int shards)
    {
        if (shards == 1)
        {
            var w = new SafetensorsWriter();
            w.SetMetadata("format", "pt");
            foreach (var t in tensors) w.Add(t.Name, t.Type, t.Shape, t.Data);
            w.Write(Path.Combine(dir, "model.safetensors"));
            return;
        }
        var map = new JsonObject();
        int per = (tensors.Count + shards - 1) / shards;
        for (int s = 0; s < shards; s++)
        {
            string name = $"model-{s + 1:D5}-of-{shards:D5}.safetensors";
            var w = new SafetensorsWriter();
            w.SetMetadata("format", "pt");
            // Shards hold tensors in a different order than the index lists them, as real checkpoints often do.
            foreach (var t in tensors.Skip(s * per).Take(per).Reverse())
            {
                w.Add(t.Name, t.Type, t.Shape, t.Data);
                map[t.Name] = name;
            }
            w.Write(Path.Combine(dir, name));
        }
        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = tensors.Sum(t => (long)t.Data.Length) }, ["weight_map"] = map };
        File.WriteAllText(Path.Combine(dir, SafetensorsCheckpoint.IndexFileName), index.ToJsonString());
    }

    static float[] Uniform(Random rng, int n, float scale)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return x;
    }

    static byte[] Floats(float[] values) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    static byte[] Encode(float[] values, SafetensorsDType type)
    {
        switch (type)
        {
            case SafetensorsDType.F32: return Floats(values);
            case SafetensorsDType.F16:
            case SafetensorsDType.BF16:
                var bytes = new byte[values.Length * 2];
                TensorTypes.Quantize(type == SafetensorsDType.F16 ? GgmlType.F16 : GgmlType.BF16, values, bytes);
                return bytes;
            default: throw new ArgumentOutOfRangeException(nameof(type), type, null);
        }
    }

    /// <summary>The value of a stored FP8 weight as the converter computes it (for tests that check a converted tensor).</summary>
    public static float Fp8Value(byte code, float scale) => Float8E4M3.ToSingle(code) * scale;
}

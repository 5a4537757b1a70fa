using SeekSharp.Gguf;
using SeekSharp.Kernels;

namespace SeekSharp.Quantization;

/// <summary>
/// Chooses the type of every tensor for a <see cref="LlamaFileType"/> mix, as llama.cpp's quantizer does
/// (src/llama-quant.cpp: tensor_allows_quantization, llama_tensor_get_type, tensor_type_fallback), so that a file we
/// quantize has the same per-tensor types as one llama-quantize writes from the same input.
/// </summary>
/// <remarks>
/// The rules that matter for the mixes we write:
/// <list type="bullet">
/// <item>Only weights of two or more dimensions are quantized; norms, biases and other 1-D tensors keep their type.</item>
/// <item>The output projection (and the token embedding when it doubles as the output, i.e. no <c>output.weight</c>)
/// gets Q6_K, unless the mix is Q8_0 (stays Q8_0) or its rows are not whole 256-blocks (Q8_0).</item>
/// <item>Q4_K_M / Q5_K_M give Q6_K to attn_v and ffn_down of the "more bits" layers: the first and last eighth of the
/// stack and every third layer between (llama.cpp's use_more_bits).</item>
/// <item>The low-bit mixes (Q2_K, Q3_K_*, Q4_K_S, IQ4_*) raise attn_v, ffn_down and attn_output by a type or two,
/// depending on the layer, on how many query heads share a key/value head, and on the expert count.</item>
/// <item>The 1- and 2-bit IQ mixes (IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ2_M) give the token embedding and the first
/// eighth of ffn_down Q2_K (IQ3_S in IQ2_S/IQ2_M), attn_v Q2_K/IQ3_S (Q4_K with few key/value heads or four or more
/// experts), attn_output IQ2_XXS (IQ1 mixes) or IQ3_S (IQ2_S/IQ2_M), the output Q5_K. They need an importance matrix
/// for every tensor they put in an IQ1/IQ2/IQ3_XXS type (<see cref="RequiresImportance"/>).</item>
/// <item>The 3-bit IQ mixes raise attn_v to Q4_K (IQ3_M always, the others with four or more query heads per key/value
/// head); IQ3_XS puts attn_q, attn_k and the middle of ffn_gate/ffn_up in IQ3_XXS, IQ3_XXS puts attn_q and attn_k in
/// IQ2_S and the token embedding and attn_output in IQ3_S.</item>
/// <item>A tensor whose rows are not whole blocks of its type falls back: Q2_K/Q3_K → Q4_0, Q4_K → Q5_0, Q5_K → Q5_1,
/// Q6_K → Q8_0, the IQ types of 256-blocks → IQ4_NL, and F16 when even that does not divide.</item>
/// </list>
/// The counters that number attn_v / ffn_down layers advance in llama.cpp's tensor order (by layer, then by name),
/// which <see cref="Plan"/> also uses as the output order.
/// </remarks>
public static class QuantizationRecipe
{
    /// <summary>The names <c>seek quantize</c> accepts, with their mix.</summary>
    public static IReadOnlyDictionary<string, LlamaFileType> Names { get; } = new Dictionary<string, LlamaFileType>(StringComparer.OrdinalIgnoreCase)
    {
        ["Q8_0"] = LlamaFileType.MostlyQ8_0,
        ["Q4_0"] = LlamaFileType.MostlyQ4_0,
        ["Q2_K"] = LlamaFileType.MostlyQ2_K,
        ["Q3_K_S"] = LlamaFileType.MostlyQ3_K_S,
        ["Q3_K_M"] = LlamaFileType.MostlyQ3_K_M,
        ["Q3_K_L"] = LlamaFileType.MostlyQ3_K_L,
        ["Q4_K_S"] = LlamaFileType.MostlyQ4_K_S,
        ["Q4_K_M"] = LlamaFileType.MostlyQ4_K_M,
        ["Q5_K_S"] = LlamaFileType.MostlyQ5_K_S,
        ["Q5_K_M"] = LlamaFileType.MostlyQ5_K_M,
        ["IQ4_NL"] = LlamaFileType.MostlyIQ4_NL,
        ["IQ4_XS"] = LlamaFileType.MostlyIQ4_XS,
        ["IQ3_M"] = LlamaFileType.MostlyIQ3_M,
        ["IQ3_S"] = LlamaFileType.MostlyIQ3_S,
        ["IQ3_XS"] = LlamaFileType.MostlyIQ3_XS,
        ["IQ3_XXS"] = LlamaFileType.MostlyIQ3_XXS,
        ["IQ2_M"] = LlamaFileType.MostlyIQ2_M,
        ["IQ2_S"] = LlamaFileType.MostlyIQ2_S,
        ["IQ2_XS"] = LlamaFileType.MostlyIQ2_XS,
        ["IQ2_XXS"] = LlamaFileType.MostlyIQ2_XXS,
        ["IQ1_M"] = LlamaFileType.MostlyIQ1_M,
        ["IQ1_S"] = LlamaFileType.MostlyIQ1_S,
        ["Q6_K"] = LlamaFileType.MostlyQ6_K,
        ["F16"] = LlamaFileType.MostlyF16,
    };

    /// <summary>The name <c>seek quantize</c> knows <paramref name="mix"/> by (llama-quantize's), or the enum name.</summary>
    public static string NameOf(LlamaFileType mix) => Names.FirstOrDefault(n => n.Value == mix).Key ?? mix.ToString();

    /// <summary>The mix called <paramref name="name"/> (case-insensitive, one of <see cref="Names"/>).</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the known ones.</exception>
    public static LlamaFileType Parse(string name) =>
        Names.TryGetValue(name, out var t) ? t
            : throw new ArgumentException($"unknown quantization type '{name}'; expected one of {string.Join(", ", Names.Keys)}", nameof(name));

    /// <summary>The type most weights of <paramref name="mix"/> get (llama.cpp's llama_ftype_get_default_type).</summary>
    public static GgmlType DefaultType(LlamaFileType mix) => mix switch
    {
        LlamaFileType.AllF32 => GgmlType.F32,
        LlamaFileType.MostlyF16 => GgmlType.F16,
        LlamaFileType.MostlyQ4_0 => GgmlType.Q4_0,
        LlamaFileType.MostlyQ8_0 => GgmlType.Q8_0,
        LlamaFileType.MostlyQ2_K => GgmlType.Q2_K,
        LlamaFileType.MostlyQ3_K_S or LlamaFileType.MostlyQ3_K_M or LlamaFileType.MostlyQ3_K_L => GgmlType.Q3_K,
        LlamaFileType.MostlyQ4_K_S or LlamaFileType.MostlyQ4_K_M => GgmlType.Q4_K,
        LlamaFileType.MostlyQ5_K_S or LlamaFileType.MostlyQ5_K_M => GgmlType.Q5_K,
        LlamaFileType.MostlyIQ4_NL => GgmlType.IQ4_NL,
        LlamaFileType.MostlyIQ4_XS => GgmlType.IQ4_XS,
        LlamaFileType.MostlyQ6_K => GgmlType.Q6_K,
        LlamaFileType.MostlyIQ2_XXS => GgmlType.IQ2_XXS,
        // IQ2_S is named for its size: its weights are IQ2_XS, and IQ2_M's are IQ2_S.
        LlamaFileType.MostlyIQ2_XS or LlamaFileType.MostlyIQ2_S => GgmlType.IQ2_XS,
        LlamaFileType.MostlyIQ2_M => GgmlType.IQ2_S,
        LlamaFileType.MostlyIQ3_XXS => GgmlType.IQ3_XXS,
        LlamaFileType.MostlyIQ3_XS or LlamaFileType.MostlyIQ3_S or LlamaFileType.MostlyIQ3_M => GgmlType.IQ3_S,
        LlamaFileType.MostlyIQ1_S => GgmlType.IQ1_S,
        LlamaFileType.MostlyIQ1_M => GgmlType.IQ1_M,
        _ => throw new ArgumentOutOfRangeException(nameof(mix), mix, "not a mix SeekSharp writes"),
    };

    /// <summary>
    /// The tensors of <paramref name="file"/> in llama.cpp's processing order (non-layer tensors first, then by layer
    /// number, each group by name) with the type each is written in under <paramref name="mix"/>.
    /// </summary>
    /// <param name="hasImportanceMatrix">Whether an importance matrix is given (llama.cpp's <c>qs.has_imatrix</c>):
    /// without one the IQ4 mixes keep the first eighth of ffn_down in Q5_K and IQ3_XXS raises attn_v and ffn_down;
    /// with one the Q4_0 mix puts the first eighth of ffn_down in Q4_1.</param>
    /// <exception cref="GgufFormatException">Required metadata (architecture, block count) is missing.</exception>
    public static IReadOnlyList<TensorPlan> Plan(GgufFile file, LlamaFileType mix, bool hasImportanceMatrix = false)
    {
        var model = ModelFacts.Read(file);
        var ordered = file.Tensors.OrderBy(t => LayerOf(t.Name)).ThenBy(t => t.Name, StringComparer.Ordinal).ToList();
        var state = new Counters
        {
            AttentionV = ordered.Count(t => IsAttentionV(t.Name)),
            Experts = model.Experts,
            Layers = model.Layers,
            TiedEmbeddings = !ordered.Any(t => t.Name == "output.weight"),
            HasImportanceMatrix = hasImportanceMatrix,
        };
        GgmlType defaultType = DefaultType(mix);
        var plan = new List<TensorPlan>(ordered.Count);
        foreach (var t in ordered)
        {
            if (!AllowsQuantization(t))
            {
                plan.Add(new TensorPlan(t, t.Type));
                continue;
            }
            GgmlType type = IsQuantized(defaultType) ? ChooseInMix(state, model, t, defaultType, mix) : defaultType;
            GgmlType fallback = IsQuantized(type) ? Fallback(t, type) : type;
            plan.Add(new TensorPlan(t, fallback, fallback != type ? type : null));
        }
        return plan;
    }

    /// <summary>Facts about the model that steer the mix (llama.cpp reads them from hparams).</summary>
    private sealed record ModelFacts(string Architecture, int Layers, int Experts, bool Is70B, int GroupSize)
    {
        public static ModelFacts Read(GgufFile f)
        {
            string arch = f.GetString("general.architecture");
            int layers = (int)f.GetUInt32($"{arch}.block_count");
            int experts = (int)f.GetUInt32OrDefault($"{arch}.expert_count", 0);
            uint heads = f.GetUInt32OrDefault($"{arch}.attention.head_count", 0);
            uint kvHeads = f.GetUInt32OrDefault($"{arch}.attention.head_count_kv", heads);
            // llama.cpp types an 80-layer llama with grouped-query attention as LLM_TYPE_70B (with equal counts: 65B).
            // n_gqa: query heads per key/value head.
            int groupSize = kvHeads > 0 ? (int)(heads / kvHeads) : 0;
            return new ModelFacts(arch, layers, experts, arch == "llama" && layers == 80 && heads != kvHeads, groupSize);
        }
    }

    private sealed class Counters
    {
        public int AttentionV, Layers, Experts;
        public int NextAttentionV, NextFfnDown, NextFfnGate, NextFfnUp;
        public bool TiedEmbeddings, HasImportanceMatrix;

        // llama.cpp's layer_info: with experts the layer is read from the name (a layer's expert tensors are not
        // consecutive in some models); otherwise the counter of that tensor kind is the layer.
        public int Layer(string name, int counter) => Experts > 1 ? LayerOf(name) : counter;
    }

    /// <summary>The mixes of llama.cpp's 1- and 2-bit branch of llama_tensor_get_type_impl.</summary>
    private static bool IsIq2Family(LlamaFileType mix) => mix is LlamaFileType.MostlyIQ2_XXS or LlamaFileType.MostlyIQ2_XS
        or LlamaFileType.MostlyIQ1_S or LlamaFileType.MostlyIQ2_S or LlamaFileType.MostlyIQ2_M or LlamaFileType.MostlyIQ1_M;

    /// <summary>
    /// Whether llama.cpp refuses to write tensor <paramref name="name"/> in <paramref name="type"/> without importance
    /// weights for it (tensor_requires_imatrix): the IQ1, IQ2 and IQ3_XXS types, whose codebook searches give garbage
    /// without them, except for the token embedding and the output, which are never activations' partners.
    /// </summary>
    public static bool RequiresImportance(string name, GgmlType type) =>
        name is not ("token_embd.weight" or "per_layer_token_embd.weight" or "output.weight")
        && type is GgmlType.IQ3_XXS or GgmlType.IQ2_XXS or GgmlType.IQ2_XS or GgmlType.IQ2_S or GgmlType.IQ1_M or GgmlType.IQ1_S;

    // llama_tensor_get_type_impl restricted to the mixes above; each branch names the llama.cpp rule.
    private static GgmlType ChooseInMix(Counters s, ModelFacts m, GgufTensorInfo t, GgmlType type, LlamaFileType mix)
    {
        string name = t.Name;
        bool isOutput = name == "output.weight";
        bool isTokenEmbedding = name is "token_embd.weight" or "per_layer_token_embd.weight";
        if (isOutput || (s.TiedEmbeddings && isTokenEmbedding))
        {
            // The output projection decides every logit, so it keeps more bits than the mix (the low IQ mixes settle for Q5_K).
            if (m.Architecture == "falcon" || t.Shape[0] % BlockSize(type) != 0) return GgmlType.Q8_0;
            if (IsIq2Family(mix) || mix == LlamaFileType.MostlyIQ3_XXS) return GgmlType.Q5_K;
            return type == GgmlType.Q8_0 ? type : GgmlType.Q6_K;
        }
        if (isTokenEmbedding)
        {
            return mix switch
            {
                LlamaFileType.MostlyIQ2_XXS or LlamaFileType.MostlyIQ2_XS or LlamaFileType.MostlyIQ1_S or LlamaFileType.MostlyIQ1_M => GgmlType.Q2_K,
                LlamaFileType.MostlyIQ2_S or LlamaFileType.MostlyIQ2_M or LlamaFileType.MostlyIQ3_XXS => GgmlType.IQ3_S,
                _ => type,
            };
        }
        if (IsIq2Family(mix))
            return ChooseInIq2Mix(s, m, t, type, mix);
        bool moreBitsMix = mix is LlamaFileType.MostlyQ4_K_M or LlamaFileType.MostlyQ5_K_M;
        bool iq4 = mix is LlamaFileType.MostlyIQ4_NL or LlamaFileType.MostlyIQ4_XS;
        bool falcon = m.Architecture == "falcon";
        if (IsAttentionV(name))
        {
            // attn_v is small and sensitive: the low-bit mixes give it a type or two more.
            if (mix == LlamaFileType.MostlyQ2_K) type = m.GroupSize >= 4 ? GgmlType.Q4_K : GgmlType.Q3_K;
            else if (mix == LlamaFileType.MostlyIQ3_XXS)
                type = m.GroupSize >= 4 ? GgmlType.Q4_K : !s.HasImportanceMatrix ? GgmlType.IQ3_S : GgmlType.IQ3_XXS;
            else if (mix is LlamaFileType.MostlyIQ3_XS or LlamaFileType.MostlyIQ3_S && m.GroupSize >= 4) type = GgmlType.Q4_K;
            else if (mix == LlamaFileType.MostlyIQ3_M) type = GgmlType.Q4_K;
            else if (mix == LlamaFileType.MostlyQ3_K_M) type = s.NextAttentionV < 2 ? GgmlType.Q5_K : GgmlType.Q4_K;
            else if (mix == LlamaFileType.MostlyQ3_K_L) type = GgmlType.Q5_K;
            else if (iq4 && m.GroupSize >= 4) type = GgmlType.Q5_K;
            else if (moreBitsMix && UseMoreBits(s.NextAttentionV, s.AttentionV)) type = GgmlType.Q6_K;
            else if (mix == LlamaFileType.MostlyQ4_K_S && s.NextAttentionV < 4) type = GgmlType.Q5_K;
            // A 70B model shares each attn_v among 8 heads, so it is small and cheap to keep finer.
            if (m.Is70B && type is GgmlType.Q3_K or GgmlType.Q4_K) type = GgmlType.Q5_K;
            if (m.Experts == 8) type = GgmlType.Q8_0;
            s.NextAttentionV++;
            return type;
        }
        if (name.Contains("attn_k.weight", StringComparison.Ordinal))
        {
            if (m.Experts == 8) return GgmlType.Q8_0;
            return mix switch
            {
                LlamaFileType.MostlyIQ3_XS => GgmlType.IQ3_XXS,
                LlamaFileType.MostlyIQ3_XXS => GgmlType.IQ2_S,
                _ => type,
            };
        }
        if (name.Contains("attn_q.weight", StringComparison.Ordinal))
        {
            return mix switch
            {
                LlamaFileType.MostlyIQ3_XS => GgmlType.IQ3_XXS,
                LlamaFileType.MostlyIQ3_XXS => GgmlType.IQ2_S,
                _ => type,
            };
        }
        if (name.Contains("attn_output.weight", StringComparison.Ordinal))
        {
            if (falcon)
                return mix == LlamaFileType.MostlyQ3_K_L ? GgmlType.Q4_K : type;
            if (m.Experts == 8)
                return mix is LlamaFileType.MostlyQ2_K or LlamaFileType.MostlyIQ3_XS or LlamaFileType.MostlyIQ3_XXS or LlamaFileType.MostlyQ3_K_S
                    or LlamaFileType.MostlyQ3_K_M or LlamaFileType.MostlyIQ4_NL or LlamaFileType.MostlyQ4_K_S or LlamaFileType.MostlyQ4_K_M
                    or LlamaFileType.MostlyIQ3_S or LlamaFileType.MostlyIQ3_M or LlamaFileType.MostlyIQ4_XS ? GgmlType.Q5_K : type;
            return mix switch
            {
                LlamaFileType.MostlyQ2_K => GgmlType.Q3_K,
                LlamaFileType.MostlyIQ3_XXS => GgmlType.IQ3_S,
                LlamaFileType.MostlyQ3_K_M => GgmlType.Q4_K,
                LlamaFileType.MostlyQ3_K_L => GgmlType.Q5_K,
                LlamaFileType.MostlyIQ3_M => GgmlType.Q4_K,
                _ => type,
            };
        }
        // llama.cpp tells the FFN tensors apart by substring, in this order (ffn_up before ffn_gate before ffn_down).
        if (name.Contains("ffn_up", StringComparison.Ordinal))
        {
            int layer = s.Layer(name, s.NextFfnUp++);
            return mix == LlamaFileType.MostlyIQ3_XS && layer >= s.Layers / 8 && layer < 7 * s.Layers / 8 ? GgmlType.IQ3_XXS : type;
        }
        if (name.Contains("ffn_gate", StringComparison.Ordinal))
        {
            int layer = s.Layer(name, s.NextFfnGate++);
            return mix == LlamaFileType.MostlyIQ3_XS && layer >= s.Layers / 8 && layer < 7 * s.Layers / 8 ? GgmlType.IQ3_XXS : type;
        }
        if (name.Contains("ffn_down", StringComparison.Ordinal))
        {
            int layer = s.Layer(name, s.NextFfnDown++);
            if (mix == LlamaFileType.MostlyQ2_K)
                type = GgmlType.Q3_K;
            else if (mix == LlamaFileType.MostlyIQ3_XXS && !s.HasImportanceMatrix)
                type = layer < s.Layers / 8 ? GgmlType.Q4_K : GgmlType.Q3_K;
            else if (mix == LlamaFileType.MostlyQ3_K_M)
                type = layer < s.Layers / 16 ? GgmlType.Q5_K : !falcon || UseMoreBits(layer, s.Layers) ? GgmlType.Q4_K : GgmlType.Q3_K;
            else if (mix == LlamaFileType.MostlyIQ3_M && (layer < s.Layers / 8 || (m.Experts == 8 && UseMoreBits(layer, s.Layers))))
                type = GgmlType.Q4_K;
            else if (mix == LlamaFileType.MostlyQ3_K_L)
                type = falcon ? GgmlType.Q4_K : GgmlType.Q5_K;
            else if (mix == LlamaFileType.MostlyQ4_K_M)
            {
                if (falcon)
                    type = layer < s.Layers / 16 ? GgmlType.Q6_K : UseMoreBits(layer, s.Layers) ? GgmlType.Q5_K : GgmlType.Q4_K;
                else if (UseMoreBits(layer, s.Layers))
                    type = GgmlType.Q6_K;
            }
            // Without an importance matrix the IQ4 mixes keep the first eighth of ffn_down finer.
            else if (iq4 && layer < s.Layers / 8 && !s.HasImportanceMatrix)
                type = GgmlType.Q5_K;
            else if (mix == LlamaFileType.MostlyQ5_K_M && UseMoreBits(layer, s.Layers))
                type = GgmlType.Q6_K;
            else if (mix == LlamaFileType.MostlyQ4_K_S && !falcon && layer < s.Layers / 8)
                type = GgmlType.Q5_K;
            // With an importance matrix llama.cpp guards the first eighth of ffn_down of Q4_0 with Q4_1 (Q4_1 is only
            // trusted there with one).
            else if (mix == LlamaFileType.MostlyQ4_0 && s.HasImportanceMatrix && layer < s.Layers / 8)
                type = GgmlType.Q4_1;
            return type;
        }
        return type;
    }

    // llama_tensor_get_type_impl's branch for the 1- and 2-bit IQ mixes: attn_v and the first eighth of ffn_down get
    // Q2_K (IQ3_S in IQ2_S/IQ2_M; attn_v Q4_K with grouped-query attention of four or more, or four or more experts),
    // attn_output IQ2_XXS in the IQ1 mixes and IQ3_S in IQ2_S/IQ2_M, the rest the mix's type. Its ffn_down counter
    // advances with every ffn_down tensor (a MoE layer has several) against the layer count.
    private static GgmlType ChooseInIq2Mix(Counters s, ModelFacts m, GgufTensorInfo t, GgmlType type, LlamaFileType mix)
    {
        string name = t.Name;
        bool iq2SOrM = mix is LlamaFileType.MostlyIQ2_S or LlamaFileType.MostlyIQ2_M;
        if (IsAttentionV(name))
        {
            s.NextAttentionV++;
            return m.GroupSize >= 4 || m.Experts >= 4 ? GgmlType.Q4_K : iq2SOrM ? GgmlType.IQ3_S : GgmlType.Q2_K;
        }
        if (m.Experts == 8 && name.Contains("attn_k.weight", StringComparison.Ordinal)) return GgmlType.Q4_K;
        if (name.Contains("ffn_down", StringComparison.Ordinal))
            return s.NextFfnDown++ < s.Layers / 8 ? iq2SOrM ? GgmlType.IQ3_S : GgmlType.Q2_K : type;
        if (name.Contains("attn_output.weight", StringComparison.Ordinal))
        {
            if (m.Experts == 8) return GgmlType.Q5_K;
            if (mix is LlamaFileType.MostlyIQ1_S or LlamaFileType.MostlyIQ1_M) return GgmlType.IQ2_XXS;
            if (iq2SOrM) return GgmlType.IQ3_S;
        }
        return type;
    }

    // The first and last eighth of the layers, and every third layer in between.
    private static bool UseMoreBits(int layer, int layers) =>
        layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;

    // tensor_type_fallback: a row must be whole blocks of its type, else a 32-block type of similar size is used.
    private static GgmlType Fallback(GgufTensorInfo t, GgmlType type)
    {
        long cols = t.Shape[0];
        if (cols % BlockSize(type) == 0) return type;
        GgmlType fallback = type switch
        {
            GgmlType.Q4_K => GgmlType.Q5_0,
            GgmlType.Q5_K => GgmlType.Q5_1,
            GgmlType.Q6_K => GgmlType.Q8_0,
            GgmlType.Q2_K or GgmlType.Q3_K => GgmlType.Q4_0,
            GgmlType.IQ1_S or GgmlType.IQ1_M or GgmlType.IQ2_XXS or GgmlType.IQ2_XS or GgmlType.IQ2_S or GgmlType.IQ3_XXS or GgmlType.IQ3_S
                or GgmlType.IQ4_XS => GgmlType.IQ4_NL,
            _ => throw new NotSupportedException($"tensor '{t.Name}' has rows of {cols} elements, not whole blocks of {type}, and llama.cpp defines no fallback for {type}"),
        };
        return cols % BlockSize(fallback) == 0 ? fallback : GgmlType.F16;
    }

    // tensor_allows_quantization: named weights of 2+ dimensions, minus the small or sensitive ones llama.cpp keeps.
    private static bool AllowsQuantization(GgufTensorInfo t)
    {
        if (Dimensions(t.Shape) < 2) return false;
        string n = t.Name;
        if (!n.EndsWith("weight", StringComparison.Ordinal)) return false;
        string[] kept =
        [
            "_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel", "per_layer_model_proj",
            "ssm_conv1d", "shortconv.conv.weight", "time_mix_", "attn_rel_b.weight", ".position_embd", ".rel_pos",
            ".patch_embd", ".patch_merger", "indexer.k_proj.weight", "indexer.q_proj.weight",
        ];
        foreach (string k in kept)
            if (n.Contains(k, StringComparison.Ordinal)) return false;
        return n is not ("position_embd.weight" or "token_types.weight");
    }

    // ggml_n_dims: trailing dimensions of size 1 do not count.
    private static int Dimensions(long[] shape)
    {
        for (int i = shape.Length - 1; i >= 1; i--)
            if (shape[i] > 1) return i + 1;
        return 1;
    }

    private static bool IsAttentionV(string name) =>
        name.Contains("attn_v.weight", StringComparison.Ordinal) || name.Contains("attn_qkv.weight", StringComparison.Ordinal)
        || name.Contains("attn_kv_b.weight", StringComparison.Ordinal);

    // llama.cpp's loader orders weights by the number after "blk." (-1 for the others), then by name.
    private static int LayerOf(string name)
    {
        if (!name.StartsWith("blk.", StringComparison.Ordinal)) return -1;
        int end = name.IndexOf('.', 4);
        return end > 4 && int.TryParse(name.AsSpan(4, end - 4), out int layer) ? layer : -1;
    }

    private static bool IsQuantized(GgmlType t) => t is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16);

    // Elements per block of the types a mix can choose (ggml's QK_K = 256 for the K types, 32 for the legacy ones),
    // known here so a plan can be made even for types the kernels cannot encode yet.
    internal static int BlockSize(GgmlType t) => t switch
    {
        GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 => 1,
        GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_0 or GgmlType.Q5_1 or GgmlType.Q8_0 or GgmlType.IQ4_NL => 32,
        GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K or GgmlType.IQ4_XS
            or GgmlType.IQ1_S or GgmlType.IQ1_M or GgmlType.IQ2_XXS or GgmlType.IQ2_XS or GgmlType.IQ2_S or GgmlType.IQ3_XXS or GgmlType.IQ3_S => 256,
        _ => throw new NotSupportedException($"no block size known for {t}"),
    };
}

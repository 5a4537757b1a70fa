using SeekSharp.Gguf;
using SeekSharp.Models.Architectures;

namespace SeekSharp.Models;

/// <summary>How RoPE pairs up the dimensions of a head.</summary>
public enum RopeMode
{
    /// <summary>Adjacent pairs (x[2i], x[2i+1]): llama.cpp's LLAMA_ROPE_TYPE_NORM, used by llama (its converter permutes Q/K rows to fit).</summary>
    Adjacent,
    /// <summary>Pairs half a head apart (x[i], x[i + d/2]): llama.cpp's LLAMA_ROPE_TYPE_NEOX, used by qwen2 and the HF rotate_half layout.</summary>
    HalfSplit,
}

/// <summary>
/// Hyper-parameters of a decoder-only transformer: the one description that inference and training share (llama.cpp's
/// <c>llama_hparams</c>), read from and written to GGUF metadata (<c>{arch}.*</c> keys) here and nowhere else, with the
/// shape of every tensor (<see cref="ShapeOf"/>; names in <see cref="TensorNames"/>).
/// Dimension glossary used across the model code: D = embedding width, L = layers, H = query heads,
/// Hkv = key/value heads, Dh = head width, F = feed-forward width, V = vocabulary size, T = tokens in a batch.
/// </summary>
public sealed record ModelConfig
{
    /// <summary>Architecture name as in <c>general.architecture</c> ("llama", "qwen2").</summary>
    public required string Architecture { get; init; }
    /// <summary>Context length the model was trained for.</summary>
    public required int ContextLength { get; init; }
    /// <summary>D: width of the residual stream.</summary>
    public required int EmbeddingLength { get; init; }
    /// <summary>L: number of transformer blocks.</summary>
    public required int BlockCount { get; init; }
    /// <summary>F: hidden width of the SwiGLU feed-forward.</summary>
    public required int FeedForwardLength { get; init; }
    /// <summary>V: vocabulary size (rows of the token embedding).</summary>
    public required int VocabSize { get; init; }

    // attention
    /// <summary>H: query heads.</summary>
    public required int HeadCount { get; init; }
    /// <summary>Hkv: key/value heads (grouped-query attention when smaller than H).</summary>
    public required int HeadCountKv { get; init; }
    /// <summary>Dh: width of one key (and query) head. For MLA, the decompressed width nope + rope.</summary>
    public required int HeadDim { get; init; }
    /// <summary>Dv: width of one value head; <see cref="HeadDim"/> unless the file says otherwise (MLA: v_head_dim).</summary>
    public int ValueHeadDim { get => _valueHeadDim > 0 ? _valueHeadDim : HeadDim; init => _valueHeadDim = value; }
    private readonly int _valueHeadDim;
    /// <summary>Epsilon inside RMSNorm's square root.</summary>
    public required float NormEpsilon { get; init; }

    // rope
    /// <summary>Base of the rotary frequencies (theta).</summary>
    public required float RopeFreqBase { get; init; }
    /// <summary>Number of leading head dimensions that are rotated (usually Dh).</summary>
    public required int RopeDimensionCount { get; init; }
    /// <summary>Position multiplier from linear RoPE scaling (1 / factor); 1 when unscaled.</summary>
    public required float RopeFreqScale { get; init; }
    /// <summary>Which dimension pairs RoPE rotates.</summary>
    public required RopeMode RopeMode { get; init; }

    /// <summary>YaRN context extension (DeepSeek-V2/V3), or null.</summary>
    public YarnConfig? Yarn { get; init; }

    // weights
    /// <summary>The output projection is the token embedding itself: the file has no <c>output.weight</c>.</summary>
    public bool TiedEmbeddings { get; init; }

    // deepseek2
    /// <summary>Multi-head latent attention, or null for plain grouped-query attention.</summary>
    public MlaConfig? Mla { get; init; }
    /// <summary>Mixture-of-experts feed-forward, or null when every block has a dense SwiGLU of width F.</summary>
    public MoeConfig? Moe { get; init; }

    /// <summary>
    /// What one position of one layer leaves in the KV cache, as the architecture declares it (llama.cpp lets each
    /// model pick its memory in <c>create_memory</c>): K and V per KV head for grouped-query attention; MLA's
    /// normalised latent and roped shared key, with the values read from the latent.
    /// </summary>
    public KvLayout CacheLayout => Mla is { } m
        ? new KvLayout(m.KvLoraRank + m.RopeDim, m.KvLoraRank, ValuesInKeys: true)
        : new KvLayout(HeadCountKv * HeadDim, HeadCountKv * ValueHeadDim, ValuesInKeys: false);

    /// <summary>
    /// The factor on q·k before the softmax: 1/√Dh, times YaRN's mscale² where YaRN applies (DeepSeek multiplies the
    /// whole logit, rope part included, by mscale(factor, mscale_all_dim)² and divides by √(nope + rope), also when
    /// attention runs on the 576-wide latent).
    /// </summary>
    public float AttentionScale
    {
        get
        {
            float m = Yarn is { } y ? 1f + 0.1f * y.MscaleAllDim * MathF.Log(y.Factor) : 1f;
            return m * m / MathF.Sqrt(HeadDim);
        }
    }

    /// <summary>Parameters that work on one token, as DeepSeek counts its "37B activated": every tensor of the file
    /// (<paramref name="totalParameters"/>) except the routed experts a token does not choose.</summary>
    public long ActiveParameters(long totalParameters)
    {
        long active = totalParameters;
        if (Moe is { } moe)
        {
            long perExpert = 3L * moe.ExpertFeedForwardLength * EmbeddingLength;
            active -= (long)(BlockCount - moe.LeadingDenseBlockCount) * (moe.ExpertCount - moe.ExpertUsedCount) * perExpert;
        }
        return active;
    }

    /// <summary>
    /// A llama model of the given shape, as SeekSharp's training builds one: heads of width D / H, RoPE over whole heads
    /// on adjacent pairs, unscaled.
    /// </summary>
    /// <exception cref="ArgumentException">The shape is not a valid decoder (see <see cref="Validate"/>).</exception>
    public static ModelConfig Llama(int vocabSize, int contextLength, int embeddingLength, int blockCount, int headCount,
        int headCountKv, int feedForwardLength, float normEpsilon = 1e-5f, float ropeFreqBase = 10000f, bool tiedEmbeddings = false)
    {
        int headDim = headCount > 0 ? embeddingLength / headCount : 0;
        var config = new ModelConfig
        {
            Architecture = "llama", ContextLength = contextLength, EmbeddingLength = embeddingLength, BlockCount = blockCount,
            FeedForwardLength = feedForwardLength, VocabSize = vocabSize, HeadCount = headCount, HeadCountKv = headCountKv,
            HeadDim = headDim, NormEpsilon = normEpsilon, RopeFreqBase = ropeFreqBase, RopeDimensionCount = headDim,
            RopeFreqScale = 1f, RopeMode = RopeMode.Adjacent, TiedEmbeddings = tiedEmbeddings,
        };
        if (headCount > 0 && embeddingLength % headCount != 0)
            throw new ArgumentException($"embedding length {embeddingLength} does not split into {headCount} heads.");
        config.Validate();
        return config;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first field that does not make a valid decoder.</summary>
    public void Validate()
    {
        if (VocabSize < 1 || ContextLength < 1 || EmbeddingLength < 1 || BlockCount < 1 || HeadCount < 1 || HeadCountKv < 1
            || FeedForwardLength < 1 || HeadDim < 1)
            throw new ArgumentException($"every size must be positive: {this}.");
        if (HeadCount % HeadCountKv != 0)
            throw new ArgumentException($"head count {HeadCount} must be a multiple of the key/value head count {HeadCountKv} (grouped-query attention).");
        if (RopeDimensionCount % 2 != 0 || RopeDimensionCount > HeadDim)
            throw new ArgumentException($"RoPE dimension count {RopeDimensionCount} must be even and at most the head width {HeadDim} (RoPE rotates pairs).");
        if (!(NormEpsilon > 0) || !float.IsFinite(NormEpsilon) || !(RopeFreqBase > 0) || !float.IsFinite(RopeFreqBase) || !(RopeFreqScale > 0))
            throw new ArgumentException($"norm epsilon ({NormEpsilon}), RoPE base ({RopeFreqBase}) and RoPE scale ({RopeFreqScale}) must be positive and finite.");
        if (Mla is { } m && (m.NopeDim < 0 || m.NopeDim + m.RopeDim != HeadDim || m.RopeDim != RopeDimensionCount
            || m.ValueDim != ValueHeadDim || m.KvLoraRank < 1 || m.QLoraRank < 0))
            throw new ArgumentException($"MLA widths {m} do not fit a head of {HeadDim} (nope + rope), values of {ValueHeadDim} and {RopeDimensionCount} rotated dimensions.");
        if (Moe is { } e && (e.ExpertUsedCount < 1 || e.ExpertUsedCount > e.ExpertCount || e.ExpertFeedForwardLength < 1
            || e.SharedExpertCount < 0 || e.LeadingDenseBlockCount < 0 || e.LeadingDenseBlockCount > BlockCount
            || e.GroupCount < 1 || e.ExpertCount % e.GroupCount != 0 || e.GroupUsedCount < 1 || e.GroupUsedCount > e.GroupCount
            || (long)e.GroupUsedCount * (e.ExpertCount / e.GroupCount) < e.ExpertUsedCount || !(e.WeightsScale > 0) || !float.IsFinite(e.WeightsScale)))
            throw new ArgumentException($"mixture of experts {e} is inconsistent: it must choose 1..{e.ExpertCount} experts from groups that divide the experts and hold enough of them, with a positive scale, after at most {BlockCount} dense blocks.");
        if (Yarn is { } y && (!(y.Factor >= 1) || !float.IsFinite(y.Factor) || y.OriginalContextLength < 1 || !(y.BetaFast > 0) || !(y.BetaSlow > 0) || !(y.MscaleAllDim >= 0)))
            throw new ArgumentException($"YaRN scaling {y} needs a factor ≥ 1, an original context ≥ 1, positive betas and mscale_all_dim ≥ 0.");
    }

    /// <summary>[rows, columns] of <paramref name="kind"/> in this model, row-major as the GGUF holds it ({ne0 = columns,
    /// ne1 = rows}); a vector (<see cref="TensorNames.IsVector"/>) is one row.</summary>
    public (int Rows, int Cols) ShapeOf(TensorKind kind)
    {
        int d = EmbeddingLength, q = HeadCount * HeadDim, kv = HeadCountKv * HeadDim, f = FeedForwardLength, o = HeadCount * ValueHeadDim;
        var m = Mla ?? new MlaConfig(0, 0, 0, 0, 0, false);
        var e = Moe ?? new MoeConfig(0, 0, 0, 0, 0, ExpertGating.Softmax, false, 1f, 1, 1, false);
        int shared = e.SharedExpertCount * e.ExpertFeedForwardLength;
        return kind switch
        {
            TensorKind.TokenEmbedding or TensorKind.Output => (VocabSize, d),
            TensorKind.OutputNorm or TensorKind.AttnNorm or TensorKind.FfnNorm or TensorKind.AttnOutputBias => (1, d),
            TensorKind.RopeFrequencies => (1, RopeDimensionCount / 2),
            TensorKind.AttnQ => (q, d),
            TensorKind.AttnK or TensorKind.AttnV => (kv, d),
            TensorKind.AttnOutput => (d, o),
            TensorKind.AttnQBias => (1, q),
            TensorKind.AttnKBias or TensorKind.AttnVBias => (1, kv),
            TensorKind.AttnQNorm or TensorKind.AttnKNorm => (1, HeadDim),
            TensorKind.FfnGate or TensorKind.FfnUp => (f, d),
            TensorKind.FfnDown => (d, f),
            TensorKind.AttnQA => (m.QLoraRank, d),
            TensorKind.AttnQANorm => (1, m.QLoraRank),
            TensorKind.AttnQB => (q, m.QLoraRank),
            TensorKind.AttnKvAMqa => (m.KvLoraRank + m.RopeDim, d),
            TensorKind.AttnKvANorm => (1, m.KvLoraRank),
            TensorKind.AttnKvB => (HeadCount * (m.NopeDim + m.ValueDim), m.KvLoraRank),
            TensorKind.AttnKB => (m.KvLoraRank, m.NopeDim),
            TensorKind.AttnVB => (m.ValueDim, m.KvLoraRank),
            TensorKind.FfnGateInp => (e.ExpertCount, d),
            TensorKind.ExpertProbsBias => (1, e.ExpertCount),
            TensorKind.FfnGateExperts or TensorKind.FfnUpExperts => (e.ExpertFeedForwardLength, d),
            TensorKind.FfnDownExperts => (d, e.ExpertFeedForwardLength),
            TensorKind.FfnGateShared or TensorKind.FfnUpShared => (shared, d),
            TensorKind.FfnDownShared => (d, shared),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no shape"),
        };
    }

    /// <summary>How many matrices of <see cref="ShapeOf"/> a 3-D tensor stacks (experts, or heads of MLA's k_b/v_b); 1 for the others.</summary>
    public int StackOf(TensorKind kind) => kind switch
    {
        TensorKind.AttnKB or TensorKind.AttnVB => HeadCount,
        TensorKind.FfnGateExperts or TensorKind.FfnUpExperts or TensorKind.FfnDownExperts => Moe?.ExpertCount ?? 0,
        _ => 1,
    };

    // The {arch}.* metadata keys, read by FromGguf and written by WriteGguf.
    const string ContextLengthKey = "context_length", EmbeddingLengthKey = "embedding_length", BlockCountKey = "block_count",
        FeedForwardLengthKey = "feed_forward_length", HeadCountKey = "attention.head_count", HeadCountKvKey = "attention.head_count_kv",
        KeyLengthKey = "attention.key_length", ValueLengthKey = "attention.value_length", NormEpsilonKey = "attention.layer_norm_rms_epsilon",
        RopeFreqBaseKey = "rope.freq_base", RopeDimensionCountKey = "rope.dimension_count", RopeScalingTypeKey = "rope.scaling.type",
        RopeScalingFactorKey = "rope.scaling.factor", VocabSizeKey = "vocab_size",
        RopeScalingOriginalContextKey = "rope.scaling.original_context_length", YarnLogMultiplierKey = "rope.scaling.yarn_log_multiplier",
        YarnBetaFastKey = "rope.scaling.yarn_beta_fast", YarnBetaSlowKey = "rope.scaling.yarn_beta_slow",
        QLoraRankKey = "attention.q_lora_rank", KvLoraRankKey = "attention.kv_lora_rank",
        KeyLengthMlaKey = "attention.key_length_mla", ValueLengthMlaKey = "attention.value_length_mla",
        ExpertCountKey = "expert_count", ExpertUsedCountKey = "expert_used_count", ExpertSharedCountKey = "expert_shared_count",
        ExpertFeedForwardLengthKey = "expert_feed_forward_length", LeadingDenseBlockCountKey = "leading_dense_block_count",
        ExpertGatingFuncKey = "expert_gating_func", ExpertWeightsNormKey = "expert_weights_norm", ExpertWeightsScaleKey = "expert_weights_scale",
        ExpertGroupCountKey = "expert_group_count", ExpertGroupUsedCountKey = "expert_group_used_count";

    /// <summary>Writes <c>general.architecture</c> and this configuration's <c>{arch}.*</c> keys, which
    /// <see cref="FromGguf"/> reads back to an equal configuration (given the same tensors).</summary>
    /// <exception cref="NotSupportedException">RoPE scaling, which SeekSharp reads but does not write.</exception>
    public void WriteGguf(GgufWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (RopeFreqScale != 1f) throw new NotSupportedException("writing a RoPE-scaled configuration is not supported.");
        string a = Architecture + ".";
        writer.Set("general.architecture", Architecture);
        writer.Set(a + ContextLengthKey, (uint)ContextLength);
        writer.Set(a + EmbeddingLengthKey, (uint)EmbeddingLength);
        writer.Set(a + BlockCountKey, (uint)BlockCount);
        writer.Set(a + FeedForwardLengthKey, (uint)FeedForwardLength);
        writer.Set(a + HeadCountKey, (uint)HeadCount);
        writer.Set(a + HeadCountKvKey, (uint)HeadCountKv);
        if (HeadDim != EmbeddingLength / HeadCount)
        {
            writer.Set(a + KeyLengthKey, (uint)HeadDim);
            writer.Set(a + ValueLengthKey, (uint)HeadDim);
        }
        writer.Set(a + NormEpsilonKey, NormEpsilon);
        writer.Set(a + RopeFreqBaseKey, RopeFreqBase);
        writer.Set(a + RopeDimensionCountKey, (uint)RopeDimensionCount);
        writer.Set(a + VocabSizeKey, (uint)VocabSize);
    }

    /// <summary>Largest context length accepted from metadata (16M positions; the largest released models use 1M-10M).</summary>
    public const int MaxContextLength = 1 << 24;

    /// <summary>Reads and validates the configuration of a GGUF model, naming the file and key on any problem.</summary>
    /// <remarks>
    /// Every size is range-checked where it is read, so a corrupt or hostile header fails here with a
    /// <see cref="ModelLoadException"/> that names the key, the accepted range and the value found, instead of as an
    /// arithmetic overflow or a huge allocation later.
    /// </remarks>
    /// <exception cref="ModelLoadException">A value is out of range or inconsistent.</exception>
    /// <exception cref="GgufFormatException">A key is missing or of the wrong type.</exception>
    public static ModelConfig FromGguf(GgufFile file)
    {
        string arch = file.GetString("general.architecture");
        if (!ArchitectureTable.Known.TryGetValue(arch, out var architecture))
            throw new ModelLoadException(file.Path, $"general.architecture is '{arch}', which SeekSharp does not support (supported: {ArchitectureTable.Names})");

        int InRange(string key, long value, long min, long max) =>
            value >= min && value <= max ? (int)value
            : throw new ModelLoadException(file.Path, $"{arch}.{key} is {value}; expected {min} to {max}");
        int Required(string key, long min, long max) => InRange(key, file.GetUInt32($"{arch}.{key}"), min, max);
        int Optional(string key, long dflt, long min, long max) =>
            InRange(key, file.Metadata.ContainsKey($"{arch}.{key}") ? file.GetUInt32($"{arch}.{key}") : dflt, min, max);
        float Positive(string key, float value) =>
            float.IsFinite(value) && value > 0f ? value
            : throw new ModelLoadException(file.Path, $"{arch}.{key} is {value}; expected a finite number more than 0");

        const int MaxWidth = 1 << 20, MaxLayers = 1 << 16, MaxHeads = 1 << 16, MaxVocab = 1 << 24;
        bool mla = file.Metadata.ContainsKey($"{arch}.{KvLoraRankKey}");
        int contextLength = Required(ContextLengthKey, 1, MaxContextLength);
        int dim = Required(EmbeddingLengthKey, 1, MaxWidth);
        int blocks = Required(BlockCountKey, 1, MaxLayers);
        int nHead = Required(HeadCountKey, 1, MaxHeads);
        int nHeadKv = Optional(HeadCountKvKey, nHead, 1, nHead);
        // An MLA file written by llama.cpp's converter describes the absorbed attention in key_length/value_length
        // (576/512, one KV head) and the per-head widths in the *_mla keys; an older one has only the per-head widths.
        bool absorbedWidths = mla && file.Metadata.ContainsKey($"{arch}.{KeyLengthMlaKey}");
        int headDim = absorbedWidths ? Required(KeyLengthMlaKey, 1, MaxWidth) : Optional(KeyLengthKey, dim / nHead, 1, MaxWidth);
        int valueDim = absorbedWidths ? Required(ValueLengthMlaKey, 1, MaxWidth) : Optional(ValueLengthKey, headDim, 1, MaxWidth);
        if (valueDim != headDim && !mla)
            throw new ModelLoadException(file.Path, $"{arch}.attention.value_length ({valueDim}) differs from key_length ({headDim}); not supported for {arch}");
        if (mla) nHeadKv = nHead; // decompressed, every query head has its own key and value
        if (nHead % nHeadKv != 0)
            throw new ModelLoadException(file.Path, $"{arch}.attention.head_count ({nHead}) must be a multiple of head_count_kv ({nHeadKv})");
        int ropeDim = Optional(RopeDimensionCountKey, headDim, 0, headDim);
        if (ropeDim % 2 != 0)
            throw new ModelLoadException(file.Path, $"{arch}.rope.dimension_count ({ropeDim}) must be even and at most the head width ({headDim})");

        var embd = file.GetTensor(TensorNames.Of(TensorKind.TokenEmbedding));
        long embdRows = embd.Shape.Length > 1 ? embd.Shape[1] : 0;
        int vocab = Optional(VocabSizeKey, embdRows, 1, MaxVocab);

        float freqScale = 1f;
        YarnConfig? yarn = null;
        string? scaling = file.GetStringOrNull($"{arch}.{RopeScalingTypeKey}");
        if (scaling is "linear")
            freqScale = 1f / Positive(RopeScalingFactorKey, file.GetFloat32($"{arch}.{RopeScalingFactorKey}"));
        else if (scaling is "yarn" && mla)
        {
            float factor = Positive(RopeScalingFactorKey, file.GetFloat32($"{arch}.{RopeScalingFactorKey}"));
            // The converter stores 0.1 · mscale_all_dim under this name (llama.cpp's first DeepSeek support baked the 0.1 in).
            float logMultiplier = file.GetFloat32OrDefault($"{arch}.{YarnLogMultiplierKey}", 0f);
            if (!float.IsFinite(logMultiplier) || logMultiplier < 0)
                throw new ModelLoadException(file.Path, $"{arch}.{YarnLogMultiplierKey} is {logMultiplier}; expected a finite number ≥ 0");
            yarn = new YarnConfig(factor, Required(RopeScalingOriginalContextKey, 1, MaxContextLength),
                Positive(YarnBetaFastKey, file.GetFloat32OrDefault($"{arch}.{YarnBetaFastKey}", 32f)),
                Positive(YarnBetaSlowKey, file.GetFloat32OrDefault($"{arch}.{YarnBetaSlowKey}", 1f)), logMultiplier / 0.1f);
            freqScale = 1f / factor;
        }
        else if (scaling is not (null or "none"))
            throw new ModelLoadException(file.Path, $"{arch}.rope.scaling.type is '{scaling}', which SeekSharp does not support yet for {arch} (supported: none, linear{(mla ? ", yarn" : "")})");

        MlaConfig? mlaConfig = null;
        if (mla)
        {
            int kvLora = Required(KvLoraRankKey, 1, MaxWidth);
            mlaConfig = new MlaConfig(Optional(QLoraRankKey, 0, 0, MaxWidth), kvLora, headDim - ropeDim, ropeDim, valueDim,
                SplitKvB: file.FindTensor(TensorNames.Of(TensorKind.AttnKB, 0)) is not null);
        }

        MoeConfig? moe = null;
        int experts = Optional(ExpertCountKey, 0, 0, 1 << 16);
        if (experts > 0)
        {
            int leading = Optional(LeadingDenseBlockCountKey, 0, 0, blocks);
            int gating = Optional(ExpertGatingFuncKey, (int)ExpertGating.Softmax, 1, 2); // absent in DeepSeek-V2 GGUFs: softmax
            int groups = Optional(ExpertGroupCountKey, 1, 0, experts);
            if (groups == 0) groups = 1;
            // Absent or 0 means unscaled, as llama.cpp reads it.
            float scale = file.GetFloat32OrDefault($"{arch}.{ExpertWeightsScaleKey}", 0f);
            if (scale == 0f) scale = 1f;
            moe = new MoeConfig(experts, Required(ExpertUsedCountKey, 1, experts), Optional(ExpertSharedCountKey, 0, 0, 1 << 16),
                Required(ExpertFeedForwardLengthKey, 1, MaxWidth * 64L), leading, (ExpertGating)gating,
                architecture.NormalizesExpertWeights || file.GetBoolOrDefault($"{arch}.{ExpertWeightsNormKey}", false),
                Positive(ExpertWeightsScaleKey, scale), groups, Optional(ExpertGroupUsedCountKey, groups, 1, groups),
                HasCorrectionBias: leading < blocks && file.FindTensor(TensorNames.Of(TensorKind.ExpertProbsBias, leading)) is not null);
        }

        var config = new ModelConfig
        {
            Architecture = arch,
            ContextLength = contextLength,
            EmbeddingLength = dim,
            BlockCount = blocks,
            FeedForwardLength = Required(FeedForwardLengthKey, 1, MaxWidth * 64L),
            VocabSize = vocab,
            HeadCount = nHead,
            HeadCountKv = nHeadKv,
            HeadDim = headDim,
            ValueHeadDim = valueDim == headDim ? 0 : valueDim, // 0: as wide as the keys, so equal shapes compare equal
            NormEpsilon = Positive(NormEpsilonKey, file.GetFloat32($"{arch}.{NormEpsilonKey}")),
            RopeFreqBase = Positive(RopeFreqBaseKey, file.GetFloat32OrDefault($"{arch}.{RopeFreqBaseKey}", 10000f)),
            RopeDimensionCount = ropeDim,
            RopeFreqScale = freqScale,
            RopeMode = architecture.RopeMode,
            Yarn = yarn,
            TiedEmbeddings = file.FindTensor(TensorNames.Of(TensorKind.Output)) is null,
            Mla = mlaConfig,
            Moe = moe,
        };
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ModelLoadException(file.Path, e.Message);
        }
        return config;
    }
}

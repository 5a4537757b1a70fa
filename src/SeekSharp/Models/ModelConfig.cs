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
    /// <summary>Dh: width of one head (key and value).</summary>
    public required int HeadDim { get; init; }
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

    // weights
    /// <summary>The output projection is the token embedding itself: the file has no <c>output.weight</c>.</summary>
    public bool TiedEmbeddings { get; init; }

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
    }

    /// <summary>[rows, columns] of <paramref name="kind"/> in this model, row-major as the GGUF holds it ({ne0 = columns,
    /// ne1 = rows}); a vector (<see cref="TensorNames.IsVector"/>) is one row.</summary>
    public (int Rows, int Cols) ShapeOf(TensorKind kind)
    {
        int d = EmbeddingLength, q = HeadCount * HeadDim, kv = HeadCountKv * HeadDim, f = FeedForwardLength;
        return kind switch
        {
            TensorKind.TokenEmbedding or TensorKind.Output => (VocabSize, d),
            TensorKind.OutputNorm or TensorKind.AttnNorm or TensorKind.FfnNorm or TensorKind.AttnOutputBias => (1, d),
            TensorKind.RopeFrequencies => (1, RopeDimensionCount / 2),
            TensorKind.AttnQ => (q, d),
            TensorKind.AttnK or TensorKind.AttnV => (kv, d),
            TensorKind.AttnOutput => (d, q),
            TensorKind.AttnQBias => (1, q),
            TensorKind.AttnKBias or TensorKind.AttnVBias => (1, kv),
            TensorKind.AttnQNorm or TensorKind.AttnKNorm => (1, HeadDim),
            TensorKind.FfnGate or TensorKind.FfnUp => (f, d),
            TensorKind.FfnDown => (d, f),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no shape"),
        };
    }

    // The {arch}.* metadata keys, read by FromGguf and written by WriteGguf.
    const string ContextLengthKey = "context_length", EmbeddingLengthKey = "embedding_length", BlockCountKey = "block_count",
        FeedForwardLengthKey = "feed_forward_length", HeadCountKey = "attention.head_count", HeadCountKvKey = "attention.head_count_kv",
        KeyLengthKey = "attention.key_length", ValueLengthKey = "attention.value_length", NormEpsilonKey = "attention.layer_norm_rms_epsilon",
        RopeFreqBaseKey = "rope.freq_base", RopeDimensionCountKey = "rope.dimension_count", RopeScalingTypeKey = "rope.scaling.type",
        RopeScalingFactorKey = "rope.scaling.factor", VocabSizeKey = "vocab_size";

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
        int contextLength = Required(ContextLengthKey, 1, MaxContextLength);
        int dim = Required(EmbeddingLengthKey, 1, MaxWidth);
        int nHead = Required(HeadCountKey, 1, MaxHeads);
        int nHeadKv = Optional(HeadCountKvKey, nHead, 1, nHead);
        int headDim = Optional(KeyLengthKey, dim / nHead, 1, MaxWidth);
        int valueDim = Optional(ValueLengthKey, headDim, 1, MaxWidth);
        if (valueDim != headDim)
            throw new ModelLoadException(file.Path, $"{arch}.attention.value_length ({valueDim}) differs from key_length ({headDim}); not supported for {arch}");
        if (nHead % nHeadKv != 0)
            throw new ModelLoadException(file.Path, $"{arch}.attention.head_count ({nHead}) must be a multiple of head_count_kv ({nHeadKv})");

        var embd = file.GetTensor(TensorNames.Of(TensorKind.TokenEmbedding));
        long embdRows = embd.Shape.Length > 1 ? embd.Shape[1] : 0;
        int vocab = Optional(VocabSizeKey, embdRows, 1, MaxVocab);

        float freqScale = 1f;
        string? scaling = file.GetStringOrNull($"{arch}.{RopeScalingTypeKey}");
        if (scaling is "linear")
            freqScale = 1f / Positive(RopeScalingFactorKey, file.GetFloat32($"{arch}.{RopeScalingFactorKey}"));
        else if (scaling is not (null or "none"))
            throw new ModelLoadException(file.Path, $"{arch}.rope.scaling.type is '{scaling}', which SeekSharp does not support yet for {arch} (supported: none, linear)");

        var config = new ModelConfig
        {
            Architecture = arch,
            ContextLength = contextLength,
            EmbeddingLength = dim,
            BlockCount = Required(BlockCountKey, 1, MaxLayers),
            FeedForwardLength = Required(FeedForwardLengthKey, 1, MaxWidth * 64L),
            VocabSize = vocab,
            HeadCount = nHead,
            HeadCountKv = nHeadKv,
            HeadDim = headDim,
            NormEpsilon = Positive(NormEpsilonKey, file.GetFloat32($"{arch}.{NormEpsilonKey}")),
            RopeFreqBase = Positive(RopeFreqBaseKey, file.GetFloat32OrDefault($"{arch}.{RopeFreqBaseKey}", 10000f)),
            RopeDimensionCount = Optional(RopeDimensionCountKey, headDim, 0, headDim),
            RopeFreqScale = freqScale,
            RopeMode = architecture.RopeMode,
            TiedEmbeddings = file.FindTensor(TensorNames.Of(TensorKind.Output)) is null,
        };
        if (config.RopeDimensionCount % 2 != 0)
            throw new ModelLoadException(file.Path, $"{arch}.rope.dimension_count ({config.RopeDimensionCount}) must be even and at most the head width ({headDim})");
        return config;
    }
}

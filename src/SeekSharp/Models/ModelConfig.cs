using SeekSharp.Gguf;

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
/// Hyper-parameters of a decoder-only transformer, read from GGUF metadata (<c>{arch}.*</c> keys).
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
        RopeMode ropeMode = arch switch
        {
            "llama" => RopeMode.Adjacent,
            "qwen2" => RopeMode.HalfSplit,
            _ => throw new ModelLoadException(file.Path,
                $"general.architecture is '{arch}', which SeekSharp does not support (supported: llama, qwen2)"),
        };

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
        int contextLength = Required("context_length", 1, MaxContextLength);
        int dim = Required("embedding_length", 1, MaxWidth);
        int nHead = Required("attention.head_count", 1, MaxHeads);
        int nHeadKv = Optional("attention.head_count_kv", nHead, 1, nHead);
        int headDim = Optional("attention.key_length", dim / nHead, 1, MaxWidth);
        int valueDim = Optional("attention.value_length", headDim, 1, MaxWidth);
        if (valueDim != headDim)
            throw new ModelLoadException(file.Path, $"{arch}.attention.value_length ({valueDim}) differs from key_length ({headDim}); not supported for {arch}");
        if (nHead % nHeadKv != 0)
            throw new ModelLoadException(file.Path, $"{arch}.attention.head_count ({nHead}) must be a multiple of head_count_kv ({nHeadKv})");

        var embd = file.GetTensor("token_embd.weight");
        long embdRows = embd.Shape.Length > 1 ? embd.Shape[1] : 0;
        int vocab = Optional("vocab_size", embdRows, 1, MaxVocab);

        float freqScale = 1f;
        string? scaling = file.GetStringOrNull($"{arch}.rope.scaling.type");
        if (scaling is "linear")
            freqScale = 1f / Positive("rope.scaling.factor", file.GetFloat32($"{arch}.rope.scaling.factor"));
        else if (scaling is not (null or "none"))
            throw new ModelLoadException(file.Path, $"{arch}.rope.scaling.type is '{scaling}', which SeekSharp does not support yet for {arch} (supported: none, linear)");

        var config = new ModelConfig
        {
            Architecture = arch,
            ContextLength = contextLength,
            EmbeddingLength = dim,
            BlockCount = Required("block_count", 1, MaxLayers),
            FeedForwardLength = Required("feed_forward_length", 1, MaxWidth * 64L),
            VocabSize = vocab,
            HeadCount = nHead,
            HeadCountKv = nHeadKv,
            HeadDim = headDim,
            NormEpsilon = Positive("attention.layer_norm_rms_epsilon", file.GetFloat32($"{arch}.attention.layer_norm_rms_epsilon")),
            RopeFreqBase = Positive("rope.freq_base", file.GetFloat32OrDefault($"{arch}.rope.freq_base", 10000f)),
            RopeDimensionCount = Optional("rope.dimension_count", headDim, 0, headDim),
            RopeFreqScale = freqScale,
            RopeMode = ropeMode,
        };
        if (config.RopeDimensionCount % 2 != 0)
            throw new ModelLoadException(file.Path, $"{arch}.rope.dimension_count ({config.RopeDimensionCount}) must be even and at most the head width ({headDim})");
        return config;
    }
}

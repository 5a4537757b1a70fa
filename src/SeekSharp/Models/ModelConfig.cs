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

    /// <summary>Reads and validates the configuration of a GGUF model, naming the file and key on any problem.</summary>
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

        int Required(string key) => checked((int)file.GetUInt32($"{arch}.{key}"));

        int dim = Required("embedding_length");
        int nHead = Required("attention.head_count");
        int nHeadKv = checked((int)file.GetUInt32OrDefault($"{arch}.attention.head_count_kv", (uint)nHead));
        if (nHead <= 0 || dim <= 0)
            throw new ModelLoadException(file.Path, $"{arch}.embedding_length ({dim}) and {arch}.attention.head_count ({nHead}) must be positive");
        int headDim = checked((int)file.GetUInt32OrDefault($"{arch}.attention.key_length", (uint)(dim / nHead)));
        int valueDim = checked((int)file.GetUInt32OrDefault($"{arch}.attention.value_length", (uint)headDim));
        if (valueDim != headDim)
            throw new ModelLoadException(file.Path, $"{arch}.attention.value_length ({valueDim}) differs from key_length ({headDim}); not supported for {arch}");
        if (nHeadKv <= 0 || nHead % nHeadKv != 0)
            throw new ModelLoadException(file.Path, $"{arch}.attention.head_count ({nHead}) must be a multiple of head_count_kv ({nHeadKv})");

        var embd = file.GetTensor("token_embd.weight");
        int vocab = checked((int)file.GetUInt32OrDefault($"{arch}.vocab_size", (uint)embd.Shape[1]));

        float freqScale = 1f;
        string? scaling = file.GetStringOrNull($"{arch}.rope.scaling.type");
        if (scaling is "linear")
            freqScale = 1f / file.GetFloat32($"{arch}.rope.scaling.factor");
        else if (scaling is not (null or "none"))
            throw new ModelLoadException(file.Path, $"{arch}.rope.scaling.type is '{scaling}', which SeekSharp does not support yet for {arch} (supported: none, linear)");

        var config = new ModelConfig
        {
            Architecture = arch,
            ContextLength = Required("context_length"),
            EmbeddingLength = dim,
            BlockCount = Required("block_count"),
            FeedForwardLength = Required("feed_forward_length"),
            VocabSize = vocab,
            HeadCount = nHead,
            HeadCountKv = nHeadKv,
            HeadDim = headDim,
            NormEpsilon = file.GetFloat32($"{arch}.attention.layer_norm_rms_epsilon"),
            RopeFreqBase = file.GetFloat32OrDefault($"{arch}.rope.freq_base", 10000f),
            RopeDimensionCount = checked((int)file.GetUInt32OrDefault($"{arch}.rope.dimension_count", (uint)headDim)),
            RopeFreqScale = freqScale,
            RopeMode = ropeMode,
        };
        if (config.RopeDimensionCount > headDim || config.RopeDimensionCount % 2 != 0)
            throw new ModelLoadException(file.Path, $"{arch}.rope.dimension_count ({config.RopeDimensionCount}) must be even and at most the head width ({headDim})");
        return config;
    }
}

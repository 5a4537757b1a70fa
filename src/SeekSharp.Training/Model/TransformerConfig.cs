namespace SeekSharp.Training.Model;

/// <summary>
/// Shape of a trainable llama-style decoder: the same stack that <c>SeekSharp.Models.Architectures.Llama</c> runs for
/// inference (RMSNorm, grouped-query attention with adjacent-pair RoPE, SwiGLU, no biases), so an exported model loads there.
/// Glossary: V vocabulary, D width, L layers, H query heads, Hkv key/value heads, Dh = D / H head width, F feed-forward width.
/// </summary>
public sealed record TransformerConfig
{
    /// <summary>V: vocabulary size (rows of the token embedding and of the output projection).</summary>
    public required int VocabSize { get; init; }
    /// <summary>Longest sequence the model is trained on and advertises as its context length.</summary>
    public required int ContextLength { get; init; }
    /// <summary>D: width of the residual stream.</summary>
    public required int Dim { get; init; }
    /// <summary>L: number of transformer blocks.</summary>
    public required int Layers { get; init; }
    /// <summary>H: query heads; must divide <see cref="Dim"/> into heads of even width.</summary>
    public required int Heads { get; init; }
    /// <summary>Hkv: key/value heads; must divide <see cref="Heads"/> (grouped-query attention).</summary>
    public required int KvHeads { get; init; }
    /// <summary>F: hidden width of the SwiGLU feed-forward.</summary>
    public required int FfnDim { get; init; }

    // numerics
    /// <summary>Epsilon inside RMSNorm's square root.</summary>
    public float NormEpsilon { get; init; } = 1e-5f;
    /// <summary>Base of the rotary frequencies (theta).</summary>
    public float RopeTheta { get; init; } = 10000f;
    /// <summary>When true the output projection is the token embedding itself (no separate <c>output.weight</c>).</summary>
    public bool TiedEmbeddings { get; init; }

    /// <summary>Dh: width of one head.</summary>
    public int HeadDim => Dim / Heads;

    /// <summary>Throws <see cref="ArgumentException"/> naming the offending field when the shape is not a valid decoder.</summary>
    public void Validate()
    {
        if (VocabSize <= 0 || ContextLength <= 0 || Dim <= 0 || Layers <= 0 || Heads <= 0 || KvHeads <= 0 || FfnDim <= 0)
            throw new ArgumentException($"Every size must be positive: {this}.");
        if (Dim % Heads != 0 || HeadDim % 2 != 0)
            throw new ArgumentException($"Dim {Dim} must split into {Heads} heads of even width (RoPE rotates pairs).");
        if (Heads % KvHeads != 0)
            throw new ArgumentException($"Heads {Heads} must be a multiple of KvHeads {KvHeads} (grouped-query attention).");
        if (!(NormEpsilon > 0) || !(RopeTheta > 0))
            throw new ArgumentException($"NormEpsilon ({NormEpsilon}) and RopeTheta ({RopeTheta}) must be positive.");
    }
}

namespace SeekSharp.Training.Optim;

/// <summary>Hyper-parameters of AdamW (Loshchilov and Hutter 2019) and of the step around it.</summary>
public sealed record AdamWOptions
{
    /// <summary>Peak learning rate, reached at the end of warmup.</summary>
    public float LearningRate { get; init; } = 1e-3f;
    /// <summary>Decay of the first-moment (mean) estimate.</summary>
    public float Beta1 { get; init; } = 0.9f;
    /// <summary>Decay of the second-moment (uncentred variance) estimate.</summary>
    public float Beta2 { get; init; } = 0.95f;
    /// <summary>Added to √v̂ in the denominator.</summary>
    public float Epsilon { get; init; } = 1e-8f;
    /// <summary>Decoupled weight decay: each step multiplies decayed weights by (1 − lr · WeightDecay).</summary>
    public float WeightDecay { get; init; } = 0.1f;
    /// <summary>Whether the token embedding (and so a tied output) is decayed; norm gains never are.</summary>
    public bool DecayEmbedding { get; init; }
    /// <summary>Global gradient-norm clip; 0 or less disables clipping.</summary>
    public float MaxGradNorm { get; init; } = 1f;

    /// <summary>Throws <see cref="ArgumentException"/> for values outside their domain.</summary>
    public void Validate()
    {
        if (!(LearningRate >= 0) || !(Beta1 is >= 0 and < 1) || !(Beta2 is >= 0 and < 1) || !(Epsilon > 0) || !(WeightDecay >= 0) || float.IsNaN(MaxGradNorm))
            throw new ArgumentException($"Invalid AdamW options: {this} (need lr ≥ 0, 0 ≤ β < 1, ε > 0, decay ≥ 0).");
    }
}

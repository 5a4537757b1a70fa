namespace SeekSharp.Training.Recipes.Grpo;

/// <summary>
/// Settings of GRPO (DeepSeekMath §4.1, DeepSeek-R1 §2.2), the <c>grpo</c> object of a <see cref="Common.TrainConfig"/>:
/// per prompt a group of completions sampled from the current policy, rule-based rewards, advantages relative to the
/// group, a clipped policy-ratio objective and an optional KL penalty to the starting policy. The run-level values
/// (steps, learning rate, batch size, seed, threads) are the config's own. Defaults are sized for the small models this
/// project trains on a CPU.
/// </summary>
public sealed record GrpoSettings
{
    // sampling
    /// <summary>G: completions sampled per prompt; the group whose mean reward is each completion's baseline.</summary>
    public int GroupSize { get; init; } = 8;
    /// <summary>P: training problems drawn per sampled batch; a batch holds P × G completions.</summary>
    public int PromptsPerStep { get; init; } = 8;
    /// <summary>Most tokens per completion (the end-of-sequence token not counted). The model's context must hold the
    /// longest rendered prompt plus this many tokens.</summary>
    public int MaxCompletionTokens { get; init; } = 160;
    /// <summary>Sampling temperature (no top-k / top-p / min-p truncation, so every token the policy allows can be
    /// explored). The objective scores tokens at the same temperature, so π_old is the distribution that drew them.</summary>
    public float Temperature { get; init; } = 1f;

    // updates
    /// <summary>
    /// μ: optimizer steps per sampled batch (DeepSeekMath's GRPO iterations). The first starts at ρ = 1; later ones see
    /// the policy moved away from the one that sampled, so the ratio and its clip act. The config's <c>steps</c> counts
    /// optimizer steps, so it must be a multiple of μ; a run of S steps samples S/μ batches.
    /// </summary>
    public int Iterations { get; init; } = 1;

    // objective
    /// <summary>ε of the clipped ratio: the ratio π/π_old is clipped to [1 − ε, 1 + ε].</summary>
    public float ClipEpsilon { get; init; } = 0.2f;
    /// <summary>β, weight of the k3 KL estimate to a frozen copy of the starting policy; 0 needs no reference model.</summary>
    public float KlBeta { get; init; }
    /// <summary>
    /// Dr. GRPO (Liu et al. 2025, "Understanding R1-Zero-Like Training"): advantages are r − mean without dividing by
    /// the group's standard deviation, and each completion's token sum is divided by the constant
    /// <see cref="MaxCompletionTokens"/> instead of its own length, removing GRPO's question-difficulty and length biases.
    /// </summary>
    public bool DrGrpo { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the JSON key of the first setting outside its domain.</summary>
    internal void Validate()
    {
        if (GroupSize < 2) throw new ArgumentException($"grpo.groupSize must be at least 2 (advantages compare samples of one prompt), got {GroupSize}.");
        if (PromptsPerStep < 1) throw new ArgumentException($"grpo.promptsPerStep must be at least 1, got {PromptsPerStep}.");
        if (MaxCompletionTokens < 1) throw new ArgumentException($"grpo.maxCompletionTokens must be at least 1, got {MaxCompletionTokens}.");
        if (!(Temperature > 0 && float.IsFinite(Temperature)))
            throw new ArgumentException($"grpo.temperature must be positive (greedy groups would be identical and carry no signal), got {Temperature}.");
        if (Iterations < 1) throw new ArgumentException($"grpo.iterations (μ) must be at least 1, got {Iterations}.");
        if (!(ClipEpsilon > 0 && ClipEpsilon < 1)) throw new ArgumentException($"grpo.clipEpsilon must be between 0 and 1 (exclusive), got {ClipEpsilon}.");
        if (!(KlBeta >= 0 && float.IsFinite(KlBeta))) throw new ArgumentException($"grpo.klBeta must be 0 (no KL term) or positive, got {KlBeta}.");
    }
}

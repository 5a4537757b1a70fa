using SeekSharp.Training.Tasks;

namespace SeekSharp.Training.Recipes.Grpo;

/// <summary>
/// Settings of GRPO (DeepSeekMath §4.1, DeepSeek-R1 §2.2): per prompt a group of completions sampled from the current
/// policy, rule-based rewards, advantages relative to the group, a clipped policy-ratio objective and an optional KL
/// penalty to the initial policy. Defaults are sized for the small models this project trains on a CPU.
/// </summary>
public sealed record GrpoOptions
{
    // sampling
    /// <summary>G: completions sampled per prompt; the group whose mean reward is each completion's baseline.</summary>
    public int GroupSize { get; init; } = 8;
    /// <summary>Training problems drawn per step; a step samples PromptsPerStep × GroupSize completions.</summary>
    public int PromptsPerStep { get; init; } = 8;
    /// <summary>Most tokens per completion (the end-of-sequence token not counted).</summary>
    public int MaxCompletionTokens { get; init; } = 96;
    /// <summary>Sampling temperature (no top-k / top-p / min-p truncation, so every token the policy allows can be
    /// explored). The objective scores tokens at the same temperature, so π_old is the distribution that drew them.</summary>
    public float Temperature { get; init; } = 1f;

    // objective
    /// <summary>ε of the clipped ratio: the ratio π/π_old is clipped to [1 − ε, 1 + ε].</summary>
    public float ClipEpsilon { get; init; } = 0.2f;
    /// <summary>β, weight of the k3 KL estimate to a frozen copy of the initial policy; 0 needs no reference model.</summary>
    public float KlBeta { get; init; }
    /// <summary>
    /// Dr. GRPO (Liu et al. 2025, "Understanding R1-Zero-Like Training"): advantages are r − mean without dividing by
    /// the group's standard deviation, and each completion's token sum is divided by the constant
    /// <see cref="MaxCompletionTokens"/> instead of its own length, removing GRPO's question-difficulty and length biases.
    /// </summary>
    public bool DrGrpo { get; init; }
    /// <summary>Added to the group's standard deviation before dividing (GRPO only), so uniform groups give 0, not NaN.</summary>
    public double AdvantageEpsilon { get; init; } = 1e-4;
    /// <summary>
    /// The reward of a completion's text for its problem; null uses answer correctness plus 0.1 × format
    /// (<see cref="Rewards.WeightedReward"/>'s R1 weighting, verified by the recipe's task).
    /// </summary>
    public Func<Problem, string, double>? Reward { get; init; }

    // optimisation
    /// <summary>
    /// μ: optimizer updates per sampled batch (DeepSeekMath's GRPO iterations). The first update starts at ρ = 1; later
    /// ones see the policy moved away from the one that sampled, so the ratio and its clip act. Each update is one
    /// optimizer step; a run of S steps samples S/μ batches.
    /// </summary>
    public int Iterations { get; init; } = 1;
    /// <summary>Optimizer steps of a run (for callers driving <see cref="GrpoRecipe.RunStep"/> and for schedules).</summary>
    public int Steps { get; init; } = 100;
    /// <summary>Peak learning rate, for callers that build the <see cref="Optim.Trainer"/> with <see cref="GrpoRecipe.CreateTrainer"/>.</summary>
    public float LearningRate { get; init; } = 1e-4f;
    /// <summary>Sequences per training forward/backward (capped by the model's MaxBatch); gradients accumulate over them.</summary>
    public int MicroBatchSize { get; init; } = 8;

    // execution
    /// <summary>Seed of the problem stream and of the sampling draws; step k uses seeds derived from (Seed, k).</summary>
    public ulong Seed { get; init; } = 1;
    /// <summary>Threads of the sampling context; 0 shares the process-wide pool.</summary>
    public int SamplerThreads { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting outside its domain.</summary>
    public void Validate()
    {
        static void Check(bool ok, string name, object value, string expected)
        {
            if (!ok) throw new ArgumentException($"GRPO option {name} = {value} is invalid: {expected}.");
        }
        Check(GroupSize >= 2, nameof(GroupSize), GroupSize, "group-relative advantages need at least 2 completions per prompt");
        Check(PromptsPerStep >= 1, nameof(PromptsPerStep), PromptsPerStep, "at least 1");
        Check(MaxCompletionTokens >= 1, nameof(MaxCompletionTokens), MaxCompletionTokens, "at least 1");
        Check(Temperature > 0 && float.IsFinite(Temperature), nameof(Temperature), Temperature, "positive (greedy groups would be identical and carry no signal)");
        Check(ClipEpsilon > 0 && ClipEpsilon < 1, nameof(ClipEpsilon), ClipEpsilon, "between 0 and 1 (exclusive)");
        Check(KlBeta >= 0 && float.IsFinite(KlBeta), nameof(KlBeta), KlBeta, "0 (no KL) or positive");
        Check(AdvantageEpsilon > 0, nameof(AdvantageEpsilon), AdvantageEpsilon, "positive");
        Check(Iterations >= 1, nameof(Iterations), Iterations, "at least 1");
        Check(Steps >= 1, nameof(Steps), Steps, "at least 1");
        Check(LearningRate > 0 && float.IsFinite(LearningRate), nameof(LearningRate), LearningRate, "positive");
        Check(MicroBatchSize >= 1, nameof(MicroBatchSize), MicroBatchSize, "at least 1");
        Check(SamplerThreads >= 0, nameof(SamplerThreads), SamplerThreads, "0 (shared pool) or positive");
    }
}

namespace SeekSharp.Training.Recipes.Grpo;

/// <summary>What one GRPO step (one sampled batch and its μ optimizer updates) measured, over its PromptsPerStep ×
/// GroupSize completions.</summary>
/// <param name="Step">Optimizer steps completed after this sampled batch's updates.</param>
/// <param name="RewardMean">Mean reward.</param>
/// <param name="RewardStd">Standard deviation of the rewards (population).</param>
/// <param name="Accuracy">Fraction of completions whose final answer the task verifies as correct.</param>
/// <param name="FormatRate">Fraction of completions in the R1 format (reasoning, <c>&lt;/think&gt;</c>, answer).</param>
/// <param name="MeanResponseLength">Mean completion length in tokens (end-of-sequence not counted).</param>
/// <param name="Kl">Mean k3 estimate of KL(π ‖ π_ref) per completion token in the last update; 0 without a reference model (β = 0).</param>
/// <param name="Loss">The objective minimised (clipped surrogate plus β·KL), mean over the μ updates, each before its update.</param>
/// <param name="ClipFraction">Fraction of trained completion tokens, over all μ updates, whose ratio was clipped (outside
/// [1 − ε, 1 + ε] in the direction its advantage favours, so its gradient is 0). Always 0 when μ = 1, where ρ = 1.</param>
/// <param name="SampleSeconds">Wall time of export, load and sampling.</param>
/// <param name="TrainSeconds">Wall time of rewards, forward/backward passes and the optimizer update.</param>
internal sealed record GrpoStepMetrics(long Step, double RewardMean, double RewardStd, double Accuracy, double FormatRate,
    double MeanResponseLength, double Kl, double Loss, double ClipFraction, double SampleSeconds, double TrainSeconds);

namespace SeekSharp.Training.Optim;

/// <summary>What one optimizer step did.</summary>
/// <param name="Step">Steps completed after this one.</param>
/// <param name="Loss">The loss of the step's forward (NaN when the caller ran its own backward).</param>
/// <param name="GradNorm">Global gradient norm before clipping.</param>
/// <param name="LearningRate">Learning rate applied.</param>
public readonly record struct StepResult(long Step, float Loss, double GradNorm, float LearningRate);

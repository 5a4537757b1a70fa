namespace SeekSharp.Training.Optim;

/// <summary>
/// Linear warmup from 0 to the peak rate over <see cref="WarmupSteps"/>, then cosine decay to
/// <see cref="MinRatio"/> × peak at <see cref="TotalSteps"/>, constant afterwards.
/// </summary>
public sealed record LearningRateSchedule
{
    /// <summary>Steps of linear warmup (0 for none).</summary>
    public int WarmupSteps { get; init; }
    /// <summary>Step at which the decay reaches its floor; 0 keeps the peak rate after warmup.</summary>
    public int TotalSteps { get; init; }
    /// <summary>Floor of the decay as a fraction of the peak rate, in [0, 1].</summary>
    public float MinRatio { get; init; } = 0.1f;

    /// <summary>The learning rate for step <paramref name="step"/> (0-based) given the peak <paramref name="peak"/>.</summary>
    public float At(long step, float peak)
    {
        if (WarmupSteps < 0 || TotalSteps < 0 || MinRatio is < 0 or > 1)
            throw new ArgumentException($"Invalid schedule {this}: steps must be non-negative and MinRatio in [0, 1].");
        if (step < WarmupSteps)
            return peak * (step + 1) / WarmupSteps; // step 0 already moves, so no step is wasted at lr 0
        if (TotalSteps <= WarmupSteps)
            return TotalSteps == 0 ? peak : peak * MinRatio;
        if (step >= TotalSteps)
            return peak * MinRatio;
        double progress = (double)(step - WarmupSteps) / (TotalSteps - WarmupSteps);
        double cosine = 0.5 * (1 + Math.Cos(Math.PI * progress));
        return (float)(peak * (MinRatio + (1 - MinRatio) * cosine));
    }
}

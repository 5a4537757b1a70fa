using SeekSharp.Training.Model;

namespace SeekSharp.Training.Optim;

/// <summary>
/// The training state that a checkpoint captures: a model, AdamW's moments, the step counter and a random generator
/// for the recipe's data sampling. One step is zero-grad, forward, backward, clip, schedule, AdamW.
/// </summary>
/// <remarks>
/// Recipes with their own objective (GRPO) call <see cref="Transformer.ZeroGradients"/>, the model's
/// <see cref="Transformer.LogProbs"/> / <see cref="Transformer.LogProbsBackward"/> as often as they like, then
/// <see cref="ApplyGradients"/>.
/// </remarks>
public sealed class Trainer
{
    internal AdamW Optimizer { get; }

    /// <summary>Wraps <paramref name="model"/> (its current weights are the starting point).</summary>
    /// <param name="model">Model to train.</param>
    /// <param name="options">AdamW and clipping settings.</param>
    /// <param name="schedule">Learning-rate schedule over steps.</param>
    /// <param name="seed">Seed of <see cref="Random"/>.</param>
    public Trainer(Transformer model, AdamWOptions options, LearningRateSchedule schedule, ulong seed)
    {
        Model = model;
        Optimizer = new AdamW(model.Layout, options);
        Schedule = schedule;
        Random = new TrainingRandom(seed);
    }

    /// <summary>The model being trained.</summary>
    public Transformer Model { get; }
    /// <summary>Optimizer settings.</summary>
    public AdamWOptions Options => Optimizer.Options;
    /// <summary>Learning-rate schedule.</summary>
    public LearningRateSchedule Schedule { get; }
    /// <summary>Random generator for the recipe (batch sampling); saved in checkpoints so a resumed run draws the same data.</summary>
    public TrainingRandom Random { get; }
    /// <summary>Optimizer steps completed.</summary>
    public long Step { get; internal set; }

    /// <summary>One step on the mean weighted cross-entropy of a batch (see <see cref="Transformer.Loss"/> for the arguments).</summary>
    public StepResult TrainStep(ReadOnlySpan<int> tokens, ReadOnlySpan<int> targets, ReadOnlySpan<float> weights, int batch, int seqLen)
    {
        Model.ZeroGradients();
        float loss = Model.Loss(tokens, targets, weights, batch, seqLen);
        Model.LossBackward();
        return ApplyGradients(loss);
    }

    /// <summary>Clips the accumulated gradients, applies AdamW at the scheduled rate and advances <see cref="Step"/>.</summary>
    /// <param name="loss">The loss to report in the result.</param>
    public StepResult ApplyGradients(float loss = float.NaN)
    {
        double norm = GradientClipping.Clip(Model.Gradients, Options.MaxGradNorm);
        float lr = Schedule.At(Step, Options.LearningRate);
        Optimizer.Update(Model.Parameters, Model.Gradients, lr, Step + 1);
        Step++;
        return new StepResult(Step, loss, norm, lr);
    }
}

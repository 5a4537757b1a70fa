namespace SeekSharp.Training.Tasks;

/// <summary>Which part of a task's fixed three-way partition a problem belongs to (<see cref="ProblemSets.SplitOf"/>).</summary>
public enum ProblemSplit
{
    /// <summary>Problems for training (SFT data, GRPO prompts, distillation traces).</summary>
    Train,

    /// <summary>Problems for every choice made while training: rounds, steps, rates, which checkpoint to keep.</summary>
    Validation,

    /// <summary>Problems for the reported figures only; nothing is tuned on them.</summary>
    Test,
}

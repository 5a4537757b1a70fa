namespace SeekSharp.Training.Tasks;

/// <summary>Which side of a task's fixed train / held-out partition a problem belongs to.</summary>
public enum ProblemSplit
{
    /// <summary>Problems for training (SFT data, GRPO prompts).</summary>
    Train,

    /// <summary>Problems kept for evaluation only.</summary>
    HeldOut,
}

namespace SeekSharp.Training.Tasks;

/// <summary>Which of a task's phrasings its problems are asked in.</summary>
public enum PhrasingSet
{
    /// <summary>The phrasings training data is written in (pretraining, SFT, GRPO prompts, validation).</summary>
    Trained,

    /// <summary>A third of the phrasings, never used by training: evaluation on them measures whether a model
    /// understands the question or only the sentences it was taught.</summary>
    HeldOut,
}

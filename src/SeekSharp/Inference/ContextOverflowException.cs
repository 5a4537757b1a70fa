namespace SeekSharp.Inference;

/// <summary>Input that does not fit the context: names how many positions were needed and how many there are.</summary>
public sealed class ContextOverflowException(int needed, int contextLength)
    : Exception($"the input needs {needed} positions but the context holds {contextLength}; shorten the prompt or raise the context length (--ctx)")
{
    /// <summary>Positions the input needed.</summary>
    public int Needed { get; } = needed;
    /// <summary>Positions available.</summary>
    public int ContextLength { get; } = contextLength;
}

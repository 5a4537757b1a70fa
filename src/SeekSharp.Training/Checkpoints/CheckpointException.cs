namespace SeekSharp.Training.Checkpoints;

/// <summary>A checkpoint file cannot be read or does not fit the trainer it is restored into.</summary>
public sealed class CheckpointException(string path, string message)
    : Exception($"Checkpoint '{path}': {message}")
{
    /// <summary>The file involved.</summary>
    public string Path { get; } = path;
}

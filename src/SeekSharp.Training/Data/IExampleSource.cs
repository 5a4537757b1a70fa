using SeekSharp.Training.Model;

namespace SeekSharp.Training.Data;

/// <summary>An endless stream of chat examples drawn with the trainer's random generator, so a resumed run draws the
/// same examples as an uninterrupted one.</summary>
internal interface IExampleSource
{
    /// <summary>The next example: any earlier turns, the user's text and the assistant's completion.</summary>
    ChatExample Next(TrainingRandom random);
}

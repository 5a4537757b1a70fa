using SeekSharp.Training.Model;

namespace SeekSharp.Training.Data;

/// <summary>An endless stream of chat examples (user text and assistant completion) drawn with the trainer's random
/// generator, so a resumed run draws the same examples as an uninterrupted one.</summary>
internal interface IExampleSource
{
    /// <summary>The next example: the user's text and the assistant's completion (reasoning, <c>&lt;/think&gt;</c>, answer).</summary>
    (string User, string Completion) Next(TrainingRandom random);
}

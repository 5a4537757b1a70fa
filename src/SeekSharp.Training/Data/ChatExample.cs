namespace SeekSharp.Training.Data;

/// <summary>
/// One training conversation: earlier turns (each a question and the answer the assistant gave), then the question the
/// example trains on and its completion (reasoning, <c>&lt;/think&gt;</c>, answer). The earlier turns are context only:
/// they are rendered as the chat template renders history, answers without their reasoning, and carry no loss.
/// </summary>
/// <param name="History">Earlier turns, oldest first; empty for a single question.</param>
/// <param name="User">The last user message.</param>
/// <param name="Completion">The assistant's reply to it, which SFT learns.</param>
internal sealed record ChatExample(IReadOnlyList<(string User, string Answer)> History, string User, string Completion)
{
    /// <summary>A single question without history.</summary>
    public ChatExample(string user, string completion) : this([], user, completion) { }
}

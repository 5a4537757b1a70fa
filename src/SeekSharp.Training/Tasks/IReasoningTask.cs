namespace SeekSharp.Training.Tasks;

/// <summary>A family of problems with a generator and an exact verifier, for SFT data, RL prompts and evaluation.</summary>
public interface IReasoningTask
{
    /// <summary>The registry name ("addition", "countdown", ...).</summary>
    string Name { get; }

    /// <summary>The operands' digit ranges as <c>AxB</c> (<see cref="OperandDigits"/>), or null for a task without
    /// operands of chosen length (countdown). Reports name it so "3-digit" says which operands have 3 digits.</summary>
    string? Digits => null;

    /// <summary>The phrasings its questions are asked in: <see cref="PhrasingSet.Trained"/> unless evaluation asks for
    /// the held-out ones. The choice changes the words of a problem, never which problems are drawn.</summary>
    PhrasingSet Phrasings => PhrasingSet.Trained;

    /// <summary>Draws one problem; the same <paramref name="rng"/> state gives the same problem.</summary>
    Problem Generate(Random rng);

    /// <summary>True when <paramref name="answer"/> (the text after <c>&lt;/think&gt;</c>, surrounding whitespace
    /// allowed) correctly answers <paramref name="problem"/>. Never throws on malformed answers.</summary>
    bool Verify(Problem problem, string answer);
}

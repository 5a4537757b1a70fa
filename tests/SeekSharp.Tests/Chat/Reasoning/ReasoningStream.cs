using System.Text;
using SeekSharp.Chat.Reasoning;

namespace SeekSharp.Tests.Chat.Reasoning;

/// <summary>Feeds text to a <see cref="ReasoningParser"/> in given pieces and checks the delta invariants on the way.</summary>
internal sealed class ReasoningStream
{
    readonly ReasoningParser parser;
    readonly StringBuilder reasoning = new();
    readonly StringBuilder content = new();

    public ReasoningStream(ReasoningFormat format, bool prefilled) => parser = new ReasoningParser(format, prefilled);

    public bool InReasoning => parser.InReasoning;
    public string Reasoning => reasoning.ToString();
    public string Content => content.ToString();
    public (string? Reasoning, string Content) Result => (reasoning.Length == 0 ? null : reasoning.ToString(), content.ToString());

    public List<ReasoningDelta> Append(string piece)
    {
        var deltas = new List<ReasoningDelta>();
        parser.Append(piece, deltas);
        Collect(deltas);
        return deltas;
    }

    public List<ReasoningDelta> Finish()
    {
        var deltas = new List<ReasoningDelta>();
        parser.Finish(deltas);
        Collect(deltas);
        return deltas;
    }

    void Collect(List<ReasoningDelta> deltas)
    {
        for (int i = 0; i < deltas.Count; i++)
        {
            Assert.NotEqual("", deltas[i].Text);
            if (i > 0)
                Assert.NotEqual(deltas[i - 1].Kind, deltas[i].Kind); // one call merges its deltas by kind
            (deltas[i].Kind == ReasoningKind.Reasoning ? reasoning : content).Append(deltas[i].Text);
        }
    }

    public static (string? Reasoning, string Content) Run(IEnumerable<string> pieces, ReasoningFormat format, bool prefilled)
    {
        var s = new ReasoningStream(format, prefilled);
        foreach (var p in pieces)
            s.Append(p);
        s.Finish();
        return s.Result;
    }

    /// <summary>Cuts text into pieces of 1..maxLen chars, never inside a surrogate pair (a decoder emits whole characters).</summary>
    public static List<string> RandomPieces(string text, Random rng, int maxLen)
    {
        var pieces = new List<string>();
        int i = 0;
        while (i < text.Length)
        {
            int n = Math.Min(rng.Next(1, maxLen + 1), text.Length - i);
            if (i + n < text.Length && char.IsLowSurrogate(text[i + n]))
                n++;
            pieces.Add(text.Substring(i, n));
            i += n;
        }
        return pieces;
    }

    public static List<string> Chars(string text) => RandomPieces(text, new Random(0), 1);

    /// <summary>Indices where text may be cut without splitting a surrogate pair (0 and Length included).</summary>
    public static IEnumerable<int> CutPoints(string text)
    {
        for (int i = 0; i <= text.Length; i++)
            if (i == 0 || i == text.Length || !char.IsLowSurrogate(text[i]))
                yield return i;
    }
}

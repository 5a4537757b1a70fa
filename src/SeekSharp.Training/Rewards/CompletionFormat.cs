using SeekSharp.Training.Tokenizers;

namespace SeekSharp.Training.Rewards;

/// <summary>
/// The strict R1 answer format: reasoning, <c>&lt;/think&gt;</c>, then a non-empty answer.
/// </summary>
/// <remarks>
/// <para>With <c>promptOpensThinking</c> (R1's generation prompt ends with <c>&lt;think&gt;\n</c>) the completion starts
/// inside the reasoning and must not open it again. Without it the completion must start with <c>&lt;think&gt;</c>
/// (leading whitespace allowed).</para>
/// <para>Well formed means: exactly one <c>&lt;/think&gt;</c>, no further <c>&lt;think&gt;</c>, reasoning with some
/// non-whitespace text, and an answer with some non-whitespace text. A reply cut off inside its reasoning, a second
/// thinking block, or an empty reasoning (<c>&lt;think&gt;\n\n&lt;/think&gt;</c>) all fail.</para>
/// </remarks>
public static class CompletionFormat
{
    /// <summary>Splits a well-formed completion into its reasoning and answer (both trimmed); false otherwise.</summary>
    public static bool TryParse(string completion, bool promptOpensThinking, out string reasoning, out string answer)
    {
        ArgumentNullException.ThrowIfNull(completion);
        reasoning = answer = "";
        var text = completion.AsSpan();
        if (!promptOpensThinking)
        {
            text = text.TrimStart();
            if (!text.StartsWith(R1ChatFormat.ThinkOpen, StringComparison.Ordinal)) return false;
            text = text[R1ChatFormat.ThinkOpen.Length..];
        }
        if (text.Contains(R1ChatFormat.ThinkOpen, StringComparison.Ordinal)) return false;
        int close = text.IndexOf(R1ChatFormat.ThinkClose, StringComparison.Ordinal);
        if (close < 0) return false;
        var rest = text[(close + R1ChatFormat.ThinkClose.Length)..];
        if (rest.Contains(R1ChatFormat.ThinkClose, StringComparison.Ordinal)) return false;
        var r = text[..close].Trim();
        var a = rest.Trim();
        if (r.IsEmpty || a.IsEmpty) return false;
        reasoning = r.ToString();
        answer = a.ToString();
        return true;
    }
}

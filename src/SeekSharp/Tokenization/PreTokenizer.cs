namespace SeekSharp.Tokenization;

/// <summary>
/// Splits a fragment of text (as code points) into the words that BPE merges never cross.
/// Implementations are hand-written equivalents of the tokenizer.json Split regexes: .NET Regex cannot
/// express them exactly and a direct scan over class flags is several times faster.
/// </summary>
internal abstract class PreTokenizer
{
    /// <summary>Appends (start, length) of each word of <paramref name="cps"/>, in order, covering it entirely.</summary>
    public abstract void Split(ReadOnlySpan<int> cps, List<(int Start, int Length)> words);

    public static PreTokenizer Create(PreTokenizerKind kind, bool llamaCppClasses) => kind switch
    {
        PreTokenizerKind.Gpt2 => new Gpt2PreTokenizer(),
        PreTokenizerKind.Llama3 => new Llama3PreTokenizer(maxDigits: 3),
        PreTokenizerKind.Qwen2 => new Llama3PreTokenizer(maxDigits: 1),
        PreTokenizerKind.DeepSeekV3 => new DeepSeekV3PreTokenizer(llamaCppClasses),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    protected static bool IsRN(int c) => c == '\r' || c == '\n';

    /// <summary>
    /// The shared whitespace tail of the Llama 3 family of regexes at a whitespace code point:
    /// <c>\s*[\r\n]+|\s+(?!\S)|\s+</c> (or, without newline handling, the GPT-2 <c>\s+(?!\S)|\s+</c>).
    /// Returns the match end; requires cps[pos] to be whitespace.
    /// </summary>
    protected static int MatchWhitespace(ReadOnlySpan<int> cps, int pos, bool newlineRule)
    {
        int end = pos;
        int lastNewlineEnd = -1;
        while (end < cps.Length && CodepointFlags.IsWhitespace(cps[end]))
        {
            if (IsRN(cps[end])) lastNewlineEnd = end + 1;
            end++;
        }
        // \s*[\r\n]+: the greedy \s* backs off to the last CR/LF of the run.
        if (newlineRule && lastNewlineEnd > 0) return lastNewlineEnd;
        // \s+(?!\S): before a non-space the run gives its last space to the next word (" word").
        if (end - pos > 1 && end < cps.Length) return end - 1;
        return end;
    }
}

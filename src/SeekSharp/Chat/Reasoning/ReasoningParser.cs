using System.Text;

namespace SeekSharp.Chat.Reasoning;

/// <summary>
/// Splits a stream of generated text (pieces as they are decoded, cut anywhere) into thinking and answer, as
/// llama.cpp's server fills <c>reasoning_content</c> and <c>content</c> for <c>--reasoning-format deepseek</c>.
/// One parser per assistant message: <see cref="Append"/> each decoded piece, then <see cref="Finish"/> once.
/// </summary>
/// <remarks>
/// <para>The rules (whitespace is ASCII space, \t, \n, \v, \f, \r, as C's <c>isspace</c>):</para>
/// <list type="bullet">
/// <item>Thinking starts when the prompt already opened it (<c>startsInReasoning</c>: the R1 and R1-Distill templates end
/// with <c>&lt;think&gt;\n</c>, so the model writes only the closing tag), or when the output starts with the opening
/// tag after optional whitespace. That whitespace is answer text. A repeated opening tag right at the start of a
/// prefilled message is dropped.</item>
/// <item>Otherwise the whole output is answer; a later literal <c>&lt;think&gt;</c> stays answer text.</item>
/// <item>Each thinking block is trimmed of whitespace at both ends; a block that is empty or only whitespace (the
/// <c>&lt;think&gt;\n\n&lt;/think&gt;</c> R1 sometimes writes) yields nothing. Whitespace after the closing tag is
/// dropped; a new opening tag there starts another block, whose text is appended to the same reasoning.</item>
/// <item>Without a closing tag everything after the opening is thinking (a reply cut by the length limit).</item>
/// <item>Text is held back only while it may still change meaning: a suffix that could begin a tag, whitespace that
/// would be trimmed if the block ended, and, in a prefilled message, whitespace before a possible opening tag.
/// Everything else is returned by the same <see cref="Append"/> call. <see cref="Finish"/> releases a held partial tag
/// as text of the part it was in (llama.cpp drops it), so a cut-off reply loses nothing.</item>
/// </list>
/// </remarks>
public sealed class ReasoningParser
{
    enum State { Opening, Reasoning, Content, Finished }

    readonly string? openTag;
    readonly string? closeTag;
    // The prompt opened thinking, so text before any tag is reasoning.
    readonly bool prefilled;

    State state;
    // Opening state: true for the message start, false after a closed block (where whitespace is dropped).
    bool atStart = true;
    // Reasoning state: this block already produced text, so its leading whitespace is behind us.
    bool blockHasText;
    // Undecided text: whitespace and/or the beginning of a tag.
    string pending = "";
    // Index in the caller's list where this call's deltas begin (deltas of one call are merged by kind).
    List<ReasoningDelta>? output;
    int outputStart;

    /// <summary>Creates a parser for one assistant message.</summary>
    /// <param name="format">How the model marks thinking; with <see cref="ReasoningFormat.None"/> everything is answer.</param>
    /// <param name="startsInReasoning">True when the rendered prompt already opened thinking
    /// (see <see cref="PromptOpensReasoning"/>); ignored for <see cref="ReasoningFormat.None"/>.</param>
    public ReasoningParser(ReasoningFormat format, bool startsInReasoning)
    {
        ArgumentNullException.ThrowIfNull(format);
        openTag = format.OpenTag;
        closeTag = format.CloseTag;
        prefilled = startsInReasoning && format.HasTags;
        state = format.HasTags ? State.Opening : State.Content;
    }

    /// <summary>True while the text being generated is thinking (the prompt prefilled the opening tag, or the
    /// output opened a block that is not closed yet).</summary>
    public bool InReasoning => state == State.Reasoning || (state == State.Opening && atStart && prefilled);

    /// <summary>True while the output may still open thinking at its start: the format has tags, the prompt did not
    /// open them, and nothing but whitespace (and the beginning of the opening tag) has come yet.</summary>
    public bool MayOpenReasoning => state == State.Opening && atStart && !prefilled;

    /// <summary>Feeds the next decoded piece and appends the deltas it decides to <paramref name="output"/>
    /// (at most one per kind and change of kind; nothing when all of it must wait for more text).</summary>
    /// <exception cref="InvalidOperationException">After <see cref="Finish"/>.</exception>
    public void Append(string text, List<ReasoningDelta> output)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(output);
        if (state == State.Finished)
            throw new InvalidOperationException("Append after Finish: use a new ReasoningParser for each assistant message.");
        if (text.Length == 0)
            return;

        string buf = pending.Length == 0 ? text : pending + text;
        pending = "";
        this.output = output;
        outputStart = output.Count;
        int i = 0;
        while (i < buf.Length)
        {
            i = state switch
            {
                State.Opening => StepOpening(buf, i),
                State.Reasoning => StepReasoning(buf, i),
                _ => EmitRest(buf, i),
            };
        }
        this.output = null;
    }

    /// <summary>Ends the message: appends to <paramref name="output"/> whatever was held back. An unclosed block stays
    /// reasoning; an unfinished tag is kept as text.</summary>
    /// <exception cref="InvalidOperationException">Called twice.</exception>
    public void Finish(List<ReasoningDelta> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (state == State.Finished)
            throw new InvalidOperationException("Finish was already called: use a new ReasoningParser for each assistant message.");
        this.output = output;
        outputStart = output.Count;
        if (pending.Length > 0)
        {
            if (state == State.Reasoning || (state == State.Opening && atStart && prefilled))
            {
                // The block ends here: trim it like a closed one.
                blockHasText = state == State.Reasoning && blockHasText;
                EmitReasoning(pending, 0, pending.Length);
            }
            else
            {
                // Opening state without prefill: only the beginning of an opening tag can be pending, and it never came.
                Emit(ReasoningKind.Content, pending, 0, pending.Length);
            }
        }
        pending = "";
        state = State.Finished;
        this.output = null;
    }

    // Message start or after a closed block: skip whitespace, then look for the opening tag.
    int StepOpening(string buf, int i)
    {
        string open = openTag!;
        int j = i;
        while (j < buf.Length && IsSpace(buf[j]))
            j++;

        if (atStart && !prefilled)
        {
            // Leading whitespace is answer whether or not a tag follows (llama.cpp keeps it as content), so it need not wait.
            Emit(ReasoningKind.Content, buf, i, j);
            i = j;
        }
        else if (!atStart)
        {
            i = j; // after a closed block the answer is left-trimmed
        }

        if (j == buf.Length)
            return Hold(buf, i);
        if (string.CompareOrdinal(buf, j, open, 0, open.Length) == 0 && buf.Length - j >= open.Length)
        {
            // Only a prefilled start can still hold whitespace here; it precedes the tag, so it is answer.
            Emit(ReasoningKind.Content, buf, i, j);
            state = State.Reasoning;
            blockHasText = false;
            return j + open.Length;
        }
        if (buf.Length - j < open.Length && string.CompareOrdinal(buf, j, open, 0, buf.Length - j) == 0)
            return Hold(buf, i);

        if (atStart && prefilled)
        {
            // Thinking already open: this text is its first, and the whitespace before it is trimmed away.
            state = State.Reasoning;
            blockHasText = false;
            return j;
        }
        state = State.Content;
        return j;
    }

    // Inside a block: everything up to the closing tag is reasoning.
    int StepReasoning(string buf, int i)
    {
        string close = closeTag!;
        int c = buf.IndexOf(close, i, StringComparison.Ordinal);
        if (c >= 0)
        {
            EmitReasoning(buf, i, c);
            state = State.Opening;
            atStart = false;
            return c + close.Length;
        }
        // Hold the longest suffix that may grow into the closing tag, and the whitespace before it, which is dropped
        // if the block ends there.
        int end = buf.Length - PartialTagLength(buf, i, close);
        while (end > i && IsSpace(buf[end - 1]))
            end--;
        EmitReasoning(buf, i, end);
        return Hold(buf, end);
    }

    int EmitRest(string buf, int i)
    {
        Emit(ReasoningKind.Content, buf, i, buf.Length);
        return buf.Length;
    }

    int Hold(string buf, int from)
    {
        pending = buf[from..];
        return buf.Length;
    }

    // Emits buf[start..end) as reasoning, trimmed as llama.cpp's string_strip trims each block: leading whitespace only
    // while the block has no text yet; trailing whitespace always (callers pass an end that is final or already trimmed).
    void EmitReasoning(string buf, int start, int end)
    {
        if (!blockHasText)
        {
            while (start < end && IsSpace(buf[start]))
                start++;
        }
        while (end > start && IsSpace(buf[end - 1]))
            end--;
        if (end > start)
        {
            Emit(ReasoningKind.Reasoning, buf, start, end);
            blockHasText = true;
        }
    }

    void Emit(ReasoningKind kind, string buf, int start, int end)
    {
        if (end <= start)
            return;
        var list = output!;
        string piece = buf.Substring(start, end - start);
        if (list.Count > outputStart && list[^1].Kind == kind)
            list[^1] = new ReasoningDelta(kind, list[^1].Text + piece);
        else
            list.Add(new ReasoningDelta(kind, piece));
    }

    // Length of the longest proper prefix of tag that buf[from..] ends with. The longest, not the first found:
    // with tag "abab" and text "..aba", holding only "a" would emit "ab" that belongs to the tag.
    static int PartialTagLength(string buf, int from, string tag)
    {
        for (int k = Math.Min(tag.Length - 1, buf.Length - from); k > 0; k--)
        {
            if (string.CompareOrdinal(buf, buf.Length - k, tag, 0, k) == 0)
                return k;
        }
        return 0;
    }

    internal static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';

    /// <summary>
    /// True when the rendered prompt leaves thinking open: after trailing whitespace it ends with the opening tag
    /// (R1 / R1-Distill end with <c>&lt;｜Assistant｜&gt;&lt;think&gt;\n</c>, V3.1 thinking mode with <c>&lt;think&gt;</c>).
    /// False when it ends with a closed block such as Qwen3's <c>&lt;think&gt;\n\n&lt;/think&gt;\n\n</c>
    /// (<c>enable_thinking=false</c>) or with anything else, and always false for <see cref="ReasoningFormat.None"/>.
    /// </summary>
    public static bool PromptOpensReasoning(string renderedPrompt, ReasoningFormat format)
    {
        ArgumentNullException.ThrowIfNull(renderedPrompt);
        ArgumentNullException.ThrowIfNull(format);
        if (!format.HasTags)
            return false;
        int end = renderedPrompt.Length;
        while (end > 0 && IsSpace(renderedPrompt[end - 1]))
            end--;
        return renderedPrompt.AsSpan(0, end).EndsWith(format.OpenTag, StringComparison.Ordinal);
    }

    /// <summary>Splits a whole generated message; equal to concatenating the deltas of streaming it.</summary>
    /// <param name="fullText">The generated text (without the prompt).</param>
    /// <param name="startsInReasoning">As for the constructor.</param>
    /// <param name="format">Tags to split on; <see cref="ReasoningFormat.ThinkTags"/> when null.</param>
    /// <returns>Reasoning (null when the message has none, or only whitespace) and answer (possibly empty).</returns>
    public static (string? Reasoning, string Content) Split(string fullText, bool startsInReasoning, ReasoningFormat? format = null)
    {
        ArgumentNullException.ThrowIfNull(fullText);
        var parser = new ReasoningParser(format ?? ReasoningFormat.ThinkTags, startsInReasoning);
        var deltas = new List<ReasoningDelta>();
        parser.Append(fullText, deltas);
        parser.Finish(deltas);
        var reasoning = new StringBuilder();
        var content = new StringBuilder();
        foreach (var d in deltas)
            (d.Kind == ReasoningKind.Reasoning ? reasoning : content).Append(d.Text);
        return (reasoning.Length == 0 ? null : reasoning.ToString(), content.ToString());
    }

    /// <summary>
    /// The answer of an earlier assistant turn without its thinking, for building history: the text after the last
    /// closing tag (as the R1 template's <c>content.split('&lt;/think&gt;')[-1]</c>), with leading whitespace removed
    /// as the DeepSeek API's <c>content</c> has none. Text without a closing tag is returned unchanged.
    /// </summary>
    /// <param name="assistantContent">An assistant message as the model wrote it.</param>
    /// <param name="format">Tags; <see cref="ReasoningFormat.ThinkTags"/> when null; <see cref="ReasoningFormat.None"/> returns the text unchanged.</param>
    public static string StripReasoning(string assistantContent, ReasoningFormat? format = null)
    {
        ArgumentNullException.ThrowIfNull(assistantContent);
        string? close = (format ?? ReasoningFormat.ThinkTags).CloseTag;
        if (close is null)
            return assistantContent;
        int c = assistantContent.LastIndexOf(close, StringComparison.Ordinal);
        if (c < 0)
            return assistantContent;
        int start = c + close.Length;
        while (start < assistantContent.Length && IsSpace(assistantContent[start]))
            start++;
        return assistantContent[start..];
    }
}

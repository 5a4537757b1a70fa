using SeekSharp.Chat.Reasoning;

namespace SeekSharp.Tests.Chat.Reasoning;

/// <summary>One generated message and the split expected for it.</summary>
internal sealed record ReasoningCase(string Name, string Text, bool Prefilled, ReasoningFormat Format, string? Reasoning, string Content);

/// <summary>The cases of issue 3 part 2, with their expected split written out by hand.</summary>
internal static class ReasoningCases
{
    static readonly ReasoningFormat Think = ReasoningFormat.ThinkTags;
    static readonly ReasoningFormat Bracket = ReasoningFormat.Tags("[THINK]", "[/THINK]");
    // A tag that overlaps itself: a partial match must hold "abab"'s longest matching prefix, not the first one found.
    static readonly ReasoningFormat SelfOverlap = ReasoningFormat.Tags("<r>", "abab");

    public static readonly ReasoningCase[] All =
    [
        // The R1 / R1-Distill template prefilled "<think>\n": the model writes only the closing tag.
        new("prefilled", "Okay, 2+2.\nThat is 4.\n</think>\n\nThe answer is **4**.", true, Think, "Okay, 2+2.\nThat is 4.", "The answer is **4**."),
        new("prefilled-leading-newline", "\nHmm.\n\nYes.  \n</think>\n\n\nDone.\n", true, Think, "Hmm.\n\nYes.", "Done.\n"),
        // Older templates: the output opens the block itself, possibly after whitespace, which llama.cpp keeps as content.
        new("opens-itself", "<think>\nLet me see.\n</think>\n\nHello!", false, Think, "Let me see.", "Hello!"),
        new("opens-after-whitespace", "\n \n<think>x y</think>\n\ny", false, Think, "x y", "\n \ny"),
        new("prefilled-and-repeated-tag", "<think>\nabc\n</think>\n\nd", true, Think, "abc", "d"),
        new("prefilled-whitespace-then-tag", "\n<think>abc</think>d", true, Think, "abc", "\nd"),
        // Cut by the length limit: no closing tag, everything is reasoning.
        new("prefilled-unclosed", "Step 1: think.\nStep 2: more  \n", true, Think, "Step 1: think.\nStep 2: more", ""),
        new("opened-unclosed", "<think>\nStep 1", false, Think, "Step 1", ""),
        new("unclosed-ends-in-partial-close-tag", "Step 1</thi", true, Think, "Step 1</thi", ""),
        new("open-tag-only", "<think>", false, Think, null, ""),
        // The empty block R1 sometimes writes yields no reasoning at all.
        new("empty-block", "<think>\n\n</think>\n\nJust the answer.", false, Think, null, "Just the answer."),
        new("empty-block-prefilled", "\n</think>\n\nJust the answer.", true, Think, null, "Just the answer."),
        new("empty-block-no-whitespace", "</think>Answer", true, Think, null, "Answer"),
        new("prefilled-only-whitespace", "\n\n  ", true, Think, null, ""),
        new("prefilled-nothing-after-close", "thought</think>\n\n", true, Think, "thought", ""),
        // Models that do not reason.
        new("no-tag", "Hello <think>not a tag</think> world", false, Think, null, "Hello <think>not a tag</think> world"),
        new("no-tag-leading-whitespace", "  \nHello", false, Think, null, "  \nHello"),
        new("only-whitespace", "\n\n", false, Think, null, "\n\n"),
        new("format-none", "<think>a</think>b", false, ReasoningFormat.None, null, "<think>a</think>b"),
        new("format-none-prefilled", "a</think>b", true, ReasoningFormat.None, null, "a</think>b"),
        new("partial-open-tag-then-text", "<thinking>about it", false, Think, null, "<thinking>about it"),
        new("unfinished-open-tag", "  <thi", false, Think, null, "  <thi"),
        new("prefilled-unfinished-open-tag", " <thi", true, Think, "<thi", ""),
        // After the block, tags in the answer are answer text; a block right after a block continues the reasoning.
        new("close-tag-in-answer", "a</think>b</think>c", true, Think, "a", "b</think>c"),
        new("two-blocks", "<think>first</think>\n\n<think>\nsecond\n</think>\nanswer", false, Think, "firstsecond", "answer"),
        new("open-tag-in-answer", "r</think>\nThe tag is <think>.", true, Think, "r", "The tag is <think>."),
        new("unfinished-open-tag-after-block", "r</think> <thi", true, Think, "r", "<thi"),
        new("tag-like-text-in-reasoning", "a < b and </ b> and </thin>k</think>ok", true, Think, "a < b and </ b> and </thin>k", "ok"),
        new("unicode", "思考：1+1＝2 🤔\u3000</think>\n答案是 2 ✅", true, Think, "思考：1+1＝2 🤔\u3000", "答案是 2 ✅"),
        new("crlf", "<think>\r\nA\r\n</think>\r\n\r\nB\r\n", false, Think, "A", "B\r\n"),
        new("bracket-tags", "[THINK]plan[/THINK]\nresult", false, Bracket, "plan", "result"),
        new("bracket-tags-prefilled", "plan [/THI", true, Bracket, "plan [/THI", ""),
        new("self-overlapping-close-tag", "xabaabab\ny", true, SelfOverlap, "xaba", "y"),
    ];

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var c in All)
            data.Add(c.Name);
        return data;
    }

    public static ReasoningCase Get(string name) => All.Single(c => c.Name == name);
}

using SeekSharp.Chat.Reasoning;

namespace SeekSharp.Tests.Chat.Reasoning;

public sealed class ReasoningParserTests
{
    [Theory]
    [MemberData(nameof(ReasoningCases.Names), MemberType = typeof(ReasoningCases))]
    public void Case_FedWhole_GivesExpectedSplit(string name)
    {
        var c = ReasoningCases.Get(name);
        Assert.Equal((c.Reasoning, c.Content), ReasoningStream.Run([c.Text], c.Format, c.Prefilled));
    }

    [Theory]
    [MemberData(nameof(ReasoningCases.Names), MemberType = typeof(ReasoningCases))]
    public void Case_FedCharByChar_GivesExpectedSplit(string name)
    {
        var c = ReasoningCases.Get(name);
        Assert.Equal((c.Reasoning, c.Content), ReasoningStream.Run(ReasoningStream.Chars(c.Text), c.Format, c.Prefilled));
    }

    [Theory]
    [MemberData(nameof(ReasoningCases.Names), MemberType = typeof(ReasoningCases))]
    public void Case_NonStreamingSplit_GivesExpectedSplit(string name)
    {
        var c = ReasoningCases.Get(name);
        Assert.Equal((c.Reasoning, c.Content), ReasoningParser.Split(c.Text, c.Prefilled, c.Format));
    }

    [Theory]
    [MemberData(nameof(ReasoningCases.Names), MemberType = typeof(ReasoningCases))]
    public void Case_ReferenceOracle_AgreesWithHandWrittenExpectation(string name)
    {
        // Keeps the oracle used by the property tests honest.
        var c = ReasoningCases.Get(name);
        Assert.Equal((c.Reasoning, c.Content), ReasoningReference.Split(c.Text, c.Prefilled, c.Format));
    }

    [Fact]
    public void Split_DefaultsToThinkTags()
    {
        Assert.Equal(("r", "c"), ReasoningParser.Split("r</think>c", startsInReasoning: true));
        Assert.Equal(((string?)null, "r</think>c"), ReasoningParser.Split("r</think>c", startsInReasoning: false));
    }

    [Fact]
    public void InReasoning_FollowsTheBlock()
    {
        var s = new ReasoningStream(ReasoningFormat.ThinkTags, prefilled: false);
        Assert.False(s.InReasoning);
        s.Append("<thi");
        Assert.False(s.InReasoning);
        s.Append("nk>");
        Assert.True(s.InReasoning);
        s.Append("hmm</think>");
        Assert.False(s.InReasoning);
        s.Append("\n\nAnswer");
        Assert.False(s.InReasoning);

        var prefilled = new ReasoningStream(ReasoningFormat.ThinkTags, prefilled: true);
        Assert.True(prefilled.InReasoning);
        prefilled.Append("hmm</th");
        Assert.True(prefilled.InReasoning);
        prefilled.Append("ink>");
        Assert.False(prefilled.InReasoning);

        Assert.False(new ReasoningParser(ReasoningFormat.None, startsInReasoning: true).InReasoning);
    }

    [Fact]
    public void OneAppend_CanCarryBothKindsInOrder()
    {
        var s = new ReasoningStream(ReasoningFormat.ThinkTags, prefilled: true);
        var deltas = s.Append("abc</think>\n\nAns");
        Assert.Equal([new(ReasoningKind.Reasoning, "abc"), new(ReasoningKind.Content, "Ans")], deltas);

        // Two blocks and whitespace between them in one piece merge into one reasoning delta.
        var t = new ReasoningStream(ReasoningFormat.ThinkTags, prefilled: false);
        Assert.Equal([new(ReasoningKind.Reasoning, "ab"), new(ReasoningKind.Content, "c")],
            t.Append("<think>a</think> <think>b</think>c"));
    }

    [Fact]
    public void AppendOrFinishAfterFinish_Throws()
    {
        var p = new ReasoningParser(ReasoningFormat.ThinkTags, startsInReasoning: false);
        p.Finish([]);
        Assert.Throws<InvalidOperationException>(() => p.Append("x", []));
        Assert.Throws<InvalidOperationException>(() => p.Finish([]));
    }

    [Fact]
    public void EmptyPiece_ChangesNothing()
    {
        var s = new ReasoningStream(ReasoningFormat.ThinkTags, prefilled: true);
        Assert.Empty(s.Append(""));
        Assert.Empty(s.Append("</th"));
        Assert.Empty(s.Append(""));
        Assert.Empty(s.Append("ink>"));
        Assert.Equal([new(ReasoningKind.Content, "x")], s.Append("x"));
    }

    [Fact]
    public void Tags_RejectsEmptyTagsAndOpeningTagsThatStartWithWhitespace()
    {
        Assert.Throws<ArgumentException>(() => ReasoningFormat.Tags("", "</x>"));
        Assert.Throws<ArgumentException>(() => ReasoningFormat.Tags("<x>", ""));
        Assert.Throws<ArgumentException>(() => ReasoningFormat.Tags("\n<x>", "</x>"));
        Assert.Equal("[/THINK]", ReasoningFormat.Tags("[THINK]", "[/THINK]").CloseTag);
        Assert.False(ReasoningFormat.None.HasTags);
        Assert.Equal(("<think>", "</think>"), (ReasoningFormat.ThinkTags.OpenTag, ReasoningFormat.ThinkTags.CloseTag));
    }

    [Theory]
    // R1 / R1-Distill since early 2025 (the shared R1-Distill template's generation prompt).
    [InlineData("<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜><think>\n", true)]
    // DeepSeek-V3.1 thinking and non-thinking generation prompts.
    [InlineData("<｜User｜>Hi<｜Assistant｜><think>", true)]
    [InlineData("<｜User｜>Hi<｜Assistant｜></think>", false)]
    // Qwen3 with enable_thinking=false closes an empty block in the prompt; with thinking on it opens nothing.
    [InlineData("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n", false)]
    [InlineData("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", false)]
    // Older R1 template: the model opens the block itself.
    [InlineData("<｜User｜>Hi<｜Assistant｜>", false)]
    [InlineData("<think> \r\n\t", true)]
    [InlineData("", false)]
    public void PromptOpensReasoning_LooksAtTheEndOfThePrompt(string prompt, bool expected)
    {
        Assert.Equal(expected, ReasoningParser.PromptOpensReasoning(prompt, ReasoningFormat.ThinkTags));
        Assert.False(ReasoningParser.PromptOpensReasoning(prompt, ReasoningFormat.None));
    }

    [Theory]
    [InlineData("<think>\nplan\n</think>\n\nThe answer.", "The answer.")]
    [InlineData("plan</think>The answer.", "The answer.")]
    [InlineData("<think>a</think>b</think>\n c", "c")] // the R1 template keeps what follows the last closing tag
    [InlineData("No thinking here.", "No thinking here.")]
    [InlineData("<think>cut off", "<think>cut off")]
    [InlineData("", "")]
    public void StripReasoning_KeepsTheAnswerOfAnEarlierTurn(string content, string expected)
    {
        Assert.Equal(expected, ReasoningParser.StripReasoning(content));
    }

    [Fact]
    public void StripReasoning_HonoursTheFormat()
    {
        Assert.Equal("a</think>b", ReasoningParser.StripReasoning("a</think>b", ReasoningFormat.None));
        Assert.Equal("b", ReasoningParser.StripReasoning("[THINK]a[/THINK] b", ReasoningFormat.Tags("[THINK]", "[/THINK]")));
    }
}

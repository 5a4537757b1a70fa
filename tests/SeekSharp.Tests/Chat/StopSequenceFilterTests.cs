using SeekSharp.Chat;

namespace SeekSharp.Tests.Chat;

public class StopSequenceFilterTests
{
    private static (string Shown, bool Stopped) Feed(IReadOnlyList<string> stops, params string[] chunks)
    {
        var f = new StopSequenceFilter(stops);
        var shown = string.Concat(chunks.Select(f.Append)) + f.Flush();
        return (shown, f.Stopped);
    }

    [Fact]
    public void StopSplitAcrossChunksIsNeverShown()
    {
        Assert.Equal(("Hello ", true), Feed(["END"], "Hello E", "N", "D and more"));
    }

    [Fact]
    public void PartialMatchThatFailsIsReleased()
    {
        Assert.Equal(("Hello ENough", false), Feed(["END"], "Hello E", "N", "ough"));
    }

    [Fact]
    public void HeldBackTailIsReleasedAtTheEnd()
    {
        Assert.Equal(("abc EN", false), Feed(["END"], "abc EN"));
    }

    [Fact]
    public void EarliestOfSeveralStopsWins()
    {
        Assert.Equal(("x ", true), Feed(["yy", "zz"], "x zz yy"));
    }

    [Fact]
    public void TextThatCannotStartAStopPassesAtOnce()
    {
        var f = new StopSequenceFilter(["END"]);
        Assert.Equal("plain text ", f.Append("plain text "));
    }
}

using SeekSharp.Training.Tasks;

namespace SeekSharp.Training.Tests.Tasks;

public sealed class CountdownVerifierTests
{
    static Problem Make(long target, params long[] numbers) =>
        new("countdown", "test", "test", "", "", numbers, target);

    static readonly CountdownTask Task = new();

    [Theory]
    [InlineData("25 * (7 - 3)", true)]
    [InlineData("(7 - 3) * 25", true)]
    [InlineData("25*(7-3)", true)]
    [InlineData("25 × (7 − 3)", true)]
    [InlineData("(7 - 3) * 25 = 100", true)]
    [InlineData("25 * (7 - 3).", true)]
    [InlineData("25 * (7 - 3) = 99", false)]   // wrong claimed value
    [InlineData("25 * 4", false)]              // 4 is not given
    [InlineData("25 * (7 - 3) + 8 - 8", false)] // 8 used twice, given once
    [InlineData("25 * 7 - 3", false)]          // wrong value
    [InlineData("-3 + 25", false)]             // unary minus
    [InlineData("(25 * (7 - 3)", false)]       // unbalanced
    [InlineData("25 * (7 - 3))", false)]
    [InlineData("25 * (7 - 3) apples", false)]
    [InlineData("", false)]
    [InlineData("100", false)]
    [InlineData("25 ** (7 - 3)", false)]
    [InlineData("2.5 * 40", false)]
    public void Answers_AreCheckedForValueAndNumberUse(string answer, bool expected) =>
        Assert.Equal(expected, Task.Verify(Make(100, 3, 7, 8, 25), answer));

    [Fact]
    public void DivisionByZero_IsAWrongAnswer_NotAnException()
    {
        Assert.False(Task.Verify(Make(10, 3, 3, 25), "25 / (3 - 3)"));
        Assert.False(Task.Verify(Make(10, 3, 3, 25), "(3 - 3) / (3 - 3)"));
    }

    [Fact]
    public void FractionalIntermediates_AreExact()
    {
        // 8 / 3 is not an integer, but (8 / 3) * 3 is exactly 8: rationals, not floating point.
        Assert.True(Task.Verify(Make(8, 8, 3, 3), "8 / 3 * 3"));
        Assert.False(Task.Verify(Make(8, 8, 3, 3), "8 / 3"));
        // 1 / 3 + 1 / 3 + 1 / 3 = 1 exactly (floats would give 0.999...).
        Assert.True(Task.Verify(Make(1, 1, 1, 1, 3, 3, 3), "1 / 3 + 1 / 3 + 1 / 3"));
    }

    [Fact]
    public void RepeatedNumbers_MayBeUsedAsOftenAsGiven()
    {
        Assert.True(Task.Verify(Make(100, 5, 5, 4), "5 * 5 * 4"));
        Assert.False(Task.Verify(Make(125, 5, 5, 4), "5 * 5 * 5"));
        Assert.True(Task.Verify(Make(25, 5, 5, 4), "5 * 5"));   // a subset of the numbers is fine
    }

    [Fact]
    public void HostileInputs_AreRejectedQuickly()
    {
        Assert.False(Task.Verify(Make(100, 3, 7, 8, 25), new string('(', 150) + "25" + new string(')', 150)));
        Assert.False(Task.Verify(Make(100, 3, 7, 8, 25), new string('9', 500)));
        Assert.False(Task.Verify(Make(100, 3, 7, 8, 25), "99999999999999999999 - 99999999999999999899"));
    }
}

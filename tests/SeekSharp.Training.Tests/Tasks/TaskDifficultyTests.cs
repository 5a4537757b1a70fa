using System.Globalization;
using SeekSharp.Training.Tasks;

namespace SeekSharp.Training.Tests.Tasks;

/// <summary>Operand lengths as asked: "3-digit addition" means both operands have three digits.</summary>
public sealed class TaskDifficultyTests
{
    static int Digits(long x) => x.ToString(CultureInfo.InvariantCulture).Length;

    [Theory]
    [InlineData("addition-3x3", 3, 3, 3, 3)]
    [InlineData("addition-2x4", 2, 2, 4, 4)]
    [InlineData("addition-1-3x1-3", 1, 3, 1, 3)]
    [InlineData("multiplication-3x2", 3, 3, 2, 2)]
    [InlineData("multiplication-1-2x1", 1, 2, 1, 1)]
    public void OperandsHaveTheAskedDigitCounts(string spec, int leftMin, int leftMax, int rightMin, int rightMax)
    {
        var task = TaskRegistry.Create(spec);
        var rng = new Random(2);
        var seen = new HashSet<(int, int)>();
        for (int i = 0; i < 2000; i++)
        {
            var p = task.Generate(rng);
            int l = Digits(p.Numbers[0]), r = Digits(p.Numbers[1]);
            Assert.InRange(l, leftMin, leftMax);
            Assert.InRange(r, rightMin, rightMax);
            seen.Add((l, r));
        }
        Assert.Equal((leftMax - leftMin + 1) * (rightMax - rightMin + 1), seen.Count); // every combination occurs
        Assert.Equal(spec, TaskRegistry.Label(task));
    }

    [Fact]
    public void SubtractionPutsTheLargerOperandFirst()
    {
        var task = TaskRegistry.Create("subtraction", "2,3");
        var rng = new Random(3);
        for (int i = 0; i < 500; i++)
        {
            var p = task.Generate(rng);
            Assert.True(p.Numbers[0] >= p.Numbers[1]);
            Assert.Equal(3, Digits(p.Numbers[0]));
            Assert.Equal(2, Digits(p.Numbers[1]));
        }
    }

    [Theory]
    [InlineData("3", "3x3")]
    [InlineData("3,2", "3x2")]
    [InlineData("3x2", "3x2")]
    [InlineData("1-3", "1-3x1-3")]
    [InlineData("1-3,2", "1-3x2")]
    public void DigitsOptionForms(string digits, string expected)
    {
        Assert.Equal(expected, TaskRegistry.Create("addition", digits).Digits);
        Assert.Equal(OperandDigits.Parse(digits), OperandDigits.Parse(expected));
    }

    [Theory]
    [InlineData("addition", "0")]
    [InlineData("addition", "3-1")]
    [InlineData("addition", "16")]
    [InlineData("addition", "3,3,3")]
    [InlineData("addition", "three")]
    [InlineData("addition", "")]
    [InlineData("multiplication", "10")]
    [InlineData("countdown", "3")]
    public void BadDigitsAreRefusedWithTheReason(string name, string digits)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => TaskRegistry.Create(name, digits));
        Assert.False(string.IsNullOrWhiteSpace(e.Message));
        Assert.DoesNotContain("Parameter", e.Message.Replace(" (Parameter 'name')", ""));
    }

    [Fact]
    public void DefaultsAreTheOldMixes_AndDrawTheSameProblems()
    {
        // The default tasks keep their draws: the same seed gives the same problems as before digits were configurable.
        Assert.Equal("1-3x1-3", TaskRegistry.Create("addition").Digits);
        Assert.Equal("1-3x1-3", TaskRegistry.Create("subtraction").Digits);
        Assert.Equal("1-3x1-2", TaskRegistry.Create("multiplication").Digits);
        Assert.Null(TaskRegistry.Create("countdown").Digits);
        var a = new AdditionTask().Generate(new Random(9));
        var b = TaskRegistry.Create("addition-1-3x1-3").Generate(new Random(9));
        Assert.Equal(a, b with { Numbers = a.Numbers });
        Assert.Equal(a.Numbers, b.Numbers);
    }

    [Fact]
    public void ADifficultyKeepsEachProblemInItsSplit()
    {
        // The split hashes the task name and the operands, not the digit setting: a 3x3 test problem is a test problem
        // of the default mix too.
        var rng = new Random(4);
        var narrow = TaskRegistry.Create("addition-3x3");
        for (int i = 0; i < 200; i++)
        {
            var p = narrow.Generate(rng);
            Assert.Equal("addition", p.Task);
            Assert.Equal(ProblemSets.SplitOf(p), ProblemSets.SplitOf(p with { Prompt = "other words" }));
        }
    }
}

using System.Text.RegularExpressions;
using SeekSharp.Training.Tasks;

namespace SeekSharp.Training.Tests.Tasks;

public sealed partial class TaskGeneratorTests
{
    public static TheoryData<string> Names => [.. TaskRegistry.Names];

    static List<Problem> Draw(IReasoningTask task, int seed, int count)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => task.Generate(rng))];
    }

    [Fact]
    public void Registry_HasTheFourTasks_AndRejectsUnknownNames()
    {
        Assert.Equal(["addition", "subtraction", "multiplication", "countdown"], TaskRegistry.Names);
        foreach (var name in TaskRegistry.Names) Assert.Equal(name, TaskRegistry.Create(name).Name);
        var e = Assert.Throws<ArgumentException>(() => TaskRegistry.Create("division"));
        Assert.Contains("countdown", e.Message);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Generation_IsDeterministicPerSeed(string name)
    {
        var a = Draw(TaskRegistry.Create(name), 7, 50);
        var b = Draw(TaskRegistry.Create(name), 7, 50);
        var c = Draw(TaskRegistry.Create(name), 8, 50);
        Assert.Equal(a, b, ProblemText.Instance);
        Assert.NotEqual(a.Select(p => p.Prompt), c.Select(p => p.Prompt));
    }

    sealed class ProblemText : IEqualityComparer<Problem>
    {
        public static readonly ProblemText Instance = new();
        public bool Equals(Problem? x, Problem? y) =>
            x!.Key == y!.Key && x.Prompt == y.Prompt && x.Answer == y.Answer && x.Reasoning == y.Reasoning && x.Target == y.Target;
        public int GetHashCode(Problem p) => p.Key.GetHashCode();
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void EveryProblem_VerifiesWithItsOwnAnswer_AndItsTraceEndsThere(string name)
    {
        var task = TaskRegistry.Create(name);
        foreach (var p in Draw(task, 1, 300))
        {
            Assert.True(task.Verify(p, p.Answer), $"{p.Prompt}: canonical answer '{p.Answer}' rejected");
            Assert.True(task.Verify(p, "  " + p.Answer + "\n"), "surrounding whitespace must not matter");
            string last = p.Reasoning.Split('\n')[^1];
            Assert.EndsWith(name == "countdown" ? $"{p.Answer} = {p.Target}" : $"= {p.Answer}", last);
            Assert.StartsWith(p.Reasoning, p.Completion);
            Assert.EndsWith("\n</think>\n\n" + p.Answer, p.Completion);
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void EveryEquationOfEveryTrace_IsArithmeticallyTrue(string name)
    {
        // Each comma-separated clause "lhs = rhs" without words in a trace line must hold exactly.
        int checkedCount = 0;
        foreach (var p in Draw(TaskRegistry.Create(name), 2, 200))
            foreach (var line in p.Reasoning.Split('\n'))
                foreach (var clause in line.Split(", "))
                {
                    var m = Equation().Match(clause);
                    if (!m.Success) continue;
                    Assert.True(CountdownExpression.TryEvaluate(m.Groups[1].Value, out var lhs, out _), $"cannot evaluate '{clause}'");
                    Assert.Equal(Rational.FromInteger(long.Parse(m.Groups[2].Value)), lhs);
                    checkedCount++;
                }
        Assert.True(checkedCount > 200, $"only {checkedCount} equations checked");
    }

    [GeneratedRegex(@"^([0-9 +\-*/×()]+) = ([0-9]+)$")]
    private static partial Regex Equation();

    [Theory]
    [MemberData(nameof(Names))]
    public void WrongAnswers_AreRejected(string name)
    {
        var task = TaskRegistry.Create(name);
        foreach (var p in Draw(task, 3, 100))
        {
            foreach (var wrong in new[] { "", " ", "abc", "answer", $"{p.Target + 1}", $"{p.Target - 1}", $"{p.Target} {p.Target}", $"{p.Target}0" })
                Assert.False(task.Verify(p, wrong), $"{p.Prompt}: '{wrong}' accepted");
            if (name != "countdown")
            {
                Assert.True(task.Verify(p, p.Target + "."), "a trailing period is allowed");
                Assert.False(task.Verify(p, "The answer is " + p.Target));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Prompts_UseVariedPhrasing(string name)
    {
        var shapes = Draw(TaskRegistry.Create(name), 4, 300).Select(p => Digits().Replace(p.Prompt, "#")).ToHashSet();
        Assert.True(shapes.Count >= 6, $"{name}: only {shapes.Count} phrasings: {string.Join(" | ", shapes)}");
    }

    [GeneratedRegex("[0-9]+(, [0-9]+)*( and [0-9]+)?")]
    private static partial Regex Digits();

    [Fact]
    public void DigitCounts_FollowTheConfiguration()
    {
        foreach (var p in Draw(new AdditionTask(4, 5), 5, 200))
            Assert.All(p.Numbers, n => Assert.InRange(n, 1000, 99999));
        foreach (var p in Draw(new MultiplicationTask(2, 1), 5, 200))
        {
            Assert.InRange(p.Numbers[0], 0, 99);
            Assert.InRange(p.Numbers[1], 0, 9);
        }
        foreach (var p in Draw(new SubtractionTask(1, 5), 5, 200))
            Assert.True(p.Numbers[0] >= p.Numbers[1] && p.Target >= 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdditionTask(3, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CountdownTask(minNumbers: 1));
    }

    [Fact]
    public void Countdown_ProblemsGiveThreeOrFourNumbers_AndTargetsInRange()
    {
        var task = new CountdownTask();
        foreach (var p in Draw(task, 6, 300))
        {
            Assert.InRange(p.Numbers.Count, 3, 4);
            Assert.InRange(p.Target, 10, 999);
            Assert.DoesNotContain(p.Target, p.Numbers);
            Assert.All(p.Numbers, n => Assert.True(n is >= 1 and <= 10 or 25 or 50 or 75 or 100, $"number {n}"));
        }
    }
}

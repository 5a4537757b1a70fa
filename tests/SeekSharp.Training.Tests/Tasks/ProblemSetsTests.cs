using SeekSharp.Training.Tasks;

namespace SeekSharp.Training.Tests.Tasks;

public sealed class ProblemSetsTests
{
    public static TheoryData<string> Names => [.. TaskRegistry.Names];

    [Theory]
    [MemberData(nameof(Names))]
    public void TrainAndHeldOut_ShareNoProblem_AndAreDeterministic(string name)
    {
        var task = TaskRegistry.Create(name);
        var train = ProblemSets.Generate(task, ProblemSplit.Train, seed: 1, count: 1000).ToList();
        var heldOut = ProblemSets.Generate(task, ProblemSplit.HeldOut, seed: 1, count: 300).ToList();
        // A different seed draws other problems but never crosses the partition.
        var heldOut2 = ProblemSets.Generate(task, ProblemSplit.HeldOut, seed: 2, count: 300).ToList();

        var trainKeys = train.Select(p => p.Key).ToHashSet();
        Assert.DoesNotContain(heldOut.Concat(heldOut2), p => trainKeys.Contains(p.Key));
        Assert.All(train, p => Assert.Equal(ProblemSplit.Train, ProblemSets.SplitOf(p)));
        Assert.All(heldOut, p => Assert.Equal(ProblemSplit.HeldOut, ProblemSets.SplitOf(p)));
        Assert.Equal(heldOut.Select(p => p.Prompt), ProblemSets.Generate(task, ProblemSplit.HeldOut, 1, 300).Select(p => p.Prompt));
        Assert.NotEqual(heldOut.Select(p => p.Prompt), heldOut2.Select(p => p.Prompt));
    }

    [Fact]
    public void CommutedOperands_AreTheSameProblem()
    {
        // One-digit operands: 3000 draws see both orders of most pairs; they must share one key (and so one split).
        var rng = new Random(3);
        foreach (var task in new IReasoningTask[] { new AdditionTask(1, 1), new MultiplicationTask(1, 1) })
        {
            var orders = new Dictionary<string, HashSet<(long, long)>>();
            for (int i = 0; i < 3000; i++)
            {
                var p = task.Generate(rng);
                if (!orders.TryGetValue(p.Key, out var set)) orders[p.Key] = set = [];
                set.Add((p.Numbers[0], p.Numbers[1]));
            }
            Assert.All(orders.Values, set => Assert.True(set.Count <= 2 && set.All(o => set.Contains(o) && (set.Count == 1 || set.Contains((o.Item2, o.Item1))))));
            Assert.True(orders.Values.Count(set => set.Count == 2) > 20, $"{task.Name}: too few keys seen in both orders");
        }
    }

    [Fact]
    public void HeldOutFraction_IsRoughlyAsRequested()
    {
        var rng = new Random(5);
        var task = new AdditionTask(3, 3);
        int n = 4000, heldOut = 0;
        for (int i = 0; i < n; i++)
            if (ProblemSets.SplitOf(task.Generate(rng), 0.2) == ProblemSplit.HeldOut) heldOut++;
        Assert.InRange(heldOut / (double)n, 0.17, 0.23);
    }

    [Fact]
    public void ATooSmallSplit_Throws()
    {
        // One-digit addition has 55 distinct problems; a 0.001 held-out share almost surely has none of them.
        var task = new AdditionTask(1, 1);
        Assert.Throws<InvalidOperationException>(() => ProblemSets.Generate(task, ProblemSplit.HeldOut, 1, 1, 0.001).ToList());
        Assert.Throws<ArgumentOutOfRangeException>(() => ProblemSets.Generate(task, ProblemSplit.HeldOut, 1, 1, 1.5));
    }
}

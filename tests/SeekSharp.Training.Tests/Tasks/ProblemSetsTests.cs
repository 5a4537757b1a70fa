using SeekSharp.Training.Tasks;

namespace SeekSharp.Training.Tests.Tasks;

public sealed class ProblemSetsTests
{
    public static TheoryData<string> Names => [.. TaskRegistry.Names];

    [Theory]
    [MemberData(nameof(Names))]
    public void TrainValidationAndTest_ShareNoProblem_AndAreDeterministic(string name)
    {
        var task = TaskRegistry.Create(name);
        var train = ProblemSets.Generate(task, ProblemSplit.Train, seed: 1, count: 1000).ToList();
        var validation = ProblemSets.Generate(task, ProblemSplit.Validation, seed: 1, count: 300).ToList();
        var test = ProblemSets.Generate(task, ProblemSplit.Test, seed: 1, count: 300).ToList();
        // A different seed draws other problems but never crosses the partition.
        var test2 = ProblemSets.Generate(task, ProblemSplit.Test, seed: 2, count: 300).ToList();

        var trainKeys = train.Select(p => p.Key).ToHashSet();
        var validationKeys = validation.Select(p => p.Key).ToHashSet();
        Assert.DoesNotContain(validation.Concat(test).Concat(test2), p => trainKeys.Contains(p.Key));
        Assert.DoesNotContain(test.Concat(test2), p => validationKeys.Contains(p.Key));
        Assert.All(train, p => Assert.Equal(ProblemSplit.Train, ProblemSets.SplitOf(p)));
        Assert.All(validation, p => Assert.Equal(ProblemSplit.Validation, ProblemSets.SplitOf(p)));
        Assert.All(test, p => Assert.Equal(ProblemSplit.Test, ProblemSets.SplitOf(p)));
        Assert.Equal(test.Select(p => p.Prompt), ProblemSets.Generate(task, ProblemSplit.Test, 1, 300).Select(p => p.Prompt));
        Assert.NotEqual(test.Select(p => p.Prompt), test2.Select(p => p.Prompt));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void TheTrainSplit_IsTheOneOfTheTwoWayPartition(string name)
    {
        // The held-out buckets were halved into test and validation; the train split kept its buckets, so models
        // trained on it before the change never saw a validation or test problem. The old rule, written out here:
        // bucket = FNV-1a(task/key) mod 10^6, held out below 10^5.
        static ulong Bucket(Problem p)
        {
            ulong h = 14695981039346656037UL;
            foreach (byte b in System.Text.Encoding.UTF8.GetBytes(p.Task + "/" + p.Key)) { h ^= b; h *= 1099511628211UL; }
            return h % 1_000_000;
        }
        var task = TaskRegistry.Create(name);
        var rng = new Random(11);
        for (int i = 0; i < 5000; i++)
        {
            var p = task.Generate(rng);
            var split = ProblemSets.SplitOf(p);
            Assert.Equal(Bucket(p) >= 100_000, split == ProblemSplit.Train);
        }
    }

    [Theory]
    [InlineData("addition-3x3")]
    [InlineData("subtraction-3x3")]
    [InlineData("multiplication-3x2")]
    [InlineData("countdown")]
    public void Distinct_HasNoRepeatedKey_AndIsDeterministic(string spec)
    {
        var task = TaskRegistry.Create(spec);
        var problems = ProblemSets.Distinct(task, ProblemSplit.Test, seed: 4, count: 500);
        Assert.Equal(500, problems.Count);
        Assert.Equal(500, problems.Select(p => p.Key).Distinct().Count());
        Assert.All(problems, p => Assert.Equal(ProblemSplit.Test, ProblemSets.SplitOf(p)));
        Assert.Equal(problems.Select(p => p.Prompt), ProblemSets.Distinct(task, ProblemSplit.Test, 4, 500).Select(p => p.Prompt));
    }

    [Fact]
    public void Distinct_StopsAtWhatASmallSplitHolds()
    {
        // One-digit addition has 55 problems (a+b = b+a); the test split holds a few of them, all found, none repeated.
        var task = new AdditionTask(1, 1);
        var all = new HashSet<string>();
        var rng = new Random(1);
        for (int i = 0; i < 20_000; i++)
        {
            var p = task.Generate(rng);
            if (ProblemSets.SplitOf(p) == ProblemSplit.Test) all.Add(p.Key);
        }
        var problems = ProblemSets.Distinct(task, ProblemSplit.Test, seed: 1, count: 500);
        Assert.Equal(all.Count, problems.Count);
        Assert.Equal(all.Order(), problems.Select(p => p.Key).Order());
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
    public void HeldOutFraction_IsRoughlyAsRequested_HalfValidationHalfTest()
    {
        var rng = new Random(5);
        var task = new AdditionTask(3, 3);
        int n = 8000, validation = 0, test = 0;
        for (int i = 0; i < n; i++)
        {
            var split = ProblemSets.SplitOf(task.Generate(rng), 0.2);
            if (split == ProblemSplit.Validation) validation++;
            if (split == ProblemSplit.Test) test++;
        }
        Assert.InRange(validation / (double)n, 0.085, 0.115);
        Assert.InRange(test / (double)n, 0.085, 0.115);
    }

    [Fact]
    public void ATooSmallSplit_Throws()
    {
        // One-digit addition has 55 distinct problems; a 0.001 held-out share almost surely has none of them.
        var task = new AdditionTask(1, 1);
        Assert.Throws<InvalidOperationException>(() => ProblemSets.Generate(task, ProblemSplit.Test, 1, 1, 0.001).ToList());
        Assert.Throws<ArgumentOutOfRangeException>(() => ProblemSets.Generate(task, ProblemSplit.Test, 1, 1, 1.5));
    }
}

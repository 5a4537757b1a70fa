using SeekSharp.Kernels.Threading;
using SeekSharp.Training.Model;
using SeekSharp.Training.Backward;
using Xunit.Abstractions;
using ModelCase = SeekSharp.Training.Tests.Model.TransformerGradientTests.Case;

namespace SeekSharp.Training.Tests.Backward;

/// <summary>
/// Mutation tests of the gradient checks: each named term of each backward (<see cref="BackwardTerm"/>) is scaled by
/// 1.01, and both the op-level check (<see cref="GradientCase"/>) and the whole-model check (<see cref="ModelCase"/>)
/// must fail on it, while passing the correct backward. Each run writes the margins: the worst error / bound of the
/// correct backward and of the mutated one (a check fails above 1).
/// </summary>
/// <remarks>The mutation is thread-static and read on the calling thread (see <see cref="BackwardMutation"/>), so these
/// tests need no collection of their own: other tests, on other threads, never see it.</remarks>
public class BackwardMutationTests(ITestOutputHelper output)
{
    private const float Error = 1.01f;
    private static readonly WorkerPool Pool = new(2);

    // The model cases and their finite differences, computed once for every term (they run the forward only).
    private static readonly Lazy<(ModelCase Case, double[] Numeric)[]> Models = new(() =>
        new[]
        {
            ModelCase.WeightedLoss(tied: false), ModelCase.WeightedLoss(tied: true),
            ModelCase.LogProbs(tied: false), ModelCase.LogProbs(tied: true),
            ModelCase.WeightedLoss(tied: false, AttentionKernel.Direct), ModelCase.LogProbs(tied: true, AttentionKernel.Direct),
        }.Select(c => (c, c.Numeric())).ToArray());

    /// <summary>The op problems whose backward contains <paramref name="term"/>.</summary>
    private static GradientCase[] OpCases(BackwardTerm term) => term switch
    {
        BackwardTerm.RopeCos => [GradientCase.Rope()],
        BackwardTerm.RmsNormScale or BackwardTerm.RmsNormCorrection or BackwardTerm.RmsNormWeight =>
            [GradientCase.RmsNorm(Pool), GradientCase.RmsNorm(Pool, seed: 14, n: 4, d: 130, xElements: i => i % 5 == 0)],
        BackwardTerm.SwiGluGate or BackwardTerm.SwiGluUp => [GradientCase.SwiGlu(Pool)],
        BackwardTerm.AttentionScores or BackwardTerm.AttentionSoftmax or BackwardTerm.AttentionValues
            or BackwardTerm.AttentionQueries or BackwardTerm.AttentionKeys =>
            [GradientCase.Attention(Pool, 4, 2), GradientCase.AttentionOnFusedProjection(Pool), GradientCase.Attention(Pool, 4, 2, gemm: true, t: 5, seed: 13)],
        BackwardTerm.LinearInput or BackwardTerm.LinearWeight => [GradientCase.Linear(Pool)],
        BackwardTerm.Embedding => [GradientCase.Embedding()],
        BackwardTerm.CrossEntropySoftmax or BackwardTerm.CrossEntropyTarget => [GradientCase.CrossEntropy(Pool)],
        _ => throw new ArgumentOutOfRangeException(nameof(term), term, "No op case names this term."),
    };

    [Theory]
    [InlineData(nameof(BackwardTerm.RopeCos))]
    [InlineData(nameof(BackwardTerm.RmsNormScale))]
    [InlineData(nameof(BackwardTerm.RmsNormCorrection))]
    [InlineData(nameof(BackwardTerm.RmsNormWeight))]
    [InlineData(nameof(BackwardTerm.SwiGluGate))]
    [InlineData(nameof(BackwardTerm.SwiGluUp))]
    [InlineData(nameof(BackwardTerm.AttentionScores))]
    [InlineData(nameof(BackwardTerm.AttentionSoftmax))]
    [InlineData(nameof(BackwardTerm.AttentionValues))]
    [InlineData(nameof(BackwardTerm.AttentionQueries))]
    [InlineData(nameof(BackwardTerm.AttentionKeys))]
    [InlineData(nameof(BackwardTerm.LinearInput))]
    [InlineData(nameof(BackwardTerm.LinearWeight))]
    [InlineData(nameof(BackwardTerm.Embedding))]
    [InlineData(nameof(BackwardTerm.CrossEntropySoftmax))]
    [InlineData(nameof(BackwardTerm.CrossEntropyTarget))]
    public void AOnePercentErrorInTheTermFailsBothTheOpAndTheModelCheck(string termName)
    {
        var term = Enum.Parse<BackwardTerm>(termName);
        var failures = new List<string>();

        foreach (var c in OpCases(term))
        {
            var numeric = c.Numeric();
            var correct = c.Compare(numeric, c.Backward());
            float[][] mutated;
            using (BackwardMutation.Scale(term, Error))
                mutated = c.Backward();
            var caught = c.Compare(numeric, mutated);
            Report($"op    {c.Name}", correct.Worst, correct.Input, caught.Worst, caught.Input, failures);
        }

        foreach (var (c, numeric) in Models.Value)
        {
            var correct = c.Compare(numeric, c.Analytic());
            float[] mutated;
            using (BackwardMutation.Scale(term, Error))
                mutated = c.Analytic();
            var caught = c.Compare(numeric, mutated);
            Report($"model {c.Name}", correct.Worst, correct.Tensor, caught.Worst, caught.Tensor, failures);
        }

        Assert.True(failures.Count == 0, $"{term} × {Error}:\n" + string.Join("\n", failures));
    }

    private void Report(string check, GradCheck.Worst correct, string correctAt, GradCheck.Worst mutated, string mutatedAt, List<string> failures)
    {
        string line = $"{check,-42} correct {correct.Ratio,6:F3} (d{correctAt}[{correct.Index}])   mutated {mutated.Ratio,8:F2} (d{mutatedAt}[{mutated.Index}])";
        output.WriteLine(line);
        if (!(correct.Ratio <= 1))
            failures.Add($"{check}: the correct backward fails: d{correctAt}{correct}");
        if (!(mutated.Ratio > 1))
            failures.Add($"{check}: the mutation is not caught: d{mutatedAt}{mutated}");
    }

    [Fact]
    public void EveryTermHasAMutationTest()
    {
        var tested = typeof(BackwardMutationTests).GetMethod(nameof(AOnePercentErrorInTheTermFailsBothTheOpAndTheModelCheck))!
            .GetCustomAttributes(typeof(InlineDataAttribute), false).Cast<InlineDataAttribute>()
            .Select(a => (string)a.GetData(null!).Single()[0]);
        Assert.Equal(Enum.GetNames<BackwardTerm>().Where(n => n != nameof(BackwardTerm.None)).Order(), tested.Order());
    }

    [Fact]
    public void AMutationReachesOnlyTheBackwardsOfItsOwnThreadAndEndsWithItsScope()
    {
        var c = GradientCase.Rope();
        var clean = c.Backward();
        float[][] mutated, otherThread;
        using (BackwardMutation.Scale(BackwardTerm.RopeCos, Error))
        {
            mutated = c.Backward();
            float[][]? result = null;
            var thread = new Thread(() => result = c.Backward());
            thread.Start();
            thread.Join();
            otherThread = result!;
        }
        Assert.NotEqual(clean[0], mutated[0]);
        Assert.Equal(clean[0], otherThread[0]);
        Assert.Equal(clean[0], c.Backward()[0]); // bit-identical once the scope ends
    }
}

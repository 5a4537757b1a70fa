using SeekSharp.Training.Rewards;
using SeekSharp.Training.Tasks;

namespace SeekSharp.Training.Tests.Rewards;

public sealed class RewardTests
{
    static readonly Problem Sum = new("addition", "12+34", "What is 12 + 34?", "46", "2 + 4 + 0 = 6", [12, 34], 46);

    // Completions as generated after R1's generation prompt "<｜Assistant｜><think>\n".
    [Theory]
    [InlineData("2 + 4 = 6\n1 + 3 = 4\n</think>\n\n46", 1, 1)]
    [InlineData("2 + 4 = 6\n</think>\n\n47", 1, 0)]              // well formed, wrong
    [InlineData("2 + 4 = 6\n</think>\n\nThe answer is 46", 1, 0)] // the answer must be the bare number
    [InlineData("sum\n</think>46.", 1, 1)]                         // a trailing period is fine
    [InlineData("46", 0, 0)]                                       // never closes its reasoning: no answer
    [InlineData("2 + 4 = 6 so 46", 0, 0)]
    [InlineData("\n</think>\n\n46", 0, 1)]                         // empty reasoning: bad format, right answer
    [InlineData("<think>\nsum\n</think>\n\n46", 0, 1)]             // re-opened a block the prompt had opened
    [InlineData("sum\n</think>\n\n", 0, 0)]                        // no answer
    [InlineData("sum</think>46</think>", 0, 0)]                    // two closing tags
    [InlineData("sum</think>46<think>more", 0, 0)]                 // a second block after the answer
    [InlineData("", 0, 0)]
    public void FormatAndAnswer_OnHandWrittenCompletions(string completion, double format, double answer)
    {
        Assert.Equal(format, new FormatReward().Score(Sum, completion));
        Assert.Equal(answer, new AnswerReward().Score(Sum, completion));
        Assert.Equal(answer + 0.1 * format, WeightedReward.R1Default().Score(Sum, completion), 12);
    }

    [Fact]
    public void WithoutAPrefilledThink_TheCompletionMustOpenIt()
    {
        var format = new FormatReward(promptOpensThinking: false);
        var answer = new AnswerReward(promptOpensThinking: false);
        Assert.Equal(1, format.Score(Sum, "  <think>\nsum\n</think>\n\n46"));
        Assert.Equal(1, answer.Score(Sum, "  <think>\nsum\n</think>\n\n46"));
        Assert.Equal(0, format.Score(Sum, "sum\n</think>\n\n46"));
        Assert.Equal(0, format.Score(Sum, "<think>a<think>b</think>46"));
        Assert.Equal(1, answer.Score(Sum, "46"));   // no thinking at all: the whole text is the answer
        Assert.Equal(0, format.Score(Sum, "46"));
    }

    [Fact]
    public void CompletionFormat_ReturnsTrimmedParts()
    {
        Assert.True(CompletionFormat.TryParse(" step\n</think>\n\n 46 \n", true, out var reasoning, out var answer));
        Assert.Equal("step", reasoning);
        Assert.Equal("46", answer);
        Assert.Equal("46", new AnswerReward().ExtractAnswer(" step\n</think>\n\n46"));
    }

    [Theory]
    [InlineData("addition")]
    [InlineData("subtraction")]
    [InlineData("multiplication")]
    [InlineData("countdown")]
    public void GeneratedCompletions_EarnTheFullReward_AndCorruptedOnesDoNot(string name)
    {
        var reward = WeightedReward.R1Default();
        var rng = new Random(11);
        var task = TaskRegistry.Create(name);
        for (int i = 0; i < 50; i++)
        {
            var p = task.Generate(rng);
            Assert.Equal([1.0, 1.0], reward.ScoreParts(p, p.Completion));
            Assert.Equal(1.1, reward.Score(p, p.Completion), 12);
            Assert.Equal([0.0, 1.0], reward.ScoreParts(p, p.Completion + " 1"));
            Assert.Equal([0.0, 0.0], reward.ScoreParts(p, p.Reasoning));
        }
    }

    [Fact]
    public void AnswerReward_UsesTheGivenTask_WhenThereIsOne()
    {
        // A verifier that accepts only "yes" shows which task is consulted.
        var reward = new AnswerReward(new AlwaysYes());
        Assert.Equal(1, reward.Score(Sum, "x</think>yes"));
        Assert.Equal(0, reward.Score(Sum, "x</think>46"));
    }

    sealed class AlwaysYes : IReasoningTask
    {
        public string Name => "yes";
        public Problem Generate(Random rng) => throw new NotSupportedException();
        public bool Verify(Problem problem, string answer) => answer.Trim() == "yes";
    }

    [Fact]
    public void WeightedReward_SumsItsParts_WithTheirWeights()
    {
        var shortReward = new DelegateReward("short", (_, c) => c.Length < 20 ? 1 : 0);
        var combined = new WeightedReward((new AnswerReward(), 2.0), (shortReward, -0.5));
        Assert.Equal("answer+short", combined.Name);
        Assert.Equal(2.0 - 0.5, combined.Score(Sum, "s</think>46"));
        Assert.Equal(2.0, combined.Score(Sum, "a much longer reasoning</think>46"));
        Assert.Equal([1.0, 1.0], combined.ScoreParts(Sum, "s</think>46"));
        Assert.Throws<ArgumentException>(() => new WeightedReward());
        Assert.Throws<ArgumentException>(() => new WeightedReward((shortReward, double.NaN)));
    }
}

using System.Text.RegularExpressions;
using SeekSharp.Training.Data;
using SeekSharp.Training.Model;
using SeekSharp.Training.Tasks;

namespace SeekSharp.Training.Tests.Tasks;

/// <summary>Each task asks in many phrasings, a third of which training never sees (issue 16).</summary>
public partial class PhrasingTests
{
    public static TheoryData<string> Names => [.. TaskRegistry.Names];

    static IEnumerable<string> TaskNames => TaskRegistry.Names;

    static PhrasingTemplates Sentences(string name) => name switch
    {
        "addition" => AdditionTask.Sentences,
        "subtraction" => SubtractionTask.Sentences,
        "multiplication" => MultiplicationTask.Sentences,
        "countdown" => CountdownTask.Sentences,
        _ => throw new ArgumentException(name),
    };

    // A template as a pattern of whole prompts: the text literal, each placeholder any non-empty run.
    static Regex PatternOf(string template) =>
        new("^" + Core(template) + "$", RegexOptions.Singleline);

    // A trained template as training asks it: optionally framed by an opener (its first letter then in either case)
    // and either a closer or a tail in place of its final stop.
    static Regex TrainedPatternOf(string template)
    {
        string Sentence(string t) => t[0] == '{' ? Core(t) : "(?i:" + Regex.Escape(t[..1]) + ")" + Core(t[1..]);
        string stopless = template[^1] is '.' or '?' or '!' ? template[..^1] : template;
        static string AnyOf(IEnumerable<string> texts) => "(?:" + string.Join("|", texts.Select(Regex.Escape)) + ")";
        return new("^" + AnyOf(PhrasingTemplates.Openers) + "?(?:" + Sentence(template) + AnyOf(PhrasingTemplates.Closers) + "?|" +
            Sentence(stopless) + AnyOf(PhrasingTemplates.Tails) + ")$", RegexOptions.Singleline);
    }

    static string Core(string template) => Regex.Escape(template).Replace(@"\{0}", "(.+)").Replace(@"\{1}", "(.+)");

    [Theory]
    [MemberData(nameof(Names))]
    public void EveryTaskHasAtLeastFifteenPhrasingsAThirdHeldOut(string name)
    {
        var s = Sentences(name);
        var trained = s.Of(PhrasingSet.Trained);
        var heldOut = s.Of(PhrasingSet.HeldOut);
        int total = trained.Count + heldOut.Count;
        Assert.True(total >= 15, $"{name}: {total} phrasings");
        Assert.Equal(total / 3, heldOut.Count);
        Assert.Empty(trained.Intersect(heldOut));
        Assert.All(trained.Concat(heldOut), t => Assert.True(t.Contains("{0}") && t.Contains("{1}"), t));
        Assert.Equal(total, trained.Concat(heldOut).Distinct().Count());
    }

    [Fact]
    public void NoHeldOutSentenceOfAnyTaskCanBeReadAsATrainedOne()
    {
        // Across tasks too: a held-out addition sentence must not be a trained subtraction sentence with other words
        // in the number slots, or "held out" would not mean unseen.
        var trained = TaskNames.SelectMany(n => Sentences(n).Of(PhrasingSet.Trained)).Select(TrainedPatternOf).ToList();
        foreach (string name in TaskNames)
            foreach (string held in Sentences(name).Of(PhrasingSet.HeldOut))
            {
                string asked = string.Format(held, "347", "829");
                Assert.DoesNotContain(trained, p => p.IsMatch(asked));
            }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void HeldOutPhrasingsAskTheSameProblemsInOtherWords(string name)
    {
        var trained = ProblemSets.Distinct(TaskRegistry.Create(name), ProblemSplit.Test, 7, 200);
        var heldOut = ProblemSets.Distinct(TaskRegistry.Create(name, PhrasingSet.HeldOut), ProblemSplit.Test, 7, 200);
        Assert.Equal(trained.Select(p => p.Key), heldOut.Select(p => p.Key));
        Assert.Equal(trained.Select(p => p.Completion), heldOut.Select(p => p.Completion));
        var heldPatterns = Sentences(name).Of(PhrasingSet.HeldOut).Select(PatternOf).ToList();
        var trainedPatterns = Sentences(name).Of(PhrasingSet.Trained).Select(TrainedPatternOf).ToList();
        Assert.All(heldOut, p => Assert.Contains(heldPatterns, r => r.IsMatch(p.Prompt)));
        Assert.All(trained, p => Assert.Contains(trainedPatterns, r => r.IsMatch(p.Prompt)));
        // Held-out sentences are asked as written; a share of the trained ones are framed, some lower-cased after "Hey, ".
        Assert.Contains(trained, p => PhrasingTemplates.Openers.Any(o => p.Prompt.StartsWith(o, StringComparison.Ordinal)));
        Assert.Contains(trained, p => PhrasingTemplates.Closers.Any(c => p.Prompt.EndsWith(c, StringComparison.Ordinal)));
        Assert.Contains(trained, p => PhrasingTemplates.Tails.Any(c => p.Prompt.EndsWith(c, StringComparison.Ordinal)));
        Assert.Contains(trained, p => !PhrasingTemplates.Openers.Any(o => p.Prompt.StartsWith(o, StringComparison.Ordinal)));
        // Every held-out sentence is used, so a figure on held-out phrasings covers them all.
        Assert.All(heldPatterns, r => Assert.Contains(heldOut, p => r.IsMatch(p.Prompt)));
        Assert.Equal(PhrasingSet.HeldOut, TaskRegistry.Create(TaskRegistry.Label(TaskRegistry.Create(name)), PhrasingSet.HeldOut).Phrasings);
    }

    [Fact]
    public void TrainingDataNeverAsksInAHeldOutPhrasing()
    {
        // The source SFT and pretraining draw from, with conversations and noise words, over every task of the default mix.
        var mix = TaskNames.Select(n => (TaskRegistry.Create(n), 1.0)).ToList();
        var source = new TaskMixSource(mix, maxHistoryTurns: 3, promptNoise: 0.5);
        var random = new TrainingRandom(3);
        var held = TaskNames.SelectMany(n => Sentences(n).Of(PhrasingSet.HeldOut)).Select(PatternOf).ToList();
        for (int i = 0; i < 500; i++)
        {
            var ex = source.Next(random);
            foreach (string user in ex.History.Select(h => h.User).Append(ex.User))
                Assert.DoesNotContain(held, r => r.IsMatch(user));
        }
    }
}

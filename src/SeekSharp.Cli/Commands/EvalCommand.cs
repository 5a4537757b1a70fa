using System.CommandLine;
using SeekSharp.Models;
using SeekSharp.Training.Eval;
using SeekSharp.Training.Tasks;

namespace SeekSharp.Cli.Commands;

/// <summary>
/// <c>seek eval -m MODEL --task NAME [--digits A[,B]] [--split test|validation] [--phrasings trained|held-out]</c>:
/// accuracy and format rate on distinct problems of the test split (by default), answered greedily, asked in the
/// phrasings training used (by default) or in the held-out third of them. <c>--task all</c> evaluates every task;
/// <c>--json</c> prints one JSON value: <c>{"task","digits","split","phrasings","requested","n","accuracy","format_rate"}</c> (with
/// <c>--turns</c> also the accuracy of each turn), or for <c>all</c> an array of such objects.
/// </summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var task = new Option<string>("--task") { Description = $"Task: {string.Join(", ", TaskRegistry.Names)}, or all; name-AxB sets operand digits (addition-3x3)", Required = true };
        var digits = new Option<string?>("--digits") { Description = "Operand digits: A (both operands), A,B (first, second); each N or N-M, e.g. 3 or 1-3,1-2" };
        var split = new Option<ProblemSplit>("--split") { Description = "Problems from the test split (reported figures) or validation (training decisions)", DefaultValueFactory = _ => ProblemSplit.Test };
        var phrasings = new Option<string>("--phrasings")
        {
            Description = "Ask in the phrasings training used (trained) or in the third of them kept out of training (held-out)",
            DefaultValueFactory = _ => "trained",
        }.AcceptOnlyFromAmong("trained", "held-out");
        var n = new Option<int>("--n") { Description = "Distinct problems, or conversations with --turns (fewer when the split holds fewer)", DefaultValueFactory = _ => 500 };
        var turns = new Option<int>("--turns") { Description = "Questions per conversation, asked after the model's own earlier replies as seek chat does (1: single questions)", DefaultValueFactory = _ => 1 };
        var seed = new Option<int>("--seed", "-s") { Description = "Seed of the problem stream", DefaultValueFactory = _ => 1234 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Most tokens per answer (0: what the context leaves)", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch") { Description = "Problems answered together as parallel sequences", DefaultValueFactory = _ => Evaluator.DefaultBatch };
        var threads = Common.ThreadsOption("Threads (0: all cores)");
        var json = Common.JsonOption();
        var command = new Command("eval", "Accuracy and R1 format rate on distinct test-split problems of a reasoning task (greedy answers)")
            { task, digits, split, phrasings, n, turns, seed, maxTokens, batch, threads, json };
        var model = DefaultModel.AddTo(command);
        command.SetAction(r => Common.Guard(() =>
        {
            string name = r.GetValue(task)!;
            int count = r.GetValue(n);
            if (count < 1) throw new ArgumentException($"--n must be at least 1, got {count}");
            int turnCount = r.GetValue(turns);
            if (turnCount < 1) throw new ArgumentException($"--turns must be at least 1, got {turnCount}");
            Common.CheckThreads(r.GetValue(threads));
            string? d = r.GetValue(digits);
            var asked = r.GetValue(phrasings) == "held-out" ? PhrasingSet.HeldOut : PhrasingSet.Trained;
            // --digits with all applies to the tasks that have operands; countdown keeps its own numbers.
            var tasks = name == "all"
                ? [.. TaskRegistry.Names.Select(t => TaskRegistry.Create(t, t == "countdown" ? null : d, asked))]
                : new[] { d is null ? TaskRegistry.Create(name, asked) : TaskRegistry.Create(name, d, asked) }; // bad specs fail before the model loads
            using var m = Model.Load(DefaultModel.Resolve(r, model));
            var values = new List<object>();
            foreach (var t in tasks)
            {
                var results = Evaluator.RunConversations(m, t, count, turnCount, r.GetValue(seed), r.GetValue(maxTokens), r.GetValue(batch),
                    r.GetValue(threads), r.GetValue(split));
                var first = results[0];
                string splitName = first.Split.ToString().ToLowerInvariant();
                string phrasingName = PhrasingName(t.Phrasings);
                // Turns after the first, pooled: what a follow-up question gets.
                double later = turnCount > 1 ? results.Skip(1).Average(x => x.Accuracy) : double.NaN;
                if (r.GetValue(json) && turnCount == 1)
                    values.Add(new
                    {
                        task = first.Task, digits = first.Digits, split = splitName, phrasings = phrasingName, requested = first.Requested, n = first.N,
                        accuracy = first.Accuracy, format_rate = first.FormatRate,
                    });
                else if (r.GetValue(json))
                    values.Add(new
                    {
                        task = first.Task, digits = first.Digits, split = splitName, phrasings = phrasingName, requested = first.Requested, n = first.N, turns = turnCount,
                        accuracy = first.Accuracy, later_turns_accuracy = later, turn_accuracy = results.Select(x => x.Accuracy).ToArray(),
                        turn_format_rate = results.Select(x => x.FormatRate).ToArray(),
                    });
                else
                {
                    foreach (var result in results)
                        Console.Out.WriteLine($"{result.Label,-22} {splitName} split  {phrasingName} phrasings  " + (turnCount > 1 ? $"turn {result.Turn}  " : "") +
                            $"n {result.N} distinct" + (turnCount > 1 ? " conversations" : "") +
                            (result.N < result.Requested ? $" (of {result.Requested} asked: the split holds no more)" : "") +
                            $"  accuracy {result.Accuracy:P1}  format {result.FormatRate:P1}  " +
                            $"mean tokens {result.MeanCompletionTokens:F0}  truncated {result.TruncatedRate:P1}  ({result.Seconds:F1} s)");
                    if (turnCount > 1)
                        Console.Out.WriteLine($"{first.Label,-22} {splitName} split  {phrasingName} phrasings  turns 2-{turnCount}  n {first.N * (turnCount - 1)} answers  " +
                            $"accuracy {later:P1}  (turn 1: {first.Accuracy:P1})");
                }
            }
            // --json is one value for scripts: the object of the one task, or an array for all.
            if (r.GetValue(json))
                Common.WriteJson(name == "all" ? values : values[0]);
            return 0;
        }));
        return command;
    }

    static string PhrasingName(PhrasingSet set) => set == PhrasingSet.HeldOut ? "held-out" : "trained";
}

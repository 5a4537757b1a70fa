using System.CommandLine;
using SeekSharp.Models;
using SeekSharp.Training.Eval;
using SeekSharp.Training.Tasks;

namespace SeekSharp.Cli.Commands;

/// <summary>
/// <c>seek eval -m MODEL --task NAME [--digits A[,B]] [--split test|validation]</c>: accuracy and format rate on
/// distinct problems of the test split (by default), answered greedily. <c>--task all</c> evaluates every task;
/// <c>--json</c> prints <c>{"task","digits","split","requested","n","accuracy","format_rate"}</c> (one object per line
/// for <c>all</c>).
/// </summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var model = DefaultModel.Option();
        var task = new Option<string>("--task") { Description = $"Task: {string.Join(", ", TaskRegistry.Names)}, or all; name-AxB sets operand digits (addition-3x3)", Required = true };
        var digits = new Option<string?>("--digits") { Description = "Operand digits: A (both operands), A,B (first, second); each N or N-M, e.g. 3 or 1-3,1-2" };
        var split = new Option<ProblemSplit>("--split") { Description = "Problems from the test split (reported figures) or validation (training decisions)", DefaultValueFactory = _ => ProblemSplit.Test };
        var n = new Option<int>("--n") { Description = "Distinct problems (fewer when the split holds fewer)", DefaultValueFactory = _ => 500 };
        var seed = new Option<int>("--seed", "-s") { Description = "Seed of the problem stream", DefaultValueFactory = _ => 1234 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Most tokens per answer (0: what the context leaves)", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch") { Description = "Problems answered together as parallel sequences", DefaultValueFactory = _ => Evaluator.DefaultBatch };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads (0: all cores)", DefaultValueFactory = _ => 0 };
        var json = Common.JsonOption();
        var command = new Command("eval", "Accuracy and R1 format rate on distinct test-split problems of a reasoning task (greedy answers)")
            { model, task, digits, split, n, seed, maxTokens, batch, threads, json };
        command.SetAction(r => Common.Guard(() =>
        {
            string name = r.GetValue(task)!;
            int count = r.GetValue(n);
            if (count < 1) throw new ArgumentException($"--n must be at least 1, got {count}");
            string? d = r.GetValue(digits);
            // --digits with all applies to the tasks that have operands; countdown keeps its own numbers.
            var tasks = name == "all"
                ? [.. TaskRegistry.Names.Select(t => TaskRegistry.Create(t, t == "countdown" ? null : d))]
                : new[] { d is null ? TaskRegistry.Create(name) : TaskRegistry.Create(name, d) }; // bad specs fail before the model loads
            using var m = Model.Load(DefaultModel.Resolve(r.GetValue(model)));
            foreach (var t in tasks)
            {
                var result = Evaluator.Run(m, t, count, r.GetValue(seed), r.GetValue(maxTokens), r.GetValue(batch), r.GetValue(threads), r.GetValue(split));
                string splitName = result.Split.ToString().ToLowerInvariant();
                if (r.GetValue(json))
                    Common.WriteJson(new
                    {
                        task = result.Task, digits = result.Digits, split = splitName, requested = result.Requested, n = result.N,
                        accuracy = result.Accuracy, format_rate = result.FormatRate,
                    });
                else
                    Console.Out.WriteLine($"{result.Label,-22} {splitName} split  n {result.N} distinct" +
                        (result.N < result.Requested ? $" (of {result.Requested} asked: the split holds no more)" : "") +
                        $"  accuracy {result.Accuracy:P1}  format {result.FormatRate:P1}  " +
                        $"mean tokens {result.MeanCompletionTokens:F0}  truncated {result.TruncatedRate:P1}  ({result.Seconds:F1} s)");
            }
            return 0;
        }));
        return command;
    }
}

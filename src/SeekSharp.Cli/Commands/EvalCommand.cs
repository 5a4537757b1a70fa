using System.CommandLine;
using SeekSharp.Models;
using SeekSharp.Training.Eval;
using SeekSharp.Training.Tasks;

namespace SeekSharp.Cli.Commands;

/// <summary>
/// <c>seek eval -m MODEL --task NAME</c>: accuracy and format rate on fresh held-out problems, answered greedily.
/// <c>--task all</c> evaluates every task; <c>--json</c> prints exactly <c>{"task","n","accuracy","format_rate"}</c>
/// (one object per line for <c>all</c>).
/// </summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var model = DefaultModel.Option();
        var task = new Option<string>("--task") { Description = $"Task: {string.Join(", ", TaskRegistry.Names)}, or all", Required = true };
        var n = new Option<int>("--n") { Description = "Held-out problems", DefaultValueFactory = _ => 500 };
        var seed = new Option<int>("--seed", "-s") { Description = "Seed of the problem stream", DefaultValueFactory = _ => 1234 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Most tokens per answer (0: what the context leaves)", DefaultValueFactory = _ => 0 };
        var batch = new Option<int>("--batch") { Description = "Problems answered together as parallel sequences", DefaultValueFactory = _ => Evaluator.DefaultBatch };
        var threads = new Option<int>("--threads", "-t") { Description = "Threads (0: all cores)", DefaultValueFactory = _ => 0 };
        var json = Common.JsonOption();
        var command = new Command("eval", "Accuracy and R1 format rate on held-out problems of a reasoning task (greedy answers)")
            { model, task, n, seed, maxTokens, batch, threads, json };
        command.SetAction(r => Common.Guard(() =>
        {
            string name = r.GetValue(task)!;
            int count = r.GetValue(n);
            if (count < 1) throw new ArgumentException($"--n must be at least 1, got {count}");
            var tasks = name == "all" ? [.. TaskRegistry.Names] : new[] { name };
            foreach (string t in tasks) TaskRegistry.Create(t); // unknown names fail before the model loads
            using var m = Model.Load(DefaultModel.Resolve(r.GetValue(model)));
            foreach (string t in tasks)
            {
                var result = Evaluator.Run(m, TaskRegistry.Create(t), count, r.GetValue(seed), r.GetValue(maxTokens), r.GetValue(batch), r.GetValue(threads));
                if (r.GetValue(json))
                    Common.WriteJson(new { task = result.Task, n = result.N, accuracy = result.Accuracy, format_rate = result.FormatRate });
                else
                    Console.Out.WriteLine($"{result.Task,-15} n {result.N}  accuracy {result.Accuracy:P1}  format {result.FormatRate:P1}  " +
                        $"mean tokens {result.MeanCompletionTokens:F0}  truncated {result.TruncatedRate:P1}  ({result.Seconds:F1} s)");
            }
            return 0;
        }));
        return command;
    }
}

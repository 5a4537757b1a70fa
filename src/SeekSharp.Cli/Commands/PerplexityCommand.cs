using System.CommandLine;
using System.Diagnostics;
using SeekSharp.Inference;
using SeekSharp.Models;

namespace SeekSharp.Cli.Commands;

/// <summary><c>seek perplexity</c>: llama-perplexity's measure on a text file.</summary>
internal static class PerplexityCommand
{
    public static Command Create()
    {
        var file = new Option<string>("--file", "-f") { Description = "Text file to score (UTF-8)", Required = true };
        var ctx = Common.ContextOption("Tokens per chunk", 512);
        var batch = new Option<int>("--batch", "-b") { Description = "Tokens per forward pass", DefaultValueFactory = _ => 128 };
        var json = Common.JsonOption();
        var command = new Command("perplexity", "Perplexity of a text, measured as llama.cpp's llama-perplexity does") { file, ctx, batch, json };
        var model = DefaultModel.AddTo(command);
        command.SetAction(r => Common.Guard(() =>
        {
            int n = r.GetValue(ctx), b = r.GetValue(batch);
            if (n < 2) throw new ArgumentException($"--ctx must be at least 2, got {n}");
            if (b < 1) throw new ArgumentException($"--batch must be at least 1, got {b}");
            string text = Common.ReadUtf8File(r.GetValue(file)!);
            using var m = Model.Load(DefaultModel.Resolve(r, model));
            using var context = m.CreateContext(new ContextOptions { ContextLength = Common.CheckContext(m, n), BatchSize = Math.Min(b, n) });
            int[] tokens = m.Tokenizer.Encode(text, addSpecial: true, parseSpecial: false);
            var clock = Stopwatch.StartNew();
            var result = Perplexity.Compute(context, tokens, n, m.Tokenizer.AddBos ? m.Tokenizer.BosId : null);
            if (r.GetValue(json))
                Common.WriteJson(new { ppl = result.Value, chunks = result.Chunks, tokens_scored = result.TokensScored });
            else
                Console.Out.WriteLine($"perplexity {result.Value:F4} over {result.Chunks} chunks of {n} tokens ({result.TokensScored} scored) in {clock.Elapsed.TotalSeconds:F1} s");
            return 0;
        }));
        return command;
    }
}

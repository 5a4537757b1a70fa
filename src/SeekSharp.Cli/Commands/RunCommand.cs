using System.CommandLine;
using System.Diagnostics;
using System.Text;
using SeekSharp.Inference;
using SeekSharp.Inference.Sampling;
using SeekSharp.Models;

namespace SeekSharp.Cli.Commands;

/// <summary><c>seek run</c>: a raw completion of a prompt (no chat template), streamed.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var d = new SamplingOptions();
        var model = Common.ModelOption();
        var prompt = new Option<string>("--prompt", "-p") { Description = "Prompt text", Required = true };
        var n = new Option<int>("--n-predict", "-n") { Description = "Tokens to generate", DefaultValueFactory = _ => 128 };
        var temp = new Option<float>("--temp") { Description = "Temperature; 0 is greedy", DefaultValueFactory = _ => d.Temperature };
        var topK = new Option<int>("--top-k") { Description = "Top-k (0 disables)", DefaultValueFactory = _ => d.TopK };
        var topP = new Option<float>("--top-p") { Description = "Top-p (1 disables)", DefaultValueFactory = _ => d.TopP };
        var minP = new Option<float>("--min-p") { Description = "Min-p (0 disables)", DefaultValueFactory = _ => d.MinP };
        var repeat = new Option<float>("--repeat-penalty") { Description = "Repetition penalty (1 disables)", DefaultValueFactory = _ => d.RepeatPenalty };
        var presence = new Option<float>("--presence-penalty") { Description = "Presence penalty", DefaultValueFactory = _ => d.PresencePenalty };
        var frequency = new Option<float>("--frequency-penalty") { Description = "Frequency penalty", DefaultValueFactory = _ => d.FrequencyPenalty };
        var seed = new Option<int>("--seed", "-s") { Description = "Random seed", DefaultValueFactory = _ => d.Seed };
        var ctx = new Option<int>("--ctx", "-c") { Description = "Context length (0: the model's, at most 4096)", DefaultValueFactory = _ => 0 };
        var json = Common.JsonOption();
        var command = new Command("run", "Complete a prompt with the model (raw text, no chat template)")
            { model, prompt, n, temp, topK, topP, minP, repeat, presence, frequency, seed, ctx, json };
        command.SetAction(r => Common.Guard(() =>
        {
            var options = new SamplingOptions
            {
                Temperature = r.GetValue(temp), TopK = r.GetValue(topK), TopP = r.GetValue(topP), MinP = r.GetValue(minP),
                RepeatPenalty = r.GetValue(repeat), PresencePenalty = r.GetValue(presence), FrequencyPenalty = r.GetValue(frequency),
                Seed = r.GetValue(seed),
            };
            int maxTokens = r.GetValue(n);
            if (maxTokens < 0) throw new ArgumentException($"--n-predict must be 0 or more, got {maxTokens}");
            return Run(TokenizeCommand.RequireFile(r.GetValue(model)!), r.GetValue(prompt)!, maxTokens, options, r.GetValue(ctx), r.GetValue(json));
        }));
        return command;
    }

    private static int Run(string path, string prompt, int maxTokens, SamplingOptions options, int ctx, bool json)
    {
        using var model = Model.Load(path);
        using var context = model.CreateContext(new ContextOptions { ContextLength = ctx });
        int[] promptTokens = model.Tokenizer.Encode(prompt, addSpecial: true, parseSpecial: true);
        if (promptTokens.Length > context.ContextLength)
            throw new ContextOverflowException(promptTokens.Length, context.ContextLength);

        var decoder = model.Tokenizer.CreateStreamingDecoder();
        var generated = new List<int>();
        var text = new StringBuilder();
        var clock = Stopwatch.StartNew();
        foreach (int token in Generator.Generate(context, promptTokens, options, maxTokens))
        {
            generated.Add(token);
            string piece = decoder.Append(token);
            text.Append(piece);
            if (!json) { Console.Out.Write(piece); Console.Out.Flush(); }
        }
        string rest = decoder.Flush();
        text.Append(rest);
        clock.Stop();

        if (json)
            Common.WriteJson(new { prompt_tokens = promptTokens, tokens = generated, text = text.ToString() });
        else
            Console.Out.WriteLine(rest);
        Console.Error.WriteLine($"seek: {promptTokens.Length} prompt tokens, {generated.Count} generated in {clock.Elapsed.TotalSeconds:F2} s ({generated.Count / Math.Max(clock.Elapsed.TotalSeconds, 1e-9):F2} tokens/s including prompt)");
        return 0;
    }
}

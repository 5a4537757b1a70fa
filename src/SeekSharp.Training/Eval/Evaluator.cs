using System.Diagnostics;
using SeekSharp.Chat;
using SeekSharp.Inference.Sampling;
using SeekSharp.Training.Data;
using SeekSharp.Training.Rewards;
using SeekSharp.Training.Sampling;
using SeekSharp.Training.Tasks;

namespace SeekSharp.Training.Eval;

/// <summary>
/// Accuracy and format rate of a model on distinct problems of a task from the test split (or the validation split,
/// for choices made while training): each problem is asked as one user turn
/// through the model's chat template (R1's when it has none), answered greedily, and scored by the same rules as GRPO's
/// rewards (<see cref="AnswerReward"/>, <see cref="FormatReward"/>). Problems are answered in batches of parallel
/// sequences through the <see cref="CompletionSampler"/>.
/// </summary>
public static class Evaluator
{
    /// <summary>Answers per batch of parallel sequences: bounds the KV cache while keeping decode steps wide.</summary>
    public const int DefaultBatch = 64;

    /// <summary>Evaluates <paramref name="model"/> on <paramref name="n"/> distinct problems of <paramref name="task"/>
    /// from <paramref name="split"/> (fewer when the split holds fewer: <see cref="EvalResult.N"/> says how many).</summary>
    /// <param name="model">Any model SeekSharp runs.</param>
    /// <param name="task">The task (<see cref="ProblemSets"/> draws its problems).</param>
    /// <param name="n">Problems.</param>
    /// <param name="seed">Seed of the problem stream (the split itself does not depend on it).</param>
    /// <param name="maxNewTokens">Most tokens per answer; 0 uses all the context the prompt leaves.</param>
    /// <param name="batch">Problems answered together.</param>
    /// <param name="threads">Decode threads (0: shared pool).</param>
    /// <param name="split">Test for reported figures, validation for training decisions (train only to measure how
    /// much of the skill is memorised).</param>
    public static EvalResult Run(SeekSharp.Models.Model model, IReasoningTask task, int n, int seed, int maxNewTokens = 0,
        int batch = DefaultBatch, int threads = 0, ProblemSplit split = ProblemSplit.Test)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(task);
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxNewTokens);
        var tokenizer = model.Tokenizer;
        string? template = model.File.GetStringOrNull("tokenizer.chat_template");
        var formatter = template is null ? null : new ChatPromptFormatter(template, tokenizer);
        var problems = ProblemSets.Distinct(task, split, seed, n);
        int requested = n;
        n = problems.Count;

        var prompts = new int[n][];
        bool opensThinking = true;
        for (int i = 0; i < n; i++)
        {
            string text = formatter is null
                ? R1ChatText.Prompt(problems[i].Prompt)
                : formatter.Render([ChatMessage.User(problems[i].Prompt)], addGenerationPrompt: true);
            // Templates that do not open the reasoning leave the model to write <think> itself (R1's original template).
            opensThinking = text.TrimEnd().EndsWith(Tokenizers.R1ChatFormat.ThinkOpen, StringComparison.Ordinal);
            prompts[i] = formatter is null ? tokenizer.Encode(text, addSpecial: false, parseSpecial: true) : formatter.Tokenize(text);
        }
        var answer = new AnswerReward(task, opensThinking);
        var format = new FormatReward(opensThinking);

        int context = model.Config.ContextLength;
        int longest = prompts.Max(p => p.Length);
        int limit = maxNewTokens > 0 ? maxNewTokens : context - longest;
        if (limit < 1 || longest + limit > context)
            throw new ArgumentException($"Prompts of up to {longest} tokens plus {limit} new tokens do not fit the model's context of {context}; lower --max-tokens.");

        var clock = Stopwatch.StartNew();
        int correct = 0, formatted = 0, truncated = 0;
        long generated = 0;
        using var sampler = new CompletionSampler(model, tokenizer, threads);
        for (int start = 0; start < n; start += batch)
        {
            int count = Math.Min(batch, n - start);
            var completions = sampler.Sample(prompts[start..(start + count)], 1, limit, SamplingOptions.Greedy, (ulong)seed);
            foreach (var c in completions)
            {
                var problem = problems[start + c.PromptIndex];
                if (answer.Score(problem, c.Text) > 0) correct++;
                if (format.Score(problem, c.Text) > 0) formatted++;
                if (c.Finish == Completion.Length) truncated++;
                generated += c.Tokens.Length;
            }
        }
        return new EvalResult(task.Name, task.Digits, split, requested, n, (double)correct / n, (double)formatted / n, (double)generated / n, (double)truncated / n,
            clock.Elapsed.TotalSeconds);
    }
}

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
        int batch = DefaultBatch, int threads = 0, ProblemSplit split = ProblemSplit.Test) =>
        RunConversations(model, task, n, 1, seed, maxNewTokens, batch, threads, split)[0];

    /// <summary>
    /// Evaluates <paramref name="model"/> in conversations of <paramref name="turns"/> questions each, as <c>seek chat</c>
    /// holds them: every turn asks a new distinct problem after the earlier questions and the model's own earlier
    /// replies, rendered by the model's chat template (which drops earlier reasoning, as R1's does). Returns one result
    /// per turn, so a follow-up turn's accuracy can be set beside a first turn's.
    /// </summary>
    /// <param name="conversations">Conversations; each asks <paramref name="turns"/> distinct problems (fewer
    /// conversations when the split holds fewer than conversations × turns problems).</param>
    /// <param name="turns">Questions per conversation (1: single questions).</param>
    /// <inheritdoc cref="Run" path="/param[@name='model']|/param[@name='task']|/param[@name='seed']|/param[@name='maxNewTokens']|/param[@name='batch']|/param[@name='threads']|/param[@name='split']"/>
    public static IReadOnlyList<EvalResult> RunConversations(SeekSharp.Models.Model model, IReasoningTask task, int conversations, int turns,
        int seed, int maxNewTokens = 0, int batch = DefaultBatch, int threads = 0, ProblemSplit split = ProblemSplit.Test)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(task);
        ArgumentOutOfRangeException.ThrowIfLessThan(conversations, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(turns, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxNewTokens);
        var tokenizer = model.Tokenizer;
        // A model without a template is asked through R1's, which renders one turn exactly as R1ChatText.Prompt.
        string template = model.File.GetStringOrNull("tokenizer.chat_template") ?? Tokenizers.R1ChatFormat.ChatTemplate;
        var formatter = new ChatPromptFormatter(template, tokenizer);
        var problems = ProblemSets.Distinct(task, split, seed, conversations * turns);
        int requested = conversations;
        int n = problems.Count / turns;
        if (n == 0)
            throw new ArgumentException($"the {split} split of {TaskRegistry.Label(task)} holds {problems.Count} distinct problems, fewer than the {turns} turns of one conversation.");

        var history = new List<ChatMessage>[n];
        for (int c = 0; c < n; c++) history[c] = [];
        var results = new EvalResult[turns];
        using var sampler = new CompletionSampler(model, tokenizer, threads);
        for (int turn = 0; turn < turns; turn++)
        {
            var clock = Stopwatch.StartNew();
            var asked = new Problem[n];
            var prompts = new int[n][];
            bool opensThinking = true;
            for (int c = 0; c < n; c++)
            {
                asked[c] = problems[c * turns + turn];
                history[c].Add(ChatMessage.User(asked[c].Prompt));
                string text = formatter.Render(history[c], addGenerationPrompt: true);
                // Templates that do not open the reasoning leave the model to write <think> itself (R1's original template).
                opensThinking = text.TrimEnd().EndsWith(Tokenizers.R1ChatFormat.ThinkOpen, StringComparison.Ordinal);
                prompts[c] = formatter.Tokenize(text);
            }
            var answer = new AnswerReward(task, opensThinking);
            var format = new FormatReward(opensThinking);

            int context = model.Config.ContextLength;
            int longest = prompts.Max(p => p.Length);
            int limit = maxNewTokens > 0 ? maxNewTokens : context - longest;
            if (limit < 1 || longest + limit > context)
                throw new ArgumentException($"Prompts of up to {longest} tokens (turn {turn + 1}) plus {limit} new tokens do not fit the model's context of {context}; lower --max-tokens or --turns.");

            int correct = 0, formatted = 0, truncated = 0;
            long generated = 0;
            for (int start = 0; start < n; start += batch)
            {
                int count = Math.Min(batch, n - start);
                var completions = sampler.Sample(prompts[start..(start + count)], 1, limit, SamplingOptions.Greedy, (ulong)seed);
                foreach (var completion in completions)
                {
                    int c = start + completion.PromptIndex;
                    if (answer.Score(asked[c], completion.Text) > 0) correct++;
                    if (format.Score(asked[c], completion.Text) > 0) formatted++;
                    if (completion.Finish == Completion.Length) truncated++;
                    generated += completion.Tokens.Length;
                    // The reply goes into the history as seek chat keeps it: reasoning apart, answer as content.
                    var (reasoning, content) = SeekSharp.Chat.Reasoning.ReasoningParser.Split(completion.Text, opensThinking);
                    history[c].Add(ChatMessage.Assistant(content, reasoning));
                }
            }
            results[turn] = new EvalResult(task.Name, task.Digits, split, requested, n, (double)correct / n, (double)formatted / n,
                (double)generated / n, (double)truncated / n, clock.Elapsed.TotalSeconds) { Turn = turn + 1 };
        }
        return results;
    }
}

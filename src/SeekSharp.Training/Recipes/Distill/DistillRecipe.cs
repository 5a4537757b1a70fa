using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using SeekSharp.Chat;
using SeekSharp.Chat.Reasoning;
using SeekSharp.Inference.Sampling;
using SeekSharp.Training.Recipes.Common;
using SeekSharp.Training.Recipes.Grpo;
using SeekSharp.Training.Recipes.Sft;
using SeekSharp.Training.Rewards;
using SeekSharp.Training.Sampling;
using SeekSharp.Training.Tasks;
using SeekSharp.Training.Tokenizers;

namespace SeekSharp.Training.Recipes.Distill;

/// <summary>
/// Distillation (DeepSeek-R1 §2.4), <c>seek train distill</c>: a teacher model (<see cref="DistillSettings.Teacher"/>)
/// answers training problems of every task, its verified-correct traces are written to <see cref="TracesFile"/> in the
/// output directory (<see cref="GenerateTraces(string, IReasoningTask, int, int, string, SamplingOptions, int)"/>), then a
/// new student of <see cref="TrainConfig.Model"/>'s shape, with the teacher's tokenizer, learns them by SFT (loss on the
/// assistant's tokens). Traces are JSONL, one object per line:
/// <c>{"prompt": user text, "completion": "&lt;think&gt;\n" reasoning "&lt;/think&gt;" answer, "correct": bool}</c>.
/// </summary>
public static class DistillRecipe
{
    /// <summary>File name of the teacher's traces inside the output directory.</summary>
    public const string TracesFile = "traces.jsonl";

    // Prompts sampled together: enough parallel sequences to keep decode steps batched, few enough to bound the cache.
    private const int PromptsPerBatch = 32;

    // Relaxed escaping keeps the chat tags and non-ASCII text readable in the file (it is data, never HTML).
    private static readonly JsonSerializerOptions Json = new(TraceJson.Default.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Runs (or with <paramref name="resume"/> continues) a distillation as <paramref name="config"/> describes.
    /// A resumed run reuses the traces file.</summary>
    /// <param name="config">The run; <see cref="TrainConfig.Distill"/> names the teacher, <see cref="TrainConfig.Tasks"/> the problems
    /// and <see cref="TrainConfig.Model"/> the student's shape (<see cref="TrainConfig.InitFrom"/> is ignored).</param>
    /// <param name="resume">Continue from the checkpoint in <see cref="TrainConfig.OutputDir"/>.</param>
    /// <param name="progress">Called after every step of the student.</param>
    /// <param name="cancel">Stops after the current step, saving a checkpoint.</param>
    /// <exception cref="ArgumentException">No teacher, or the teacher wrote no correct trace.</exception>
    public static TrainingResult Run(TrainConfig config, bool resume = false, Action<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        var d = config.Distill;
        string teacher = d.Teacher ?? throw new ArgumentException("distill needs a teacher model: set \"distill\": {\"teacher\": \"PATH.gguf\"}.");
        if (!File.Exists(teacher)) throw new FileNotFoundException($"Teacher model '{teacher}' does not exist.", teacher);
        Directory.CreateDirectory(config.OutputDir);
        string traces = Path.Combine(config.OutputDir, TracesFile);
        if (!(resume && File.Exists(traces)))
        {
            var sampling = SamplingOptions.Greedy with { Temperature = d.Temperature, TopK = 0, TopP = 1, MinP = 0 };
            string partial = traces + ".part";
            File.Delete(partial);
            int kept = 0;
            foreach (var (task, i) in config.Tasks.Select((t, i) => (t, i)))
            {
                string one = Path.Combine(config.OutputDir, $"traces.{task.Name}.jsonl");
                kept += GenerateTraces(teacher, TaskRegistry.Create(task.Name), d.TracesPerTask, (int)(config.Seed % int.MaxValue) + i,
                    one, sampling, d.MaxNewTokens);
                File.AppendAllLines(partial, File.ReadLines(one));
                File.Delete(one);
            }
            if (kept == 0) throw new ArgumentException($"The teacher '{teacher}' answered none of the problems correctly; distillation needs correct traces.");
            File.Move(partial, traces, overwrite: true);
        }
        // The student is new (initFrom is ignored) and speaks the teacher's vocabulary.
        var student = config with { InitFrom = null, Traces = traces };
        using var run = TrainingRun.Start("distill", student, resume, config.BatchSize, RunTokenizer.FromGguf(teacher));
        return SftRecipe.Run(run, traces, progress, cancel);
    }

    /// <summary>
    /// Has the teacher answer <paramref name="count"/> training problems of <paramref name="task"/> (drawn with
    /// <paramref name="seed"/>) and writes the correct traces to <paramref name="outJsonl"/>. A trace is correct when
    /// the teacher ended it by itself, it has the R1 form (reasoning, <c>&lt;/think&gt;</c>, answer) and the task
    /// verifies the answer. Returns the number of traces written.
    /// </summary>
    /// <param name="teacherGguf">Any model SeekSharp runs; prompts use its chat template, or R1's when it has none.</param>
    /// <param name="task">Problem generator and verifier.</param>
    /// <param name="count">Problems asked.</param>
    /// <param name="seed">Seed of the problem stream (train split) and of the sampling draws.</param>
    /// <param name="outJsonl">Output file, replaced if it exists.</param>
    /// <param name="sampling">Sampling settings (greedy when the temperature is 0).</param>
    /// <param name="maxNewTokens">Most tokens per answer; longer answers are cut and so not kept.</param>
    public static int GenerateTraces(string teacherGguf, IReasoningTask task, int count, int seed, string outJsonl,
                                     SamplingOptions sampling, int maxNewTokens) =>
        GenerateTraces(teacherGguf, task, count, seed, outJsonl, sampling, maxNewTokens, verify: null, keepIncorrect: false);

    /// <summary>As the public overload, with a replaceable verifier of (problem, completion, finish) and the option to
    /// write incorrect traces too (marked <c>"correct": false</c>); returns the number of lines written.</summary>
    internal static int GenerateTraces(string teacherGguf, IReasoningTask task, int count, int seed, string outJsonl,
                                       SamplingOptions sampling, int maxNewTokens, Func<Problem, string, string, bool>? verify,
                                       bool keepIncorrect, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(sampling);
        ArgumentException.ThrowIfNullOrEmpty(outJsonl);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNewTokens, 1);

        using var teacher = SeekSharp.Models.Model.Load(teacherGguf);
        var tokenizer = teacher.Tokenizer;
        string? template = teacher.File.GetStringOrNull("tokenizer.chat_template");
        var formatter = template is null ? null : new ChatPromptFormatter(template, tokenizer);
        // F16 keys and values, as llama.cpp keeps them: a teacher may be large, and its traces need no exact match.
        using var sampler = new CompletionSampler(teacher, tokenizer, threads) { KvCacheType = SeekSharp.Kernels.GgmlType.F16 };

        Problem[] problems = [.. ProblemSets.Generate(task, ProblemSplit.Train, seed, count)];
        string? directory = Path.GetDirectoryName(Path.GetFullPath(outJsonl));
        if (directory is not null) Directory.CreateDirectory(directory);
        using var writer = new StreamWriter(outJsonl, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        int written = 0;
        for (int start = 0; start < problems.Length; start += PromptsPerBatch)
        {
            var batch = problems.AsSpan(start, Math.Min(PromptsPerBatch, problems.Length - start)).ToArray();
            var rendered = batch.Select(p => Render(formatter, tokenizer, p.Prompt)).ToArray();
            var completions = sampler.Sample([.. rendered.Select(r => r.Tokens)], 1, maxNewTokens, sampling, (ulong)seed + (ulong)start);
            foreach (var c in completions)
            {
                var problem = batch[c.PromptIndex];
                // The trace states the reasoning's opening tag even when the prompt held it, so it reads as a whole reply.
                string completion = rendered[c.PromptIndex].OpensThinking ? R1ChatFormat.ThinkOpen + "\n" + c.Text : c.Text;
                bool correct = verify?.Invoke(problem, completion, c.Finish) ?? IsCorrect(task, problem, completion, c.Finish);
                if (!correct && !keepIncorrect) continue;
                writer.WriteLine(JsonSerializer.Serialize(new TraceLine(problem.Prompt, completion, correct), Json));
                written++;
            }
        }
        return written;
    }

    /// <summary>
    /// The default verifier: the reply ended by itself (not cut at the token limit), has the R1 form and the task accepts
    /// its answer. <paramref name="completion"/> opens with <c>&lt;think&gt;</c> as the traces store it.
    /// </summary>
    internal static bool IsCorrect(IReasoningTask task, Problem problem, string completion, string finish)
    {
        if (finish != Completion.Stop) return false;
        if (!CompletionFormat.TryParse(completion, promptOpensThinking: false, out _, out _)) return false;
        string answer = ReasoningParser.Split(completion, startsInReasoning: false).Content;
        return answer.Length > 0 && task.Verify(problem, answer);
    }

    private static (int[] Tokens, bool OpensThinking) Render(ChatPromptFormatter? formatter, SeekSharp.Tokenization.Tokenizer tokenizer, string user)
    {
        if (formatter is null) return (R1Prompt.Encode(tokenizer, user), true);
        string text = formatter.Render([new ChatMessage("user", user)], addGenerationPrompt: true);
        return (formatter.Tokenize(text), ReasoningParser.PromptOpensReasoning(text, ReasoningFormat.ThinkTags));
    }
}

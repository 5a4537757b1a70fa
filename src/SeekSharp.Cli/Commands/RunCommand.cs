using System.CommandLine;
using System.Diagnostics;
using System.Text;
using SeekSharp.Chat;
using SeekSharp.Inference;
using SeekSharp.Inference.Sampling;
using SeekSharp.Models;
using SeekSharp.Serving;

namespace SeekSharp.Cli.Commands;

/// <summary><c>seek run</c>: a raw completion of a prompt (no chat template), streamed.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var text = new Common.TextFlags("Prompt text (- reads standard input)", "File whose text is the prompt (UTF-8)");
        var n = new Option<int>("--n-predict", "-n") { Description = "Tokens to generate", DefaultValueFactory = _ => 128 };
        var sampling = new Common.SamplingFlags();
        var ctx = Common.ContextOption();
        var json = Common.JsonOption();
        var chat = new Option<bool>("--chat") { Description = "Treat the prompt as one user message and use the model's chat template; reasoning is split from the answer" };
        var system = new Option<string?>("--system") { Description = "System prompt (with --chat)" };
        var template = Common.TemplateFileOption();
        var vars = Common.VarOption();
        var schema = new Option<string?>("--json-schema", "-j") { Description = "Answer in JSON of this JSON Schema (structured output; \"{}\" for any JSON object), as llama.cpp's -j" };
        var schemaFile = new Option<string?>("--json-schema-file") { Description = "Answer in JSON of the JSON Schema in this file" };
        var command = new Command("run", "Complete a prompt with the model (raw text; with --chat, one chat turn)") { text.Prompt, text.File, n };
        sampling.AddTo(command);
        foreach (var o in new Option[] { ctx, json, chat, system, template, vars, schema, schemaFile }) command.Options.Add(o);
        var model = DefaultModel.AddTo(command);
        command.SetAction(r => Common.Guard(() =>
        {
            var options = sampling.Read(r);
            int maxTokens = r.GetValue(n);
            if (maxTokens < 0) throw new ArgumentException($"--n-predict must be 0 or more, got {maxTokens}");
            Common.CheckContextLength(r.GetValue(ctx));
            var answerJson = ReadSchema(r.GetValue(schema), r.GetValue(schemaFile));
            string path = DefaultModel.Resolve(r, model);
            string input = text.Read(r);
            if (r.GetValue(chat))
            {
                // Sampling flags the user did not give follow the model's advised defaults (DeepSeek's for R1).
                return RunChat(path, input, r.GetValue(system), r.GetValue(template),
                    Common.ParseVars(r.GetValue(vars)), Common.IsGiven(r, n) ? Common.CheckMaxTokens(maxTokens, "--n-predict") : null, sampling.Overrides(r),
                    r.GetValue(ctx), r.GetValue(json), answerJson);
            }
            return Run(path, input, maxTokens, options, r.GetValue(ctx), r.GetValue(json), answerJson);
        }));
        return command;
    }

    // --json-schema TEXT or --json-schema-file FILE: the grammar of the answer; "{}" (the schema of anything) means any
    // JSON object, as llama.cpp's -j '{}' gives.
    private static JsonGrammar? ReadSchema(string? text, string? file)
    {
        if (text is not null && file is not null) throw new ArgumentException("give at most one of --json-schema and --json-schema-file");
        string? schema = file is not null ? Common.ReadTextFile(file) : text;
        if (schema is null) return null;
        string where = file is not null ? $"--json-schema-file {file}" : "--json-schema";
        try
        {
            return schema.Trim() == "{}" ? JsonGrammar.AnyObject() : JsonGrammar.FromSchema(schema);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{where}: {e.Message}");
        }
    }

    private static int RunChat(string path, string prompt, string? system, string? templateFile, Dictionary<string, object?> vars,
                               int? maxTokens, Func<SamplingOptions, SamplingOptions> sampling, int ctx, bool json, JsonGrammar? answerJson)
    {
        using var model = Model.Load(path);
        using var session = new ChatSession(model, Common.CheckContext(model, ctx), Common.ReadTemplateFile(templateFile));
        var messages = new List<ChatMessage>();
        if (system is not null) messages.Add(ChatMessage.System(system));
        messages.Add(ChatMessage.User(prompt));
        var options = new ChatGenerationOptions { Sampling = sampling(session.DefaultSampling), MaxTokens = maxTokens, TemplateVariables = vars, AnswerJson = answerJson };

        if (json)
        {
            var reply = session.CompleteAsync(messages, options).GetAwaiter().GetResult();
            Common.WriteJson(new
            {
                reasoning_content = reply.Reasoning,
                content = reply.Content,
                finish_reason = reply.FinishReason == FinishReason.Length ? "length" : "stop",
                usage = new
                {
                    prompt_tokens = reply.Usage.PromptTokens,
                    completion_tokens = reply.Usage.CompletionTokens,
                    total_tokens = reply.Usage.TotalTokens,
                    prompt_tokens_details = new { cached_tokens = reply.Usage.CachedPromptTokens },
                    completion_tokens_details = new { reasoning_tokens = reply.Usage.ReasoningTokens },
                },
            });
            return 0;
        }
        // Plain text: the thinking (between the tags the model used) and then the answer, as they stream.
        ChatUpdateKind? previous = null;
        ChatUpdate? final = null;
        var stream = session.StreamAsync(messages, options).GetAsyncEnumerator();
        while (stream.MoveNextAsync().AsTask().GetAwaiter().GetResult())
        {
            var u = stream.Current;
            if (u.Kind == ChatUpdateKind.Final) { final = u; break; }
            if (u.Kind == ChatUpdateKind.Reasoning && previous is null) Console.Out.Write("<think>\n");
            if (u.Kind == ChatUpdateKind.Content && previous == ChatUpdateKind.Reasoning) Console.Out.Write("\n</think>\n\n");
            Console.Out.Write(u.Text);
            Console.Out.Flush();
            previous = u.Kind;
        }
        if (previous == ChatUpdateKind.Reasoning) Console.Out.Write("\n</think>");
        Console.Out.WriteLine();
        var usage = final!.Usage!;
        Console.Error.WriteLine($"seek: {usage.PromptTokens} prompt tokens, {usage.CompletionTokens} generated ({usage.ReasoningTokens} thinking) at {final.Timings!.TokensPerSecond(usage.CompletionTokens):F2} tokens/s");
        return 0;
    }

    private static int Run(string path, string prompt, int maxTokens, SamplingOptions options, int ctx, bool json, JsonGrammar? answerJson)
    {
        using var model = Model.Load(path);
        // The engine the server and chat run on, with one sequence: the same sampling, stops and limits.
        using var scheduler = new Scheduler(model, new SchedulerOptions { ContextLength = Common.CheckContext(model, ctx), Parallel = 1, PrefixCaching = false });
        int[] promptTokens = model.Tokenizer.Encode(prompt, addSpecial: true, parseSpecial: true);
        var generated = new List<int>();
        var text = new StringBuilder();
        var clock = Stopwatch.StartNew();
        using var stream = scheduler.Submit(new GenerationRequest { Prompt = promptTokens, Sampling = options, MaxTokens = maxTokens, AnswerJson = answerJson });
        var events = stream.GetAsyncEnumerator();
        while (events.MoveNextAsync().AsTask().GetAwaiter().GetResult())
        {
            var e = events.Current;
            if (e.Kind == GenerationEventKind.Token) generated.Add(e.Token);
            text.Append(e.Content);
            if (!json) { Console.Out.Write(e.Content); Console.Out.Flush(); }
        }
        clock.Stop();

        if (json)
            Common.WriteJson(new { prompt_tokens = promptTokens, tokens = generated, text = text.ToString() });
        else
            Console.Out.WriteLine();
        Console.Error.WriteLine($"seek: {promptTokens.Length} prompt tokens, {generated.Count} generated in {clock.Elapsed.TotalSeconds:F2} s ({generated.Count / Math.Max(clock.Elapsed.TotalSeconds, 1e-9):F2} tokens/s including prompt)");
        return 0;
    }
}

using System.CommandLine;
using System.Globalization;
using System.Text;
using SeekSharp.Chat;
using SeekSharp.Inference;
using SeekSharp.Inference.Sampling;
using SeekSharp.Models;
using Spectre.Console;

namespace SeekSharp.Cli.Commands;

/// <summary><c>seek chat</c>: an interactive terminal chat that shows the model's thinking apart from its answer.</summary>
internal static class ChatCommand
{
    private const string Help = """
        /reset            forget the conversation (keeps the system prompt)
        /save FILE        write the conversation as OpenAI-style JSON
        /load FILE        read a conversation written by /save
        /set NAME VALUE   temp, top-p, top-k, min-p, repeat-penalty, presence-penalty, frequency-penalty, seed, max-tokens
        /help             this list
        /exit             leave (so do Ctrl+D and the end of piped input)
        Ctrl+C stops the current answer.
        """;

    public static Command Create()
    {
        var system = new Option<string?>("--system") { Description = "System prompt (none by default; DeepSeek advises none for R1)" };
        var hide = new Option<bool>("--hide-thinking") { Description = "Do not print the model's reasoning, only how long it thought" };
        var template = Common.TemplateFileOption();
        var ctx = Common.ContextOption();
        var maxTokens = new Option<int?>("--n-predict", "-n") { Description = "Most tokens per answer, thinking included (default: until the context is full)" };
        var vars = Common.VarOption();
        var sampling = new Common.SamplingFlags();
        var command = new Command("chat", "Chat with a model in the terminal using its own chat template") { system, hide, template, ctx, maxTokens, vars };
        sampling.AddTo(command);
        var model = DefaultModel.AddTo(command);
        command.SetAction(r => Common.Guard(() =>
        {
            int? limit = Common.CheckMaxTokens(r.GetValue(maxTokens), "--n-predict");
            Common.CheckContextLength(r.GetValue(ctx));
            // Flags the user did not give follow the model's advised defaults (DeepSeek's for R1), as in run --chat; /set changes them later.
            var overrides = sampling.Overrides(r);
            return Run(DefaultModel.Resolve(r, model), r.GetValue(system), r.GetValue(hide),
                r.GetValue(template), r.GetValue(ctx), limit, Common.ParseVars(r.GetValue(vars)), overrides);
        }));
        return command;
    }

    private static int Run(string path, string? system, bool hideThinking, string? templateFile, int ctx, int? maxTokens,
                           Dictionary<string, object?> vars, Func<SamplingOptions, SamplingOptions> sampling)
    {
        using var model = Model.Load(path);
        using var session = new ChatSession(model, Common.CheckContext(model, ctx), Common.ReadTemplateFile(templateFile));
        var options = new ChatGenerationOptions { Sampling = sampling(session.DefaultSampling), MaxTokens = maxTokens, TemplateVariables = vars };
        var messages = new List<ChatMessage>();
        if (system is not null) messages.Add(ChatMessage.System(system));

        bool interactive = !Console.IsInputRedirected;
        var console = AnsiConsole.Console;
        Console.Error.WriteLine($"seek: chatting with {Path.GetFileName(path)} ({model.Config.Architecture}, context {session.ContextLength}); /help for commands");

        CancellationTokenSource? turn = null;
        Console.CancelKeyPress += (_, e) =>
        {
            var current = turn;
            if (current is null) return; // at the prompt Ctrl+C leaves, as in any shell program
            e.Cancel = true;
            current.Cancel();
        };

        while (true)
        {
            if (interactive) console.Markup("[bold]> [/]");
            string? line = Console.ReadLine();
            if (line is null) break;
            line = line.Trim();
            if (line.Length == 0) continue;
            if (line.StartsWith('/'))
            {
                if (!HandleCommand(line, messages, system, session, ref options, console)) break;
                continue;
            }

            messages.Add(ChatMessage.User(line));
            turn = new CancellationTokenSource();
            try
            {
                var reply = Stream(session, messages, options, hideThinking, console, turn.Token);
                messages.Add(ChatMessage.Assistant(reply.Content, reply.Reasoning));
            }
            catch (Exception e) when (Common.IsUserError(e))
            {
                // The turn fails, the chat goes on (a bug still reaches Common.Guard and ends the program).
                messages.RemoveAt(messages.Count - 1);
                Common.ReportError(e);
            }
            finally
            {
                turn.Dispose();
                turn = null;
            }
        }
        return 0;
    }

    private static ChatReply Stream(ChatSession session, List<ChatMessage> messages, ChatGenerationOptions options, bool hideThinking,
                                    IAnsiConsole console, CancellationToken cancel)
    {
        var reasoning = new StringBuilder();
        var content = new StringBuilder();
        System.Diagnostics.Stopwatch? thinkingClock = null; // runs from the first reasoning delta to the first answer delta
        ChatUpdate? final = null;
        var stream = session.StreamAsync(messages, options, cancel).GetAsyncEnumerator(CancellationToken.None);
        try
        {
            while (stream.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            {
                var u = stream.Current;
                switch (u.Kind)
                {
                    case ChatUpdateKind.Reasoning:
                        if (thinkingClock is null)
                        {
                            thinkingClock = System.Diagnostics.Stopwatch.StartNew();
                            console.Markup(hideThinking ? "[dim]Thinking…[/]" : "[dim]Thinking:[/]\n");
                        }
                        reasoning.Append(u.Text);
                        if (!hideThinking) console.Markup($"[dim]{Markup.Escape(u.Text)}[/]");
                        break;
                    case ChatUpdateKind.Content:
                        if (thinkingClock is { IsRunning: true }) EndThinking(console, thinkingClock);
                        content.Append(u.Text);
                        console.Write(u.Text);
                        break;
                    default:
                        final = u;
                        break;
                }
            }
        }
        finally
        {
            stream.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        if (thinkingClock is { IsRunning: true }) EndThinking(console, thinkingClock);
        if (final!.FinishReason == FinishReason.Cancelled) console.Markup("[dim] [[stopped]][/]");
        console.WriteLine();
        var usage = final.Usage!;
        console.MarkupLine($"[dim]{usage.CompletionTokens} tokens ({usage.ReasoningTokens} thinking) at {final.Timings!.TokensPerSecond(usage.CompletionTokens):F1} tokens/s; prompt {usage.PromptTokens} tokens, {usage.CachedPromptTokens} reused[/]");
        return new ChatReply(reasoning.Length > 0 ? reasoning.ToString() : null, content.ToString(), final.FinishReason!.Value, usage, final.Timings);
    }

    private static void EndThinking(IAnsiConsole console, System.Diagnostics.Stopwatch clock)
    {
        clock.Stop();
        console.MarkupLine($"\n[dim]Thought for {clock.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} s[/]\n");
    }

    // Returns false to leave the chat.
    private static bool HandleCommand(string line, List<ChatMessage> messages, string? system, ChatSession session,
                                      ref ChatGenerationOptions options, IAnsiConsole console)
    {
        string[] parts = line.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        try
        {
            switch (parts[0])
            {
                case "/exit" or "/quit":
                    return false;
                case "/help":
                    console.WriteLine(Help);
                    break;
                case "/reset":
                    messages.Clear();
                    if (system is not null) messages.Add(ChatMessage.System(system));
                    session.Reset();
                    console.MarkupLine("[dim]conversation cleared[/]");
                    break;
                case "/save" when parts.Length >= 2:
                    // No byte order mark: Python's json.load and other strict readers refuse one.
                    File.WriteAllText(parts[1], ChatMessageJson.Write(messages), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
                    console.MarkupLine($"[dim]saved {messages.Count} messages to {Markup.Escape(parts[1])}[/]");
                    break;
                case "/load" when parts.Length >= 2:
                    var loaded = ChatMessageJson.Parse(Common.ReadTextFile(parts[1]), parts[1]);
                    messages.Clear();
                    messages.AddRange(loaded);
                    console.MarkupLine($"[dim]loaded {loaded.Count} messages from {Markup.Escape(parts[1])}[/]");
                    break;
                case "/set" when parts.Length == 3:
                    options = Set(options, parts[1], parts[2]);
                    console.MarkupLine($"[dim]{Markup.Escape(parts[1])} = {Markup.Escape(parts[2])}[/]");
                    break;
                default:
                    console.MarkupLine($"[red]unknown or incomplete command[/] {Markup.Escape(line)}; /help lists them");
                    break;
            }
        }
        catch (Exception e) when (Common.IsUserError(e))
        {
            Common.ReportError(e);
        }
        return true;
    }

    /// <summary>Applies <c>/set NAME VALUE</c>, checked as the command-line flags are; errors name the setting and the value.</summary>
    internal static ChatGenerationOptions Set(ChatGenerationOptions o, string name, string value)
    {
        float F() => float.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out float f) ? f
            : throw new ArgumentException($"/set {name} expects a number, got '{value}'");
        int I() => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) ? i
            : throw new ArgumentException($"/set {name} expects a whole number, got '{value}'");
        SamplingOptions s = o.Sampling;
        var result = name switch
        {
            "temp" or "temperature" => o with { Sampling = s with { Temperature = F() } },
            "top-p" => o with { Sampling = s with { TopP = F() } },
            "top-k" => o with { Sampling = s with { TopK = I() } },
            "min-p" => o with { Sampling = s with { MinP = F() } },
            "repeat-penalty" => o with { Sampling = s with { RepeatPenalty = F() } },
            "presence-penalty" => o with { Sampling = s with { PresencePenalty = F() } },
            "frequency-penalty" => o with { Sampling = s with { FrequencyPenalty = F() } },
            "seed" => o with { Sampling = s with { Seed = I() } },
            "max-tokens" => o with { MaxTokens = Common.CheckMaxTokens(I(), "/set max-tokens") },
            _ => throw new ArgumentException($"unknown setting '{name}'; settings: temp, top-p, top-k, min-p, repeat-penalty, presence-penalty, frequency-penalty, seed, max-tokens"),
        };
        // Only the setting just changed can be out of range (the others were checked when set), so name it as typed.
        Common.CheckSampling(result.Sampling, _ => "/set " + name);
        return result;
    }
}

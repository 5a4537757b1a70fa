using SeekSharp.Chat.Reasoning;
using SeekSharp.Inference;
using SeekSharp.Inference.Sampling;
using SeekSharp.Models;
using SeekSharp.Serving;

namespace SeekSharp.Chat;

/// <summary>
/// A model with its chat template: renders conversations into generation requests. One place for what every chat
/// front end needs (<see cref="ChatSession"/>, <see cref="LocalChatClient"/>, the server): the template, whether the
/// model reasons, its advised sampling defaults, and fitting a conversation into the context.
/// </summary>
public sealed class ChatModel
{
    /// <summary>Reads <paramref name="model"/>'s <c>tokenizer.chat_template</c>, or uses <paramref name="templateOverride"/>.</summary>
    /// <exception cref="ModelLoadException">The model has no chat template and none was given.</exception>
    public ChatModel(Model model, string? templateOverride = null)
    {
        Model = model;
        string template = templateOverride ?? model.File.GetStringOrNull("tokenizer.chat_template")
            ?? throw new ModelLoadException(model.File.Path, "the model has no chat template (tokenizer.chat_template); give one with --template FILE");
        Formatter = new ChatPromptFormatter(template, model.Tokenizer);
        Name = model.File.GetStringOrNull("general.name") ?? Path.GetFileNameWithoutExtension(model.File.Path);
    }

    /// <summary>The model.</summary>
    public Model Model { get; }
    /// <summary>Renders and tokenizes prompts.</summary>
    public ChatPromptFormatter Formatter { get; }
    /// <summary>The model's name (general.name, else the file name without extension).</summary>
    public string Name { get; }

    /// <summary>How the model marks its thinking.</summary>
    public ReasoningFormat ReasoningFormat => Formatter.Reasons ? ReasoningFormat.ThinkTags : ReasoningFormat.None;

    /// <summary>
    /// True when the model is a DeepSeek-R1 (or R1 distill), by its name or template; DeepSeek advises temperature 0.6,
    /// top-p 0.95 and no system prompt for these.
    /// </summary>
    public bool IsR1 =>
        (Model.File.GetStringOrNull("general.name") ?? Path.GetFileName(Model.File.Path)).Contains("R1", StringComparison.OrdinalIgnoreCase)
        || Formatter.TemplateSource.Contains("<｜Assistant｜><think>", StringComparison.Ordinal);

    /// <summary>Sampling defaults for this model: DeepSeek's advice for R1, llama.cpp's otherwise.</summary>
    public SamplingOptions DefaultSampling => IsR1 ? new SamplingOptions { Temperature = 0.6f, TopP = 0.95f } : new SamplingOptions();

    /// <summary>
    /// Renders <paramref name="messages"/> with the generation prompt and makes the request that answers them, leaving
    /// room for at least one generated token in <paramref name="contextLength"/> positions (dropping the oldest turns
    /// when <paramref name="options"/> allow it).
    /// </summary>
    /// <exception cref="ContextOverflowException">The conversation does not fit and may not be shortened.</exception>
    public PreparedChat Prepare(IReadOnlyList<ChatMessage> messages, ChatGenerationOptions options, int contextLength)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(options);
        var kept = messages.ToList();
        while (true)
        {
            string prompt = Formatter.Render(kept, addGenerationPrompt: true, options.ToolsJson, options.TemplateVariables);
            int[] tokens = Formatter.Tokenize(prompt);
            if (tokens.Length < contextLength)
            {
                var format = ReasoningFormat;
                return new PreparedChat(prompt, new GenerationRequest
                {
                    Prompt = tokens,
                    Sampling = options.Sampling,
                    MaxTokens = options.MaxTokens,
                    StopSequences = options.StopSequences,
                    Reasoning = format,
                    PromptOpensReasoning = ReasoningParser.PromptOpensReasoning(prompt, format),
                    AnswerJson = options.AnswerJson,
                });
            }
            int oldest = kept.FindIndex(m => m.Role != "system");
            bool canDrop = options.Overflow == ContextOverflowPolicy.DropOldestTurns && oldest >= 0 && kept.Count(m => m.Role != "system") > 1;
            if (!canDrop) throw new ContextOverflowException(tokens.Length + 1, contextLength);
            kept.RemoveAt(oldest);
            // A tool result or assistant turn cannot open a conversation: drop up to the next user message.
            while (oldest < kept.Count - 1 && kept[oldest].Role is "assistant" or "tool") kept.RemoveAt(oldest);
        }
    }
}

/// <summary>A rendered conversation: the prompt text and the request that continues it.</summary>
public sealed record PreparedChat(string Prompt, GenerationRequest Request);

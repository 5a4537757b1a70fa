using System.Text;
using SeekSharp.Chat.Templates;
using SeekSharp.Tokenization;

namespace SeekSharp.Chat;

/// <summary>
/// Renders a conversation into the prompt text the model was trained on, with the model's own Jinja chat template,
/// passing the variables Hugging Face's apply_chat_template passes (messages, tools, add_generation_prompt, bos_token, eos_token).
/// </summary>
public sealed class ChatPromptFormatter
{
    private readonly ChatTemplate _template;

    /// <summary>Creates a formatter for a template source and the tokenizer whose BOS/EOS texts it may print.</summary>
    public ChatPromptFormatter(string templateSource, Tokenizer tokenizer)
    {
        TemplateSource = templateSource;
        _template = ChatTemplate.Parse(templateSource);
        Tokenizer = tokenizer;
        BosText = tokenizer.BosId is int bos ? Encoding.UTF8.GetString(tokenizer.TokenBytes(bos)) : "";
        EosText = tokenizer.EosId is int eos ? Encoding.UTF8.GetString(tokenizer.TokenBytes(eos)) : "";
    }

    /// <summary>The Jinja source.</summary>
    public string TemplateSource { get; }
    /// <summary>The tokenizer prompts are tokenized with.</summary>
    public Tokenizer Tokenizer { get; }
    /// <summary>Text of the BOS token, passed as <c>bos_token</c>.</summary>
    public string BosText { get; }
    /// <summary>Text of the EOS token, passed as <c>eos_token</c>.</summary>
    public string EosText { get; }

    /// <summary>True when the template writes DeepSeek-style &lt;think&gt; reasoning, so output is split into reasoning and answer.</summary>
    public bool Reasons => TemplateSource.Contains("<think>", StringComparison.Ordinal) || TemplateSource.Contains("</think>", StringComparison.Ordinal);

    /// <summary>Renders the prompt text exactly as the template produces it.</summary>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt,
                         IReadOnlyList<string>? toolsJson = null, IReadOnlyDictionary<string, object?>? variables = null)
        => RenderValues(messages.Select(ToTemplateValue).ToList<object?>(), addGenerationPrompt,
                        toolsJson is { Count: > 0 } ? toolsJson.Select(ChatTemplate.FromJson).ToList() : null, variables);

    /// <summary>
    /// Renders messages and tools given as OpenAI-style JSON arrays, passed to the template untouched (so a tool call's
    /// arguments stay a string or an object as written): for inspecting what a template makes of exact input.
    /// </summary>
    public string RenderJson(string messagesJson, bool addGenerationPrompt, string? toolsJson = null,
                             IReadOnlyDictionary<string, object?>? variables = null)
    {
        var messages = ChatTemplate.FromJson(messagesJson) as IReadOnlyList<object?>
            ?? throw new ArgumentException("messages JSON must be an array of message objects");
        IReadOnlyList<object?>? tools = null;
        if (toolsJson is not null)
            tools = ChatTemplate.FromJson(toolsJson) as IReadOnlyList<object?> ?? throw new ArgumentException("tools JSON must be an array of tool objects");
        return RenderValues(messages, addGenerationPrompt, tools, variables);
    }

    private string RenderValues(IReadOnlyList<object?> messages, bool addGenerationPrompt, IReadOnlyList<object?>? tools,
                                IReadOnlyDictionary<string, object?>? variables)
    {
        var vars = new Dictionary<string, object?>
        {
            ["messages"] = messages,
            ["add_generation_prompt"] = addGenerationPrompt,
            ["bos_token"] = BosText,
            ["eos_token"] = EosText,
        };
        vars["tools"] = tools; // always present, null when absent, as transformers' apply_chat_template passes it
        if (variables is not null)
            foreach (var (k, v) in variables) vars[k] = v;
        return _template.Render(vars);
    }

    /// <summary>
    /// Token ids of a rendered prompt. Special-token text is parsed (the template writes it); a BOS the template already
    /// wrote is not added twice, as llama.cpp's server strips it before tokenizing with add_special.
    /// </summary>
    public int[] Tokenize(string prompt)
    {
        if (Tokenizer.AddBos && BosText.Length > 0 && prompt.StartsWith(BosText, StringComparison.Ordinal))
            prompt = prompt[BosText.Length..];
        return Tokenizer.Encode(prompt, addSpecial: true, parseSpecial: true);
    }

    private static Dictionary<string, object?> ToTemplateValue(ChatMessage m)
    {
        var d = new Dictionary<string, object?> { ["role"] = m.Role, ["content"] = m.Content };
        if (m.ReasoningContent is not null) d["reasoning_content"] = m.ReasoningContent;
        if (m.ToolCalls is { Count: > 0 })
            d["tool_calls"] = m.ToolCalls.Select(c => (object?)new Dictionary<string, object?>
            {
                ["id"] = c.Id,
                ["type"] = "function",
                ["function"] = new Dictionary<string, object?> { ["name"] = c.Name, ["arguments"] = c.Arguments },
            }).ToList();
        if (m.ToolCallId is not null) d["tool_call_id"] = m.ToolCallId;
        if (m.Name is not null) d["name"] = m.Name;
        return d;
    }
}

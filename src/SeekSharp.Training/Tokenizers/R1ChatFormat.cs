// The template text is the ChatTemplate constant below; the engine's parsed template type gets another name here.
using JinjaTemplate = SeekSharp.Chat.Templates.ChatTemplate;

namespace SeekSharp.Training.Tokenizers;

/// <summary>
/// DeepSeek-R1's chat format: its added tokens (spelled as in R1's tokenizer.json, with U+FF5C "｜" and U+2581 "▁")
/// and a chat template written for SeekSharp that renders conversations the way R1's template does.
/// </summary>
public static class R1ChatFormat
{
    /// <summary>Beginning of sequence; added in front of every prompt.</summary>
    public const string Bos = "<\uFF5Cbegin\u2581of\u2581sentence\uFF5C>";

    /// <summary>End of sequence; closes every assistant turn and ends generation.</summary>
    public const string Eos = "<\uFF5Cend\u2581of\u2581sentence\uFF5C>";

    /// <summary>Opens a user turn.</summary>
    public const string User = "<\uFF5CUser\uFF5C>";

    /// <summary>Opens an assistant turn.</summary>
    public const string Assistant = "<\uFF5CAssistant\uFF5C>";

    /// <summary>Opens the reasoning part of an assistant turn.</summary>
    public const string ThinkOpen = "<think>";

    /// <summary>Closes the reasoning part; the answer follows.</summary>
    public const string ThinkClose = "</think>";

    /// <summary>
    /// The added tokens in id order. As in R1's tokenizer.json, only BOS and EOS are marked special; the role and think
    /// tokens are plain added tokens. GGUF conversion (and our loaders) still type the role tokens CONTROL because they
    /// are spelled like control tokens (<c>&lt;｜…｜&gt;</c>), while <c>&lt;think&gt;</c> stays USER_DEFINED, visible text.
    /// </summary>
    public static IReadOnlyList<AddedToken> AddedTokens { get; } =
    [
        new(Bos, Special: true),
        new(Eos, Special: true),
        new(User, Special: false),
        new(Assistant, Special: false),
        new(ThinkOpen, Special: false),
        new(ThinkClose, Special: false),
    ];

    /// <summary>
    /// The chat template (Jinja): BOS, the first message's text when it is a system message, then
    /// <c>&lt;｜User｜&gt;text</c> and <c>&lt;｜Assistant｜&gt;text&lt;｜end▁of▁sentence｜&gt;</c> turns. History
    /// assistant turns keep only what follows their last <c>&lt;/think&gt;</c> (R1 does not feed old reasoning back),
    /// and the generation prompt is <c>&lt;｜Assistant｜&gt;&lt;think&gt;\n</c>, so the model starts inside its reasoning.
    /// </summary>
    public const string ChatTemplate =
        "{{- bos_token -}}\n" +
        "{%- if messages and messages[0]['role'] == 'system' -%}{{- messages[0]['content'] -}}{%- endif -%}\n" +
        "{%- for message in messages -%}\n" +
        "{%- if message['role'] == 'user' -%}\n" +
        "{{- '" + User + "' + message['content'] -}}\n" +
        "{%- elif message['role'] == 'assistant' -%}\n" +
        "{%- set answer = message['content'] -%}\n" +
        "{%- if '" + ThinkClose + "' in answer -%}{%- set answer = answer.split('" + ThinkClose + "')[-1].lstrip() -%}{%- endif -%}\n" +
        "{{- '" + Assistant + "' + answer + '" + Eos + "' -}}\n" +
        "{%- endif -%}\n" +
        "{%- endfor -%}\n" +
        "{%- if add_generation_prompt -%}{{- '" + Assistant + ThinkOpen + "\\n' -}}{%- endif -%}\n";

    static readonly Lazy<JinjaTemplate> Parsed = new(() => JinjaTemplate.Parse(ChatTemplate));

    /// <summary>
    /// A single-turn prompt rendered with <see cref="ChatTemplate"/> and the generation prompt:
    /// <c>BOS [system] &lt;｜User｜&gt;text &lt;｜Assistant｜&gt;&lt;think&gt;\n</c>. Training text for one example is this
    /// prompt, the completion (reasoning, <c>&lt;/think&gt;</c>, answer) and <see cref="Eos"/>; SFT puts the loss on
    /// the completion and EOS only.
    /// </summary>
    public static string RenderPrompt(string userText, string? systemText = null) => RenderConversation([], userText, systemText);

    /// <summary>
    /// A conversation rendered with <see cref="ChatTemplate"/> and the generation prompt, as <c>seek chat</c> renders it
    /// before the model answers <paramref name="userText"/>: the earlier turns <paramref name="history"/> (each a user
    /// message and the assistant's answer, which the template shows without reasoning), then the new question.
    /// </summary>
    public static string RenderConversation(IReadOnlyList<(string User, string Answer)> history, string userText, string? systemText = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(userText);
        var messages = new List<object?>();
        if (systemText is not null) messages.Add(Message("system", systemText));
        foreach (var (user, answer) in history)
        {
            messages.Add(Message("user", user));
            messages.Add(Message("assistant", answer));
        }
        messages.Add(Message("user", userText));
        return Parsed.Value.Render(messages, addGenerationPrompt: true, bosToken: Bos, eosToken: Eos);
    }

    static Dictionary<string, object?> Message(string role, string content) => new() { ["role"] = role, ["content"] = content };
}

using SeekSharp.Chat.Templates;
using SeekSharp.Training.Tokenizers;

namespace SeekSharp.Training.Recipes.Grpo;

/// <summary>
/// A single-turn user prompt rendered through <see cref="R1ChatFormat.ChatTemplate"/> with the generation prompt, so
/// it ends inside <c>&lt;think&gt;\n</c> and the sampled completion is reasoning, <c>&lt;/think&gt;</c>, answer.
/// </summary>
internal static class R1Prompt
{
    private static readonly Lazy<ChatTemplate> Template = new(() => ChatTemplate.Parse(R1ChatFormat.ChatTemplate));

    /// <summary>BOS, <c>&lt;｜User｜&gt;</c> text, <c>&lt;｜Assistant｜&gt;&lt;think&gt;\n</c>.</summary>
    public static string Render(string userText)
    {
        ArgumentNullException.ThrowIfNull(userText);
        object?[] messages = [new Dictionary<string, object?> { ["role"] = "user", ["content"] = userText }];
        return Template.Value.Render(messages, addGenerationPrompt: true, bosToken: R1ChatFormat.Bos, eosToken: R1ChatFormat.Eos);
    }

    /// <summary>
    /// The rendered prompt as token ids: special tokens are parsed from the text (it already holds BOS), none is added.
    /// </summary>
    public static int[] Encode(SeekSharp.Tokenization.Tokenizer tokenizer, string userText) =>
        tokenizer.Encode(Render(userText), addSpecial: false, parseSpecial: true);
}

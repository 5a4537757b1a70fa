using SeekSharp.Tokenization;

namespace SeekSharp.Training.Data;

/// <summary>Turns chat examples (earlier turns, user text, assistant completion) into <see cref="TokenizedExample"/>s
/// with one tokenizer.</summary>
/// <remarks>
/// Prompt and assistant text are encoded separately, as at inference time the prompt is encoded alone and the model's
/// tokens are appended one by one: a BPE merge across the boundary would give training ids the model never sees.
/// Control tokens written in the text (BOS, roles, EOS) are parsed as single ids; BOS comes from the text, so the
/// tokenizer is told not to add its own.
/// </remarks>
internal sealed class ExampleEncoder
{
    readonly Tokenizer tokenizer;

    public ExampleEncoder(Tokenizer tokenizer, string? system = null)
    {
        this.tokenizer = tokenizer;
        System = system;
    }

    /// <summary>System text placed before the user turn (none by default).</summary>
    public string? System { get; }

    /// <summary>The whole example: prompt ids, then the completion's ids and EOS.</summary>
    public TokenizedExample Encode(string user, string completion) => Encode(new ChatExample(user, completion));

    /// <summary>The whole example: the conversation's prompt ids (earlier turns rendered by R1's chat template, as
    /// <c>seek chat</c> renders history; the whole prompt encoded at once, as at inference), then the completion's ids
    /// and EOS.</summary>
    public TokenizedExample Encode(ChatExample example)
    {
        ArgumentNullException.ThrowIfNull(example);
        int[] prompt = tokenizer.Encode(Tokenizers.R1ChatFormat.RenderConversation(example.History, example.User, System),
            addSpecial: false, parseSpecial: true);
        int[] answer = tokenizer.Encode(R1ChatText.AssistantTurn(example.Completion), addSpecial: false, parseSpecial: true);
        return new TokenizedExample([.. prompt, .. answer], prompt.Length);
    }
}

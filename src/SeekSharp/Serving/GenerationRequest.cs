using SeekSharp.Chat;
using SeekSharp.Chat.Reasoning;
using SeekSharp.Inference.Sampling;

namespace SeekSharp.Serving;

/// <summary>One completion to generate: a tokenized prompt and how to continue it.</summary>
public sealed record GenerationRequest
{
    /// <summary>The prompt's tokens (the rendered chat template, or raw text), at least one.</summary>
    public required int[] Prompt { get; init; }
    /// <summary>Sampling settings; <see cref="SamplingOptions.Greedy"/> for temperature 0.</summary>
    public SamplingOptions Sampling { get; init; } = new();
    /// <summary>Most tokens to generate, reasoning included; null: until the context is full.</summary>
    public int? MaxTokens { get; init; }
    /// <summary>Texts that end the answer when generated (not included in it).</summary>
    public IReadOnlyList<string> StopSequences { get; init; } = [];
    /// <summary>How the model marks thinking; <see cref="ReasoningFormat.None"/> puts everything in the answer.</summary>
    public ReasoningFormat Reasoning { get; init; } = ReasoningFormat.None;
    /// <summary>True when the prompt already opened thinking (see <see cref="ReasoningParser.PromptOpensReasoning"/>).</summary>
    public bool PromptOpensReasoning { get; init; }
    /// <summary>-1: no log-probabilities; 0: the chosen token's; N: also the N most likely alternatives (at most 20).</summary>
    public int TopLogprobs { get; init; } = -1;
    /// <summary>Added to a token's logit before sampling (OpenAI's logit_bias: -100 bans, 100 forces).</summary>
    public IReadOnlyDictionary<int, float>? LogitBias { get; init; }
    /// <summary>Keep generating past end-of-generation tokens (benchmarks: vLLM's ignore_eos).</summary>
    public bool IgnoreEos { get; init; }
    /// <summary>When set, the answer (after any thinking, which stays free) is JSON of this grammar: tokens that would
    /// leave it are never sampled, and the generation ends once the JSON is whole (structured output).</summary>
    public JsonGrammar? AnswerJson { get; init; }
}

/// <summary>What a generation stream delivers: one <see cref="Token"/> event per generated token, then one <see cref="Final"/>.</summary>
public enum GenerationEventKind
{
    /// <summary>A generated token, with the text it released (possibly none: text that may still be a tag or a stop sequence is held).</summary>
    Token,
    /// <summary>The end: the text still held, finish reason, usage and timings.</summary>
    Final,
}

/// <summary>A token and its log-probability.</summary>
public readonly record struct TokenLogprob(int Token, float Logprob);

/// <summary>Token counts of one generation, as the OpenAI / DeepSeek APIs report them.</summary>
/// <param name="PromptTokens">Tokens of the prompt.</param>
/// <param name="CachedTokens">Of those, tokens whose keys and values were reused from the prefix cache.</param>
/// <param name="CompletionTokens">Tokens generated (reasoning included).</param>
/// <param name="ReasoningTokens">Of those, tokens generated while thinking.</param>
public sealed record GenerationUsage(int PromptTokens, int CachedTokens, int CompletionTokens, int ReasoningTokens)
{
    /// <summary>Prompt plus completion.</summary>
    public int TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>Times of one generation, measured by the scheduler.</summary>
/// <param name="Queued">From submission to admission into the running batch.</param>
/// <param name="PromptEvaluation">From admission until the prompt's last chunk was evaluated (its logits ready).</param>
/// <param name="Generation">From the first generated token to the last.</param>
/// <param name="Reasoning">Of the generation, the time spent thinking.</param>
/// <param name="TimeToFirstToken">From submission to the first generated token.</param>
public sealed record GenerationTimings(TimeSpan Queued, TimeSpan PromptEvaluation, TimeSpan Generation, TimeSpan Reasoning, TimeSpan TimeToFirstToken);

/// <summary>One event of a generation stream.</summary>
public sealed record GenerationEvent(GenerationEventKind Kind)
{
    /// <summary>The generated token (<see cref="GenerationEventKind.Token"/>).</summary>
    public int Token { get; init; } = -1;
    /// <summary>Its log-probability under the model (raw logits, before penalties and temperature), when asked for.</summary>
    public float Logprob { get; init; }
    /// <summary>The most likely tokens at this step, best first, when asked for.</summary>
    public IReadOnlyList<TokenLogprob>? TopLogprobs { get; init; }
    /// <summary>Thinking text released at this event.</summary>
    public string Reasoning { get; init; } = "";
    /// <summary>Answer text released at this event.</summary>
    public string Content { get; init; } = "";
    /// <summary>True when this token was generated while thinking.</summary>
    public bool IsReasoningToken { get; init; }

    /// <summary>Why generation stopped (<see cref="GenerationEventKind.Final"/>).</summary>
    public FinishReason? FinishReason { get; init; }
    /// <summary>Token counts (<see cref="GenerationEventKind.Final"/>).</summary>
    public GenerationUsage? Usage { get; init; }
    /// <summary>Times (<see cref="GenerationEventKind.Final"/>).</summary>
    public GenerationTimings? Timings { get; init; }
}

/// <summary>The scheduler's waiting queue is full; try again later (HTTP 429).</summary>
public sealed class QueueFullException(int waiting)
    : Exception($"the server is busy: {waiting} requests are already waiting; retry later")
{
    /// <summary>Requests waiting when this one was refused.</summary>
    public int Waiting { get; } = waiting;
}

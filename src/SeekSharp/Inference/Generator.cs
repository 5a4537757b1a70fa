using SeekSharp.Inference.Sampling;

namespace SeekSharp.Inference;

/// <summary>Raw completion: evaluates a prompt, then samples and evaluates one token at a time.</summary>
public static class Generator
{
    /// <summary>
    /// Yields up to <paramref name="maxTokens"/> generated tokens for <paramref name="prompt"/> in sequence <paramref name="sequence"/>
    /// (starting from an empty cache), stopping early at an end-of-generation token, which is not yielded.
    /// </summary>
    public static IEnumerable<int> Generate(InferenceContext context, int[] prompt, SamplingOptions options, int maxTokens,
                                            int sequence = 0, CancellationToken cancellationToken = default)
    {
        if (prompt.Length == 0)
            throw new ArgumentException("the prompt has no tokens", nameof(prompt));
        if (prompt.Length > context.ContextLength)
            throw new ContextOverflowException(prompt.Length, context.ContextLength);
        return Run(context, prompt, options, maxTokens, sequence, cancellationToken);
    }

    private static IEnumerable<int> Run(InferenceContext context, int[] prompt, SamplingOptions options, int maxTokens,
                                        int sequence, CancellationToken cancellationToken)
    {
        var model = context.Model;
        var sampler = new Sampler(options, model.Config.VocabSize);
        foreach (int t in prompt) sampler.Accept(t);

        context.Cache.Clear(sequence);
        context.Prefill(prompt, sequence);
        var batch = new Models.Batch(1);
        int position = prompt.Length;
        for (int i = 0; i < maxTokens; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int token = sampler.Sample(context.Logits(0));
            if (model.Tokenizer.IsEndOfGeneration(token)) yield break;
            sampler.Accept(token);
            yield return token;
            if (i + 1 == maxTokens || position >= context.ContextLength) yield break;
            batch.Clear();
            batch.Add(token, position++, sequence, wantLogits: true);
            context.Decode(batch);
        }
    }
}

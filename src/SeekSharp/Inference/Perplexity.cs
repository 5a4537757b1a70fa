using SeekSharp.Models;

namespace SeekSharp.Inference;

/// <summary>Result of a perplexity run.</summary>
/// <param name="Value">exp(mean negative log-likelihood) over the scored tokens.</param>
/// <param name="Chunks">Chunks of <c>ctx</c> tokens evaluated.</param>
/// <param name="TokensScored">Tokens whose likelihood was scored.</param>
public sealed record PerplexityResult(double Value, int Chunks, int TokensScored);

/// <summary>
/// Perplexity exactly as llama.cpp's llama-perplexity measures it, so the figures are comparable:
/// the text is cut into chunks of ctx tokens, each evaluated from an empty cache with its first token replaced
/// by BOS (when the vocabulary adds BOS); only the second half of each chunk is scored, so every scored token
/// has at least ctx/2 tokens of context.
/// </summary>
public static class Perplexity
{
    /// <summary>Scores <paramref name="tokens"/> (already tokenized, with BOS if the model adds it) in chunks of <paramref name="chunkLength"/>.</summary>
    /// <param name="maxChunks">Evaluate at most this many chunks (llama-imatrix's <c>--chunks</c>).</param>
    /// <param name="progress">Told the number of chunks done after each one.</param>
    public static PerplexityResult Compute(InferenceContext context, ReadOnlySpan<int> tokens, int chunkLength, int? bosToken,
                                           int maxChunks = int.MaxValue, IProgress<int>? progress = null)
    {
        if (chunkLength < 2)
            throw new ArgumentOutOfRangeException(nameof(chunkLength), chunkLength, "perplexity needs a context of at least 2 tokens");
        if (chunkLength > context.ContextLength)
            throw new ContextOverflowException(chunkLength, context.ContextLength);
        // llama-perplexity asks for two chunks at least; so do we, so that the same text gives the same figure or the same refusal.
        if (tokens.Length < 2 * chunkLength)
            throw new ArgumentException($"perplexity needs at least 2 × ctx = {2 * chunkLength} tokens but the text has {tokens.Length}; use a longer text or a smaller --ctx", nameof(tokens));
        int chunks = Math.Min(tokens.Length / chunkLength, Math.Max(1, maxChunks));

        int first = chunkLength / 2;
        double nll = 0;
        int scored = 0;
        var batch = new Batch(context.BatchSize);
        for (int c = 0; c < chunks; c++)
        {
            var chunk = tokens.Slice(c * chunkLength, chunkLength);
            context.Cache.Clear(0);
            for (int start = 0; start < chunkLength; start += context.BatchSize)
            {
                batch.Clear();
                int n = Math.Min(context.BatchSize, chunkLength - start);
                for (int j = 0; j < n; j++)
                {
                    int pos = start + j;
                    int token = pos == 0 && bosToken is int bos ? bos : chunk[pos];
                    // Position pos predicts chunk[pos + 1]; llama.cpp scores positions first .. ctx-2.
                    batch.Add(token, pos, 0, wantLogits: pos >= first && pos < chunkLength - 1);
                }
                context.Decode(batch);

                int output = 0;
                for (int j = 0; j < n; j++)
                {
                    int pos = start + j;
                    if (pos < first || pos >= chunkLength - 1) continue;
                    nll -= LogSoftmaxAt(context.Logits(output++), chunk[pos + 1]);
                    scored++;
                }
            }
            progress?.Report(c + 1);
        }
        return new PerplexityResult(Math.Exp(nll / scored), chunks, scored);
    }

    // log p(target) under softmax(logits): exponentials in float, their sum and the log in double, as llama-perplexity does.
    private static double LogSoftmaxAt(ReadOnlySpan<float> logits, int target)
    {
        float max = float.NegativeInfinity;
        foreach (float l in logits) max = MathF.Max(max, l);
        double sum = 0;
        foreach (float l in logits) sum += MathF.Exp(l - max);
        return logits[target] - max - Math.Log(sum);
    }
}

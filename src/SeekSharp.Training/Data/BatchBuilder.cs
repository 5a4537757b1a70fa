namespace SeekSharp.Training.Data;

/// <summary>How examples are laid into rows and which targets carry loss.</summary>
internal enum BatchLayout
{
    /// <summary>Pretraining: whole examples packed end to end into each row (GPT-2 style; a row may hold several),
    /// loss on every real token.</summary>
    PackedAllTokens,

    /// <summary>SFT: one example per row starting at position 0 (as at inference), padded; loss only on predicting
    /// assistant tokens (the completion and its EOS).</summary>
    PaddedCompletionOnly,
}

/// <summary>
/// Fills a <see cref="TokenBatch"/> from tokenized examples. Target at position t is the example's id at t + 1, so a
/// row of T inputs consumes T + 1 ids; padding uses <c>padId</c> with weight 0 (its value never reaches the loss).
/// </summary>
internal static class BatchBuilder
{
    /// <summary>
    /// Fills every row of <paramref name="batch"/> with examples drawn from <paramref name="next"/>. For
    /// <see cref="BatchLayout.PaddedCompletionOnly"/> T shrinks to the longest example of the batch (fewer padded
    /// positions to compute); packed batches always use the full length. Examples longer than T + 1 ids are truncated.
    /// </summary>
    public static void Fill(TokenBatch batch, Func<TokenizedExample> next, BatchLayout layout, int padId)
    {
        if (layout == BatchLayout.PaddedCompletionOnly)
            FillPadded(batch, next, padId);
        else
            FillPacked(batch, next, padId);
    }

    static void FillPadded(TokenBatch batch, Func<TokenizedExample> next, int padId)
    {
        int b = batch.Batch;
        var rows = new TokenizedExample[b];
        int longest = 1;
        for (int r = 0; r < b; r++)
        {
            rows[r] = next();
            longest = Math.Max(longest, rows[r].Length - 1);
        }
        int t = Math.Min(longest, batch.MaxSeqLen);
        batch.SeqLen = t;
        int real = 0, weighted = 0;
        for (int r = 0; r < b; r++)
        {
            var ex = rows[r];
            int n = Math.Min(ex.Length - 1, t); // inputs in this row
            var tokens = batch.Tokens.AsSpan(r * t, t);
            var targets = batch.Targets.AsSpan(r * t, t);
            var weights = batch.Weights.AsSpan(r * t, t);
            for (int i = 0; i < n; i++)
            {
                tokens[i] = ex.Tokens[i];
                targets[i] = ex.Tokens[i + 1];
                // Target i + 1 is an assistant id exactly when i + 1 >= PromptLength.
                weights[i] = i + 1 >= ex.PromptLength ? 1f : 0f;
                if (weights[i] != 0f) weighted++;
            }
            tokens[n..].Fill(padId);
            targets[n..].Fill(padId);
            weights[n..].Clear();
            real += n;
        }
        batch.RealTokens = real;
        batch.WeightedTokens = weighted;
    }

    static void FillPacked(TokenBatch batch, Func<TokenizedExample> next, int padId)
    {
        int t = batch.MaxSeqLen;
        batch.SeqLen = t;
        int real = 0;
        TokenizedExample? carry = null; // an example that did not fit the previous row starts the next one
        for (int r = 0; r < batch.Batch; r++)
        {
            var tokens = batch.Tokens.AsSpan(r * t, t);
            var targets = batch.Targets.AsSpan(r * t, t);
            var weights = batch.Weights.AsSpan(r * t, t);
            var ids = new List<int>(t + 1);
            while (true)
            {
                var ex = carry ?? next();
                carry = null;
                if (ids.Count > 0 && ids.Count + ex.Length > t + 1)
                {
                    carry = ex;
                    break;
                }
                ids.AddRange(ex.Tokens.AsSpan(0, Math.Min(ex.Length, t + 1 - ids.Count)));
                if (ids.Count >= t + 1) break;
            }
            int n = ids.Count - 1;
            for (int i = 0; i < n; i++)
            {
                tokens[i] = ids[i];
                targets[i] = ids[i + 1];
                weights[i] = 1f;
            }
            tokens[n..].Fill(padId);
            targets[n..].Fill(padId);
            weights[n..].Clear();
            real += n;
        }
        batch.RealTokens = real;
        batch.WeightedTokens = real;
    }
}

using SeekSharp.Inference;
using SeekSharp.Inference.Sampling;
using SeekSharp.Kernels;
using SeekSharp.Models;
using SeekSharp.Tokenization;

namespace SeekSharp.Training.Sampling;

/// <summary>
/// Samples several completions of several prompts together, as parallel sequences of one
/// <see cref="InferenceContext"/>: each prompt is evaluated once and its cache forked to its group, then every decode
/// step evaluates the next token of every live sequence in one batch. This is how GRPO draws its groups and how
/// distillation collects teacher traces, at the cost of one forward per step rather than one per sequence.
/// Glossary: P prompts, G completions per prompt, S = P·G sequences, V vocabulary.
/// </summary>
/// <remarks>
/// Deterministic: sequence s = p·G + g draws from its own <see cref="Sampler"/> seeded from (seed, s), so the output
/// depends on the seed and inputs only, not on which other sequences are live. With temperature 0 every completion is
/// the greedy continuation, the same as <see cref="Generator"/> gives for that prompt alone. Not thread-safe.
/// </remarks>
public sealed class CompletionSampler : IDisposable
{
    private readonly SeekSharp.Models.Model _model;
    private readonly Tokenizer _tokenizer;
    private readonly int _threads;
    private InferenceContext? _context; // reused while calls fit its sequences, positions and batch size

    /// <summary>Most prompt tokens evaluated per prefill batch (prompts are packed together, split across batches
    /// when they do not fit); settable so tests can force the split.</summary>
    internal int PrefillBatchLimit { get; init; } = 512;

    /// <summary>
    /// Element type of the KV cache: <see cref="GgmlType.F32"/> (the default) keeps the sampling distribution as close to
    /// the training forward's as the arithmetic allows, which keeps GRPO's importance ratio near 1; <see cref="GgmlType.F16"/>
    /// halves the cache of a large model (a distillation teacher).
    /// </summary>
    public GgmlType KvCacheType { get; init; } = GgmlType.F32;

    /// <summary>Creates a sampler for <paramref name="model"/>.</summary>
    /// <param name="model">The model to sample from; not owned.</param>
    /// <param name="tokenizer">Decodes completions and says which tokens end generation (usually the model's own).</param>
    /// <param name="threads">Threads per decode step, the caller included; 0 shares the process-wide pool.</param>
    public CompletionSampler(SeekSharp.Models.Model model, Tokenizer tokenizer, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        if (tokenizer.VocabSize > model.Config.VocabSize)
            throw new ArgumentException($"the tokenizer has {tokenizer.VocabSize} tokens but the model only {model.Config.VocabSize}; use the model's tokenizer", nameof(tokenizer));
        _model = model;
        _tokenizer = tokenizer;
        _threads = threads;
    }

    /// <summary>
    /// Samples <paramref name="completionsPerPrompt"/> completions of each prompt, each stopping at an end-of-generation
    /// token (not included) or after <paramref name="maxNewTokens"/> tokens. Returns P·G completions ordered by prompt,
    /// then by completion index within the prompt's group.
    /// </summary>
    /// <param name="promptTokens">P prompts as token ids (with BOS when the model expects it), each non-empty.</param>
    /// <param name="completionsPerPrompt">G ≥ 1.</param>
    /// <param name="maxNewTokens">Most tokens generated per completion, ≥ 1.</param>
    /// <param name="sampling">Sampling settings; greedy when the temperature is 0. Its seed is ignored in favour of <paramref name="seed"/>.</param>
    /// <param name="seed">Seed of every draw of this call.</param>
    public IReadOnlyList<Completion> Sample(IReadOnlyList<int[]> promptTokens, int completionsPerPrompt, int maxNewTokens,
                                            SamplingOptions sampling, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(promptTokens);
        ArgumentNullException.ThrowIfNull(sampling);
        ArgumentOutOfRangeException.ThrowIfLessThan(completionsPerPrompt, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxNewTokens, 1);
        int promptCount = promptTokens.Count, group = completionsPerPrompt, sequences = promptCount * group;
        if (promptCount == 0) return [];
        int vocab = _model.Config.VocabSize, longest = 0, promptTotal = 0;
        for (int p = 0; p < promptCount; p++)
        {
            int[] prompt = promptTokens[p] ?? throw new ArgumentException($"prompt {p} is null", nameof(promptTokens));
            if (prompt.Length == 0) throw new ArgumentException($"prompt {p} has no tokens", nameof(promptTokens));
            foreach (int t in prompt)
                if ((uint)t >= (uint)vocab)
                    throw new ArgumentException($"prompt {p} holds token id {t}, outside the vocabulary 0..{vocab - 1}", nameof(promptTokens));
            longest = Math.Max(longest, prompt.Length);
            promptTotal += prompt.Length;
        }
        int positions = longest + maxNewTokens;
        if (positions > _model.Config.ContextLength)
            throw new ContextOverflowException(positions, _model.Config.ContextLength);

        var context = ContextFor(sequences, positions, Math.Min(promptTotal, PrefillBatchLimit));
        for (int s = 0; s < sequences; s++) context.Cache.Clear(s);

        var samplers = new Sampler[sequences];
        for (int s = 0; s < sequences; s++)
        {
            samplers[s] = new Sampler(sampling with { Seed = SequenceSeed(seed, s) }, vocab);
            foreach (int t in promptTokens[s / group]) samplers[s].Accept(t);
        }

        float[] promptLogits = Prefill(context, promptTokens, group, Math.Min(context.BatchSize, PrefillBatchLimit)); // [P, V]

        var generated = new List<int>[sequences];
        var finish = new string?[sequences];
        var row = new int[sequences];      // [S] output row of each live sequence's logits in the last batch, or -1 before the first decode
        var position = new int[sequences]; // [S] next position of each sequence
        for (int s = 0; s < sequences; s++)
        {
            generated[s] = new List<int>(maxNewTokens);
            row[s] = -1;
            position[s] = promptTokens[s / group].Length;
        }

        var batch = new Batch(context.BatchSize);
        int live = sequences;
        while (live > 0)
        {
            batch.Clear();
            for (int s = 0; s < sequences; s++)
            {
                if (finish[s] is not null) continue;
                var logits = row[s] < 0 ? promptLogits.AsSpan(s / group * vocab, vocab) : context.Logits(row[s]);
                int token = samplers[s].Sample(logits);
                if (_tokenizer.IsEndOfGeneration(token))
                {
                    finish[s] = Completion.Stop;
                    live--;
                    continue;
                }
                samplers[s].Accept(token);
                generated[s].Add(token);
                if (generated[s].Count == maxNewTokens)
                {
                    finish[s] = Completion.Length;
                    live--;
                    continue;
                }
                row[s] = batch.OutputCount;
                batch.Add(token, position[s]++, s, wantLogits: true);
            }
            if (batch.Count > 0) context.Decode(batch);
        }

        var completions = new Completion[sequences];
        for (int s = 0; s < sequences; s++)
        {
            int[] tokens = [.. generated[s]];
            completions[s] = new Completion(s / group, tokens, _tokenizer.Decode(tokens), finish[s]!);
        }
        return completions;
    }

    /// <summary>Releases the inference context (its KV cache lives in native memory).</summary>
    public void Dispose()
    {
        _context?.Dispose();
        _context = null;
    }

    // Evaluates each prompt once, in sequence p·G, packing several prompts into each batch, then forks the cache to the
    // rest of the group. Returns the last-position logits of every prompt [P, V]: they seed each group's first draw and
    // would otherwise be overwritten by the next batch.
    private static float[] Prefill(InferenceContext context, IReadOnlyList<int[]> promptTokens, int group, int batchSize)
    {
        int vocab = context.Model.Config.VocabSize, promptCount = promptTokens.Count;
        var logits = new float[promptCount * vocab];
        var batch = new Batch(batchSize);
        var lastInBatch = new List<int>(promptCount); // prompts whose last token is in the current batch, in output order
        for (int p = 0; p < promptCount; p++)
        {
            int[] prompt = promptTokens[p];
            for (int i = 0; i < prompt.Length; i++)
            {
                if (batch.Count == batch.Capacity) Flush(context, batch, lastInBatch, logits, vocab);
                bool last = i == prompt.Length - 1;
                batch.Add(prompt[i], i, p * group, wantLogits: last);
                if (last) lastInBatch.Add(p);
            }
        }
        Flush(context, batch, lastInBatch, logits, vocab);
        for (int p = 0; p < promptCount; p++)
            for (int g = 1; g < group; g++)
                context.Cache.Copy(p * group, p * group + g, promptTokens[p].Length);
        return logits;
    }

    private static void Flush(InferenceContext context, Batch batch, List<int> lastInBatch, float[] logits, int vocab)
    {
        if (batch.Count == 0) return;
        context.Decode(batch);
        for (int o = 0; o < lastInBatch.Count; o++)
            context.Logits(o).CopyTo(logits.AsSpan(lastInBatch[o] * vocab, vocab));
        batch.Clear();
        lastInBatch.Clear();
    }

    private InferenceContext ContextFor(int sequences, int positions, int prefillBatch)
    {
        int batchSize = Math.Max(sequences, prefillBatch);
        if (_context is { } c && c.Cache.Sequences >= sequences && c.ContextLength >= positions && c.BatchSize >= batchSize)
            return c;
        _context?.Dispose();
        _context = null;
        _context = _model.CreateContext(new ContextOptions
        {
            ContextLength = positions, Sequences = sequences, BatchSize = batchSize, Threads = _threads, KvCacheType = KvCacheType,
        });
        return _context;
    }

    // SplitMix64 of (seed, sequence): well-spread, independent-looking seeds for neighbouring sequences.
    internal static int SequenceSeed(ulong seed, int sequence)
    {
        ulong z = seed + 0x9E3779B97F4A7C15UL * (ulong)(sequence + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z & 0x7FFFFFFF);
    }
}

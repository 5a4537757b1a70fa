namespace SeekSharp.Inference.Sampling;

/// <summary>
/// Turns logits into the next token. Keeps its candidate buffers and recent-token window between calls,
/// so choosing a token allocates nothing.
/// </summary>
public sealed class Sampler
{
    private readonly SamplingOptions _options;
    private readonly Random _random;
    private readonly int[] _ids;        // [V] candidate token ids, best first after selection
    private readonly float[] _logits;   // [V] candidate logits, parallel to _ids
    private readonly float[] _probs;    // [V]
    private readonly int[] _recent;     // ring of the last PenaltyLastN accepted tokens
    private readonly Dictionary<int, int> _counts = new();
    private readonly KeyValuePair<int, float>[] _bias; // added to logits before anything else (OpenAI's logit_bias)
    private int _recentCount, _recentNext;

    /// <summary>Creates a sampler for a vocabulary of <paramref name="vocabSize"/> tokens.</summary>
    /// <exception cref="ArgumentException">A setting is out of range (see <see cref="SamplingOptions.Validate"/>).</exception>
    public Sampler(SamplingOptions options, int vocabSize) : this(options, vocabSize, null) { }

    /// <summary>Creates a sampler that first adds <paramref name="logitBias"/>[token] to each listed token's logit.</summary>
    /// <exception cref="ArgumentException">A setting is out of range, or a biased token is outside the vocabulary.</exception>
    public Sampler(SamplingOptions options, int vocabSize, IReadOnlyDictionary<int, float>? logitBias)
    {
        options.Validate();
        _bias = logitBias?.ToArray() ?? [];
        foreach (var (token, bias) in _bias)
        {
            if ((uint)token >= (uint)vocabSize)
                throw new ArgumentException($"logit_bias names token {token}, outside the vocabulary (0..{vocabSize - 1})", nameof(logitBias));
            if (float.IsNaN(bias)) throw new ArgumentException($"logit_bias of token {token} is not a number", nameof(logitBias));
        }
        _options = options;
        _random = new Random(options.Seed);
        _ids = new int[vocabSize];
        _logits = new float[vocabSize];
        _probs = new float[vocabSize];
        _recent = new int[Math.Max(0, options.PenaltyLastN)];
    }

    /// <summary>Records a token that became part of the context (prompt or generated), for the penalties.</summary>
    public void Accept(int token)
    {
        if (_recent.Length == 0) return;
        if (_recentCount == _recent.Length)
        {
            int old = _recent[_recentNext];
            if (--_counts[old] == 0) _counts.Remove(old);
        }
        else _recentCount++;
        _recent[_recentNext] = token;
        _recentNext = (_recentNext + 1) % _recent.Length;
        _counts[token] = _counts.GetValueOrDefault(token) + 1;
    }

    /// <summary>Chooses the next token from <paramref name="logits"/> [V].</summary>
    public int Sample(ReadOnlySpan<float> logits)
    {
        int n = logits.Length;
        // Greedy with nothing to add to the logits is their first maximum: no copy, no candidate list (at eight
        // sequences of a 150k vocabulary these had been about a millisecond of each batched step, on one thread).
        if (_options.IsGreedy && _bias.Length == 0 && !HasPenalties) return Kernels.VectorOps.IndexOfFirstMax(logits);
        CopyBiasedAndPenalized(logits);
        if (_options.IsGreedy) return Kernels.VectorOps.IndexOfFirstMax(_logits.AsSpan(0, n));   // ids are still 0..n-1

        for (int i = 0; i < n; i++) _ids[i] = i;
        return SampleCandidates(n);
    }

    /// <summary>
    /// Chooses the next token from <paramref name="logits"/> [V] among those <paramref name="allowed"/> [V] marks, as
    /// <see cref="Sample(ReadOnlySpan{float})"/> would if the others were impossible (llama.cpp applies a grammar the
    /// same way: bias and penalties, then the grammar, then the sampling chain). At least one token must be allowed.
    /// </summary>
    public int Sample(ReadOnlySpan<float> logits, ReadOnlySpan<bool> allowed)
    {
        if (allowed.Length != logits.Length) throw new ArgumentException($"allowed has {allowed.Length} entries for {logits.Length} logits", nameof(allowed));
        CopyBiasedAndPenalized(logits);
        int n = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            if (!allowed[i]) continue;
            _ids[n] = i;
            _logits[n++] = _logits[i];   // n ≤ i: the allowed ones move to the front in order
        }
        if (n == 0) throw new ArgumentException("no token is allowed", nameof(allowed));
        if (_options.IsGreedy) return _ids[Kernels.VectorOps.IndexOfFirstMax(_logits.AsSpan(0, n))];
        return SampleCandidates(n);
    }

    // _logits = logits with the logit bias added and the penalties applied, indexed by token.
    private void CopyBiasedAndPenalized(ReadOnlySpan<float> logits)
    {
        logits.CopyTo(_logits);
        foreach (var (token, bias) in _bias) _logits[token] += bias;
        ApplyPenalties();
    }

    // The sampling chain over candidates [0, n) of _ids / _logits.
    private int SampleCandidates(int n)
    {
        n = TopK(n, _options.TopK);
        n = TopP(n, _options.TopP);
        n = MinP(n, _options.MinP);
        for (int i = 0; i < n; i++) _logits[i] /= _options.Temperature;
        Softmax(n);
        double r = _random.NextDouble();
        double cumulative = 0;
        for (int i = 0; i < n; i++)
        {
            cumulative += _probs[i];
            if (r < cumulative) return _ids[i];
        }
        return _ids[n - 1];
    }

    // llama.cpp's penalties: repetition divides positive logits and multiplies negative ones (so it always lowers them),
    // then frequency and presence penalties subtract (OpenAI's definition).
    private bool HasPenalties => _options.RepeatPenalty != 1f || _options.FrequencyPenalty != 0f || _options.PresencePenalty != 0f;

    private void ApplyPenalties()
    {
        if (!HasPenalties) return;
        foreach (var (token, count) in _counts)
        {
            if ((uint)token >= (uint)_logits.Length) continue;
            ref float l = ref _logits[token];
            l = l <= 0 ? l * _options.RepeatPenalty : l / _options.RepeatPenalty;
            l -= count * _options.FrequencyPenalty + _options.PresencePenalty;
        }
    }

    // Leaves the best k candidates at the front, sorted best first; k ≤ 0 sorts all.
    private int TopK(int n, int k)
    {
        if (k <= 0 || k > n) k = n;
        if (k < n) SelectBest(0, n - 1, k);
        Array.Sort(_logits, _ids, 0, k, DescendingLogits);
        return k;
    }

    private static readonly Comparer<float> DescendingLogits = Comparer<float>.Create((a, b) => b.CompareTo(a));

    // Quickselect (Hoare partition, middle pivot): afterwards the k largest logits occupy [0, k) in some order.
    private void SelectBest(int lo, int hi, int k)
    {
        while (lo < hi)
        {
            float pivot = _logits[lo + (hi - lo) / 2];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (_logits[i] > pivot) i++;
                while (_logits[j] < pivot) j--;
                if (i <= j)
                {
                    (_logits[i], _logits[j]) = (_logits[j], _logits[i]);
                    (_ids[i], _ids[j]) = (_ids[j], _ids[i]);
                    i++; j--;
                }
            }
            if (k - 1 <= j) hi = j;
            else if (k - 1 >= i) lo = i;
            else return;
        }
    }

    private int TopP(int n, float p)
    {
        if (p >= 1f) return n;
        Softmax(n);
        double cumulative = 0;
        for (int i = 0; i < n; i++)
        {
            cumulative += _probs[i];
            if (cumulative >= p) return i + 1;
        }
        return n;
    }

    // Candidates are sorted best first, so the survivors are a prefix.
    private int MinP(int n, float minP)
    {
        if (minP <= 0f || n == 0) return n;
        float threshold = _logits[0] + MathF.Log(minP);
        int kept = 1;
        while (kept < n && _logits[kept] >= threshold) kept++;
        return kept;
    }

    private void Softmax(int n)
    {
        float max = float.NegativeInfinity;
        for (int i = 0; i < n; i++) max = MathF.Max(max, _logits[i]);
        double sum = 0;
        for (int i = 0; i < n; i++) { _probs[i] = MathF.Exp(_logits[i] - max); sum += _probs[i]; }
        for (int i = 0; i < n; i++) _probs[i] = (float)(_probs[i] / sum);
    }
}

using SeekSharp.Tokenization;

namespace SeekSharp.ServeBenchmark;

/// <summary>
/// The shape of a run's requests, as vllm bench serve's random dataset states it: prompt lengths uniform in
/// [InputLength × (1 − RangeRatio), InputLength × (1 + RangeRatio)] tokens, BOS included when the model adds one; exactly
/// OutputLength tokens generated (EOS ignored); arrivals at RequestRate per second (Poisson) or all at once (infinity).
/// </summary>
internal sealed record Workload(int Requests, int InputLength, double RangeRatio, int OutputLength, double RequestRate, int Seed)
{
    public string Describe() =>
        $"{Requests} requests, prompts of {InputLength}{(RangeRatio > 0 ? $" ± {RangeRatio * 100:F0} % (uniform {Lengths().Min}-{Lengths().Max})" : "")} tokens, " +
        $"{OutputLength} output tokens each (EOS ignored), arrivals {(double.IsPositiveInfinity(RequestRate) ? "all at t = 0" : $"Poisson at {RequestRate} requests/s")}";

    public (int Min, int Max) Lengths() =>
        (Math.Max(1, (int)Math.Floor(InputLength * (1 - RangeRatio))), Math.Max(1, (int)Math.Ceiling(InputLength * (1 + RangeRatio))));
}

/// <summary>
/// Random prompts made of the model's own "word" tokens: vocabulary entries that are a space followed by ASCII letters
/// (" the", " an"), drawn uniformly. Decoded, they read as space-separated words, which a GPT-2-style pre-tokenizer
/// splits back into the same tokens, so the text an HTTP server receives tokenizes to (nearly) the ids the in-process
/// engines get; the report takes the server's own count (usage.prompt_tokens) over HTTP. Random ids over the whole
/// vocabulary (vLLM's method) would not survive that round trip for byte-level vocabularies; and with random or small
/// trained weights the token identities do not change the work, only the lengths do.
/// </summary>
internal sealed class RequestGenerator
{
    private readonly Tokenizer tokenizer;
    private readonly int[] words;

    public RequestGenerator(Tokenizer tokenizer)
    {
        this.tokenizer = tokenizer;
        words = Enumerable.Range(0, tokenizer.VocabSize).Where(id => IsWord(tokenizer.TokenBytes(id), leadingSpace: true)).ToArray();
        // A vocabulary with few such entries (a synthetic one) also lends its plain-letter tokens.
        if (words.Length < 16)
            words = Enumerable.Range(0, tokenizer.VocabSize).Where(id => IsWord(tokenizer.TokenBytes(id), leadingSpace: false)).ToArray();
        if (words.Length == 0)
            throw new InvalidOperationException("the vocabulary has no token made of ASCII letters to build prompts from");
    }

    /// <summary>Distinct word tokens prompts are drawn from.</summary>
    public int WordCount => words.Length;

    public List<BenchRequest> Generate(Workload w)
    {
        var rng = new Random(w.Seed);
        var (min, max) = w.Lengths();
        double t = 0;
        var requests = new List<BenchRequest>(w.Requests);
        for (int i = 0; i < w.Requests; i++)
        {
            int[] prompt = Prompt(rng, rng.Next(min, max + 1));
            requests.Add(new BenchRequest(i, prompt, Text(prompt), w.OutputLength, t));
            // Poisson process: exponential gaps of mean 1 / rate (vLLM's gamma with burstiness 1).
            if (!double.IsPositiveInfinity(w.RequestRate))
                t += -Math.Log(1 - rng.NextDouble()) / w.RequestRate;
        }
        return requests;
    }

    /// <summary><paramref name="length"/> tokens: BOS (when the model adds one) and random words.</summary>
    public int[] Prompt(Random rng, int length)
    {
        var ids = new int[length];
        int start = 0;
        if (tokenizer.AddBos && tokenizer.BosId is { } bos) ids[start++] = bos;
        for (int i = start; i < length; i++) ids[i] = words[rng.Next(words.Length)];
        return ids;
    }

    /// <summary>The prompt as a server receives it: the words decoded, without the BOS the server adds itself.</summary>
    public string Text(ReadOnlySpan<int> prompt)
    {
        if (prompt.Length > 0 && tokenizer.AddBos && prompt[0] == tokenizer.BosId) prompt = prompt[1..];
        return tokenizer.Decode(prompt);
    }

    private static bool IsWord(byte[] bytes, bool leadingSpace)
    {
        int start = leadingSpace ? 1 : 0;
        if (bytes.Length <= start || (leadingSpace && bytes[0] != (byte)' ')) return false;
        for (int i = start; i < bytes.Length; i++)
            if (!char.IsAsciiLetter((char)bytes[i])) return false;
        return true;
    }
}

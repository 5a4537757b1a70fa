using System.Text.Json.Serialization;
using SeekSharp.Models;
using SeekSharp.Serving;

namespace SeekSharp.ServeBenchmark;

/// <summary>One trial of the prefix-cache scenario: two requests in a row sharing a system prompt, and their TTFTs.</summary>
internal sealed record PrefixTrial(
    [property: JsonPropertyName("prompt_tokens")] int PromptTokens,
    [property: JsonPropertyName("first_ttft_ms")] double FirstTtftMs,
    [property: JsonPropertyName("second_ttft_ms")] double SecondTtftMs,
    [property: JsonPropertyName("second_cached_tokens")] int? SecondCachedTokens)
{
    [JsonPropertyName("ratio")] public double Ratio => FirstTtftMs / SecondTtftMs;
}

/// <summary>
/// The prefix-cache test: a system prompt of <c>prefix</c> tokens (BOS included) followed by a user text of
/// <c>suffix</c> tokens; request 1 (system + user text A) and then, after it finished, request 2 (the same system prompt
/// + a different user text B), each generating <c>output</c> tokens; the ratio is request 1's TTFT / request 2's.
/// Each trial draws a new system prompt, so nothing is cached before its request 1; a warm-up of the same lengths (its
/// own random text, a system prompt of at most 192 tokens) runs first so that request 1 of the first trial does not pay
/// for JIT compilation.
/// </summary>
internal static class PrefixScenario
{
    public static List<(BenchRequest First, BenchRequest Second)> Pairs(RequestGenerator generator, int trials, int prefix, int suffix, int output, int seed)
    {
        var rng = new Random(seed);
        var pairs = new List<(BenchRequest, BenchRequest)>();
        for (int t = 0; t <= trials; t++) // pair 0 is the warm-up
        {
            // The warm-up's system prompt is short (the same code runs, the JIT only needs it to run): a long one would
            // double the scenario's time, all of it in prompt evaluation.
            int[] system = generator.Prompt(rng, t == 0 ? Math.Min(prefix, 192) : prefix);
            int[] a = [.. system, .. generator.Prompt(rng, suffix + 1).Skip(1)], b = [.. system, .. generator.Prompt(rng, suffix + 1).Skip(1)];
            // Skip(1) above drops the BOS of a model that adds one; a model without BOS loses one random word instead, harmlessly.
            pairs.Add((new BenchRequest(2 * t, a, generator.Text(a), output, 0), new BenchRequest(2 * t + 1, b, generator.Text(b), output, 0)));
        }
        return pairs;
    }

    public static async Task<List<PrefixTrial>> RunAsync(List<(BenchRequest First, BenchRequest Second)> pairs, SendRequest send)
    {
        var trials = new List<PrefixTrial>();
        for (int i = 0; i < pairs.Count; i++)
        {
            var first = await send(pairs[i].First, default);
            var second = await send(pairs[i].Second, default);
            if (!first.Success || !second.Success)
                throw new InvalidOperationException($"prefix trial {i}: {first.Error ?? second.Error}");
            if (i > 0)
                trials.Add(new PrefixTrial(first.PromptTokens, first.TimeToFirstToken * 1000, second.TimeToFirstToken * 1000, second.CachedTokens));
        }
        return trials;
    }

    /// <summary>In process: one scheduler (two slots, default prefix caching) holding both requests of every trial.</summary>
    public static List<PrefixTrial> RunInProcess(string modelPath, List<(BenchRequest First, BenchRequest Second)> pairs, int threads, int batchSize)
    {
        using var model = Model.Load(modelPath);
        int positions = pairs.Max(p => Math.Max(p.First.Prompt.Length + p.First.OutputTokens, p.Second.Prompt.Length + p.Second.OutputTokens)) + 1;
        using var scheduler = new Scheduler(model, SeekRun.Options(2, positions, threads, batchSize));
        return RunAsync(pairs, new SchedulerClient(scheduler).SendAsync).GetAwaiter().GetResult();
    }
}

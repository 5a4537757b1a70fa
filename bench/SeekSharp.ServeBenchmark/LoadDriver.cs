using System.Diagnostics;

namespace SeekSharp.ServeBenchmark;

/// <summary>Sends one request and reports what the client saw, with times relative to the moment it was sent.</summary>
internal delegate Task<RequestOutcome> SendRequest(BenchRequest request, CancellationToken cancellationToken);

/// <summary>
/// The client side of vllm bench serve: each request waits for its arrival time, then for one of
/// <c>maxConcurrency</c> slots, then is sent; the run lasts from its start until the last answer.
/// </summary>
internal static class LoadDriver
{
    public static async Task<RunResult> RunAsync(string engine, IReadOnlyList<BenchRequest> requests, int maxConcurrency, SendRequest send,
                                                 CancellationToken cancellationToken = default)
    {
        using var slots = new SemaphoreSlim(maxConcurrency);
        var clock = Stopwatch.StartNew();
        async Task<RequestOutcome> One(BenchRequest r)
        {
            var wait = TimeSpan.FromSeconds(r.ArrivalSeconds) - clock.Elapsed;
            if (wait > TimeSpan.Zero) await Task.Delay(wait, cancellationToken);
            await slots.WaitAsync(cancellationToken);
            try
            {
                double start = clock.Elapsed.TotalSeconds;
                RequestOutcome outcome;
                try { outcome = await send(r, cancellationToken); }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    outcome = new RequestOutcome { Id = r.Id, Success = false, Error = e.GetType().Name + ": " + e.Message };
                }
                return outcome with { Id = r.Id, StartSeconds = start };
            }
            finally { slots.Release(); }
        }
        var outcomes = await Task.WhenAll(requests.Select(r => Task.Run(() => One(r), cancellationToken)));
        return new RunResult(engine, maxConcurrency, clock.Elapsed.TotalSeconds, outcomes);
    }

    /// <summary>Per-token event times (seconds since send) turned into TTFT, ITL samples and E2EL.</summary>
    public static RequestOutcome FromTokenTimes(IReadOnlyList<double> times, int promptTokens, int outputTokens, int? cachedTokens = null)
    {
        if (times.Count == 0)
            return new RequestOutcome { Success = false, Error = "no token received", PromptTokens = promptTokens };
        var gaps = new double[times.Count - 1];
        for (int i = 1; i < times.Count; i++) gaps[i - 1] = times[i] - times[i - 1];
        return new RequestOutcome
        {
            Success = true, PromptTokens = promptTokens, OutputTokens = outputTokens, CachedTokens = cachedTokens,
            TimeToFirstToken = times[0], EndToEndLatency = times[^1], InterTokenLatencies = gaps,
        };
    }
}

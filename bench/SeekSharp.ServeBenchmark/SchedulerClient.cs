using System.Diagnostics;
using SeekSharp.Chat;
using SeekSharp.Inference.Sampling;
using SeekSharp.Serving;

namespace SeekSharp.ServeBenchmark;

/// <summary>
/// The in-process client: submits a request's token ids to SeekSharp's <see cref="Scheduler"/> (greedy, EOS ignored,
/// exactly the request's output length) and times its events as the HTTP client times SSE chunks: TTFT at the first
/// token event, ITL between token events, E2EL at the last. No HTTP, JSON or detokenizing to the wire.
/// </summary>
internal sealed class SchedulerClient(Scheduler scheduler)
{
    public async Task<RequestOutcome> SendAsync(BenchRequest request, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var times = new List<double>(request.OutputTokens);
        GenerationEvent? final = null;
        using var stream = scheduler.Submit(new GenerationRequest
        {
            Prompt = request.Prompt, Sampling = SamplingOptions.Greedy, MaxTokens = request.OutputTokens, IgnoreEos = true,
        }, cancellationToken);
        await foreach (var e in stream.WithCancellation(cancellationToken))
        {
            if (e.Kind == GenerationEventKind.Token) times.Add(clock.Elapsed.TotalSeconds);
            else final = e;
        }
        if (final?.FinishReason != FinishReason.Length)
            return new RequestOutcome { Success = false, Error = $"finished with {final?.FinishReason?.ToString() ?? "no final event"} after {times.Count} tokens" };
        return LoadDriver.FromTokenTimes(times, request.Prompt.Length, times.Count, final.Usage?.CachedTokens);
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SeekSharp.Server.Tests;
using Xunit.Abstractions;

namespace SeekSharp.Server.ClientTests.Load;

/// <summary>
/// Issue 19's bounded load test on loopback: 32 concurrent streaming clients × 4 greedy requests, a quarter of them
/// cancelled mid-answer. Every finished request must carry exactly the tokens its prompt gets alone; afterwards no
/// request runs, no KV page is held (the prefix cache may keep its pages), and this process's memory (the server runs
/// in it) is back within 10% of where it stood before.
/// </summary>
public sealed class LoadTests(LoadServerFixture server, ITestOutputHelper output) : IClassFixture<LoadServerFixture>
{
    const int Clients = 32, RequestsPerClient = 4, Prompts = 6, MaxTokens = 160;

    /// <summary>What a streamed answer was made of: its tokens (the bytes of each, from logprobs), reasoning and content.</summary>
    sealed record Streamed(string Tokens, string Reasoning, string Content, string? FinishReason, int TextChunks, bool Cancelled);

    [Fact]
    public async Task Concurrent_streams_with_cancellations_match_their_lone_answers_and_release_everything()
    {
        using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var clock = Stopwatch.StartNew();
        // MaxResponseDrainSize 0: a response disposed before its end closes the connection, as a browser tab or a killed
        // process does; by default the handler would read the rest of the answer to reuse the connection, and the server
        // would never learn that the client left.
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, MaxResponseDrainSize = 0 })
        {
            BaseAddress = server.BaseAddress,
            Timeout = TimeSpan.FromSeconds(60),
        };
        // Several distinct additions from a fixed seed; their lone answers are computed here, one at a time.
        var random = new Random(19);
        string[] prompts = [.. Enumerable.Range(0, Prompts).Select(_ => $"What is {random.Next(10, 1000)} + {random.Next(10, 1000)}?")];
        var alone = new Streamed[Prompts];
        for (int p = 0; p < Prompts; p++)
        {
            alone[p] = await StreamAsync(http, prompts[p], cancelAfterTextChunks: null, budget.Token);
            Assert.False(string.IsNullOrEmpty(alone[p].Tokens), $"no tokens for '{prompts[p]}'");
            Assert.True(alone[p].TextChunks > 20, $"'{prompts[p]}': only {alone[p].TextChunks} chunks, too short to cancel mid-answer");
        }
        Assert.True(alone.Select(a => a.Tokens).Distinct().Count() > 1, "every prompt got the same answer: the comparison would prove little");

        // A warm-up round like the measured one, so that the baseline already holds what the first busy round takes once
        // and keeps: the KV pool's pages, touched for the first time as the prefix cache fills the pool (a shorter
        // warm-up leaves ~15 MB of them to the measured round), Kestrel's buffers, JIT code, thread-pool threads.
        var warmUp = await RoundAsync(http, prompts, alone, RequestsPerClient, budget.Token);
        Assert.Empty(warmUp.Mismatches);
        await WaitIdleAsync(http, budget.Token);
        var before = Memory();
        var metricsBefore = await MetricsAsync(http, budget.Token);

        var round = await RoundAsync(http, prompts, alone, RequestsPerClient, budget.Token);

        Assert.True(round.Mismatches.Count == 0, string.Join("\n", round.Mismatches.Take(5)));
        Assert.Equal(Clients * RequestsPerClient / 4, round.Cancelled);
        Assert.Equal(Clients * RequestsPerClient * 3 / 4, round.Finished);
        var metrics = await WaitIdleAsync(http, budget.Token);
        Assert.Equal(0, metrics["vllm:num_requests_running"]);
        Assert.Equal(0, metrics["vllm:num_requests_waiting"]);
        Assert.Equal(0, metrics["seeksharp:kv_pages_in_use"]);
        Assert.True(metrics["vllm:request_success_total{finished_reason=\"abort\"}"] > metricsBefore["vllm:request_success_total{finished_reason=\"abort\"}"],
            $"no cancellation reached the scheduler: aborts {metricsBefore["vllm:request_success_total{finished_reason=\"abort\"}"]} before, {metrics["vllm:request_success_total{finished_reason=\"abort\"}"]} after");
        double finishedDelta = metrics["vllm:request_success_total{finished_reason=\"stop\"}"] + metrics["vllm:request_success_total{finished_reason=\"length\"}"]
            - metricsBefore["vllm:request_success_total{finished_reason=\"stop\"}"] - metricsBefore["vllm:request_success_total{finished_reason=\"length\"}"];
        Assert.InRange(finishedDelta, round.Finished, round.Finished + round.Cancelled); // a cancel may land after the last token
        // The requests really shared the batch: tokens generated per forward pass.
        double width = (metrics["vllm:generation_tokens_total"] - metricsBefore["vllm:generation_tokens_total"])
            / (metrics["seeksharp:steps_total"] - metricsBefore["seeksharp:steps_total"]);
        Assert.True(width > 2, $"{width:F1} tokens generated per step: the requests did not run together");

        var after = Memory();
        output.WriteLine($"{round.Finished} finished, {round.Cancelled} cancelled, {width:F1} tokens per step, {clock.Elapsed.TotalSeconds:F1} s; "
            + $"managed {before.Managed / 1e6:F1} → {after.Managed / 1e6:F1} MB, working set {before.WorkingSet / 1e6:F1} → {after.WorkingSet / 1e6:F1} MB");
        Assert.True(after.Managed <= before.Managed * 1.10, $"managed heap {before.Managed / 1e6:F1} MB before, {after.Managed / 1e6:F1} MB after");
        Assert.True(after.WorkingSet <= before.WorkingSet * 1.10, $"working set {before.WorkingSet / 1e6:F1} MB before, {after.WorkingSet / 1e6:F1} MB after");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"the load test took {clock.Elapsed.TotalSeconds:F0} s");
    }

    sealed record RoundResult(List<string> Mismatches, int Finished, int Cancelled);

    /// <summary>Every client sends its requests one after another, all clients at once. Request r of client c asks prompt
    /// (c + r) mod Prompts; a quarter (r == c mod 4) is cancelled after a few text chunks. Finished streams are
    /// compared with their lone answer at once, so that nothing but the mismatches is kept.</summary>
    static async Task<RoundResult> RoundAsync(HttpClient http, string[] prompts, Streamed[] alone, int requestsPerClient, CancellationToken token)
    {
        var mismatches = new List<string>();
        int finished = 0, cancelled = 0;
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(c => Task.Run(async () =>
        {
            for (int r = 0; r < requestsPerClient; r++)
            {
                int p = (c + r) % prompts.Length;
                int? cancelAfter = r == c % 4 ? 2 + c % 7 * 2 : null;
                var got = await StreamAsync(http, prompts[p], cancelAfter, token);
                if (got.Cancelled) { Interlocked.Increment(ref cancelled); continue; }
                if (cancelAfter is not null) lock (mismatches) mismatches.Add($"client {c} request {r}: finished before its cancellation after {cancelAfter} chunks");
                Interlocked.Increment(ref finished);
                var want = alone[p];
                if (got.Tokens != want.Tokens || got.Reasoning != want.Reasoning || got.Content != want.Content || got.FinishReason != want.FinishReason)
                    lock (mismatches) mismatches.Add($"client {c} request {r} '{prompts[p]}': got [{got.Reasoning}|{got.Content}|{got.FinishReason}], alone [{want.Reasoning}|{want.Content}|{want.FinishReason}]");
            }
        }, token)));
        return new RoundResult(mismatches, finished, cancelled);
    }

    /// <summary>One greedy streaming chat with logprobs, read as raw server-sent events. With
    /// <paramref name="cancelAfterTextChunks"/> the client walks away after that many chunks carrying text.</summary>
    static async Task<Streamed> StreamAsync(HttpClient http, string prompt, int? cancelAfterTextChunks, CancellationToken token)
    {
        var body = new JsonObject
        {
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt }),
            ["temperature"] = 0,
            ["max_tokens"] = MaxTokens,
            ["stream"] = true,
            ["logprobs"] = true,
        };
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(token);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = ServerFixture.Json(body.ToJsonString()) };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        if (response.StatusCode != HttpStatusCode.OK)
            throw new HttpRequestException($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(token)}");
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
        var tokens = new StringBuilder();
        var reasoning = new StringBuilder();
        var content = new StringBuilder();
        string? finish = null;
        int textChunks = 0;
        while (await reader.ReadLineAsync(cancel.Token) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            string data = line["data: ".Length..];
            if (data == "[DONE]") return new Streamed(tokens.ToString(), reasoning.ToString(), content.ToString(), finish, textChunks, false);
            var chunk = JsonNode.Parse(data)!;
            if (chunk["error"] is { } error) throw new HttpRequestException($"error event: {error.ToJsonString()}");
            var choice = chunk["choices"]![0]!;
            foreach (var t in choice["logprobs"]?["content"]?.AsArray() ?? [])
                tokens.Append(Convert.ToHexString([.. t!["bytes"]!.AsArray().Select(b => (byte)(int)b!)])).Append(' ');
            string? r = (string?)choice["delta"]!["reasoning_content"], c = (string?)choice["delta"]!["content"];
            reasoning.Append(r);
            content.Append(c);
            finish ??= (string?)choice["finish_reason"];
            if (!string.IsNullOrEmpty(r) || !string.IsNullOrEmpty(c)) textChunks++;
            if (textChunks == cancelAfterTextChunks && finish is null)
            {
                // Mid-answer: the client stops reading and drops the connection (disposing the response closes it).
                await cancel.CancelAsync();
                return new Streamed(tokens.ToString(), reasoning.ToString(), content.ToString(), null, textChunks, true);
            }
        }
        throw new HttpRequestException($"the stream for '{prompt}' ended without [DONE]");
    }

    /// <summary>Polls /metrics until no request runs or waits and no KV page is in use (a dropped request is freed
    /// within one scheduler step, but the step may still be running), then returns the samples.</summary>
    static async Task<Dictionary<string, double>> WaitIdleAsync(HttpClient http, CancellationToken token)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var metrics = await MetricsAsync(http, token);
            bool idle = metrics["vllm:num_requests_running"] == 0 && metrics["vllm:num_requests_waiting"] == 0 && metrics["seeksharp:kv_pages_in_use"] == 0;
            if (idle || deadline.Elapsed > TimeSpan.FromSeconds(5)) return metrics;
            await Task.Delay(20, token);
        }
    }

    /// <summary>/metrics as name (with the labels besides model_name) → value.</summary>
    static async Task<Dictionary<string, double>> MetricsAsync(HttpClient http, CancellationToken token)
    {
        string text = await http.GetStringAsync("metrics", token);
        var samples = new Dictionary<string, double>();
        foreach (Match m in Regex.Matches(text, @"^([a-z_:]+)\{model_name=""[^""]*""(?:,([^}]*))?\} (\S+)$", RegexOptions.Multiline))
        {
            string name = m.Groups[2].Success ? $"{m.Groups[1].Value}{{{m.Groups[2].Value}}}" : m.Groups[1].Value;
            samples[name] = double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
        }
        return samples;
    }

    /// <summary>The managed heap after full, compacting collections, and the working set once the GC has given back
    /// what it can (an aggressive collection decommits free regions).</summary>
    static (long Managed, long WorkingSet) Memory()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        long managed = GC.GetTotalMemory(forceFullCollection: true);
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        return (managed, self.WorkingSet64);
    }
}

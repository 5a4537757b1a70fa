using System.Net;
using System.Text.RegularExpressions;

namespace SeekSharp.Server.Tests.Metrics;

public sealed class OperabilityTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    static double Sample(string metrics, string name)
    {
        var match = Regex.Match(metrics, "^" + Regex.Escape(name) + @"\{[^}]*\} (\S+)$", RegexOptions.Multiline);
        Assert.True(match.Success, $"{name} missing from /metrics");
        return double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Health_IsOk()
    {
        using var client = server.CreateClient();
        var body = await Wire.JsonAsync(await client.GetAsync("health"));
        Assert.Equal("ok", (string?)body["status"]);
    }

    [Fact]
    public async Task Metrics_CountARequest_InVllmNames()
    {
        using var client = server.CreateClient();
        string before = await client.GetStringAsync("metrics");
        var chat = await Wire.JsonAsync(await client.PostAsync("v1/chat/completions",
            ServerFixture.Json("""{"messages":[{"role":"user","content":"What is 8 + 9?"}],"temperature":0,"max_tokens":12}""")));
        using var response = await client.GetAsync("metrics");
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.ToString());
        string after = await response.Content.ReadAsStringAsync();

        foreach (string name in new[] { "vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc",
                                        "seeksharp:kv_pages_in_use", "seeksharp:kv_pages_cached", "seeksharp:kv_pages_total" })
            Sample(after, name);
        Assert.Contains($"model_name=\"{server.ModelId}\"", after);
        Assert.Equal(0, Sample(after, "vllm:num_requests_running"));
        Assert.True(Sample(after, "seeksharp:kv_pages_total") > 0);
        Assert.InRange(Sample(after, "vllm:kv_cache_usage_perc"), 0, 1);

        int prompt = (int)chat["usage"]!["prompt_tokens"]!, completion = (int)chat["usage"]!["completion_tokens"]!;
        Assert.Equal(prompt, Sample(after, "vllm:prompt_tokens_total") - Sample(before, "vllm:prompt_tokens_total"));
        Assert.Equal(prompt, Sample(after, "vllm:prefix_cache_queries_total") - Sample(before, "vllm:prefix_cache_queries_total"));
        Assert.Equal(completion, Sample(after, "vllm:generation_tokens_total") - Sample(before, "vllm:generation_tokens_total"));
        foreach (string histogram in new[] { "vllm:time_to_first_token_seconds", "vllm:e2e_request_latency_seconds", "vllm:request_queue_time_seconds" })
        {
            Assert.Equal(1, Sample(after, histogram + "_count") - Sample(before, histogram + "_count"));
            Assert.Matches($"(?m)^{Regex.Escape(histogram)}_bucket\\{{model_name=\"[^\"]*\",le=\"\\+Inf\"\\}} ", after);
        }
        Assert.Equal(completion - 1, Sample(after, "vllm:inter_token_latency_seconds_count") - Sample(before, "vllm:inter_token_latency_seconds_count"));
        Assert.Matches("(?m)^# TYPE vllm:request_success_total counter$", after);
        Assert.True(Sample(after, "vllm:generation_tokens_total") >= completion);
    }

    [Fact]
    public async Task GracefulShutdown_EndsRunningStreams_AndRefusesNewRequests()
    {
        var fixture = new ShortGraceFixture();
        await fixture.InitializeAsync();
        try
        {
            using var client = fixture.CreateClient();
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
            {
                Content = ServerFixture.Json("""{"messages":[{"role":"user","content":"Count."}],"max_tokens":100000,"ignore_eos":true,"stream":true}"""),
            };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var stream = await response.Content.ReadAsStreamAsync();
            using var reader = new StreamReader(stream);
            string first = (await reader.ReadLineAsync())!;
            Assert.StartsWith("data: ", first);
            var reading = reader.ReadToEndAsync();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await fixture.App.StopAsync(stop.Token);
            // The grace (0.3 s) passed, then the running request was cancelled and told so in its stream.
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"shutdown took {clock.Elapsed}");
            string body = await reading.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Contains("\"error\"", body);
            Assert.DoesNotContain("[DONE]", body);
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }

    [Fact]
    public async Task FullQueue_Is429_WithRetryAfter()
    {
        var fixture = new TinyQueueFixture();
        await fixture.InitializeAsync();
        try
        {
            using var client = fixture.CreateClient();
            const string Long = """{"messages":[{"role":"user","content":"Count."}],"max_tokens":100000,"ignore_eos":true,"stream":true}""";
            var open = new List<HttpResponseMessage>();
            try
            {
                HttpResponseMessage? refused = null;
                // One runs (parallel 1), one waits (queue 1); a third must be refused.
                for (int i = 0; i < 4 && refused is null; i++)
                {
                    var r = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = ServerFixture.Json(Long) },
                        HttpCompletionOption.ResponseHeadersRead);
                    if (r.StatusCode == HttpStatusCode.TooManyRequests) refused = r;
                    else open.Add(r);
                }
                Assert.NotNull(refused);
                Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero);
                var error = await Wire.OpenAiErrorAsync(refused, HttpStatusCode.TooManyRequests);
                Assert.Equal("rate_limit_error", (string?)error["type"]);
            }
            finally
            {
                foreach (var r in open) r.Dispose();
            }
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }

    [Fact]
    public async Task QueuedStream_GetsKeepAliveComments()
    {
        var fixture = new KeepAliveFixture();
        await fixture.InitializeAsync();
        try
        {
            using var client = fixture.CreateClient();
            const string Long = """{"messages":[{"role":"user","content":"Count."}],"max_tokens":100000,"ignore_eos":true,"stream":true}""";
            using var running = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = ServerFixture.Json(Long) },
                HttpCompletionOption.ResponseHeadersRead);
            using var queued = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = ServerFixture.Json(Long) },
                HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, queued.StatusCode);
            using var reader = new StreamReader(await queued.Content.ReadAsStreamAsync());
            // Parallel 1: the second waits while the first runs, and hears a comment instead of silence.
            string? line = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Equal(": keep-alive", line);
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }

    sealed class KeepAliveFixture() : ServerFixture(o => o with { Parallel = 1, ContextLength = 4096, KeepAliveInterval = TimeSpan.FromMilliseconds(100) });

    sealed class ShortGraceFixture() : ServerFixture(o => o with { ShutdownGrace = TimeSpan.FromSeconds(0.3), Parallel = 1, ContextLength = 4096 });

    sealed class TinyQueueFixture() : ServerFixture(o => o with { Parallel = 1, MaxWaiting = 1, ContextLength = 4096 });
}

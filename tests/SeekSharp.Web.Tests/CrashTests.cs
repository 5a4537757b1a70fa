using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SeekSharp.Web.Tests;

/// <summary>
/// <c>seek serve</c> as a process, killed (SIGKILL: no shutdown code runs) in the middle of a streamed answer, then
/// started again on the same database: every earlier message is there as it was, and the interrupted answer is there
/// with the text written before the kill, marked stopped.
/// </summary>
public sealed partial class CrashTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("seek-crash-").FullName;

    [Fact]
    public async Task KilledMidAnswer_RestartFindsEarlierMessagesIntactAndTheCutAnswerStopped()
    {
        string db = Path.Combine(_folder, "chats.db");
        string conversation;
        List<(string Role, string Content, string? Reasoning)> before;
        using (var first = await SeekServe.StartAsync(db))
        {
            using var http = first.Client();
            conversation = (await (await http.PostAsJsonAsync("app/api/conversations", new { })).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            // One complete exchange first.
            await ReadAnswerAsync(http, conversation, "What is 123 + 456?", stopAfterReasoningChars: null);
            before = await MessagesAsync(http, conversation);
            Assert.Equal(2, before.Count);
            // Then a long answer (a multiplication: ~350 tokens), killed while its reasoning streams.
            await ReadAnswerAsync(http, conversation, "What is 987 * 654?", stopAfterReasoningChars: 100, onStop: first.Kill);
            Assert.True(first.Process.HasExited);
        }

        using var second = await SeekServe.StartAsync(db);
        using var client = second.Client();
        var after = await MessagesAsync(client, conversation);
        Assert.Equal(4, after.Count);
        Assert.Equal(before, after.Take(2).Select(m => (m.Role, m.Content, m.Reasoning)).ToList());
        Assert.Equal(("user", "What is 987 * 654?"), (after[2].Role, after[2].Content));
        var detail = await client.GetFromJsonAsync<JsonElement>($"app/api/conversations/{conversation}");
        var cut = detail.GetProperty("messages")[3];
        Assert.Equal("assistant", cut.GetProperty("role").GetString());
        Assert.Equal("stopped", cut.GetProperty("status").GetString());
        // What was written before the kill (the row at the start, then the text at most every half second) is kept.
        string kept = cut.TryGetProperty("reasoning", out var r) ? r.GetString()! : "";
        Assert.Equal("complete", detail.GetProperty("messages")[1].GetProperty("status").GetString());

        // And it can be continued to its end.
        var resumed = await client.PostAsync($"app/api/conversations/{conversation}/continue", null);
        await resumed.Content.ReadAsStringAsync();
        var final = await client.GetFromJsonAsync<JsonElement>($"app/api/conversations/{conversation}");
        Assert.Equal("complete", final.GetProperty("messages")[3].GetProperty("status").GetString());
        Assert.StartsWith(kept, final.GetProperty("messages")[3].GetProperty("reasoning").GetString()!);
    }

    static async Task ReadAnswerAsync(HttpClient http, string conversation, string question, int? stopAfterReasoningChars, Action? onStop = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"app/api/conversations/{conversation}/messages") { Content = JsonContent.Create(new { content = question }) };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        int reasoning = 0;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            using var e = JsonDocument.Parse(line[6..]);
            string type = e.RootElement.GetProperty("type").GetString()!;
            if (type == "reasoning") reasoning += e.RootElement.GetProperty("text").GetString()!.Length;
            if (type == "done") Assert.Null(stopAfterReasoningChars);   // a stop was asked for but the answer ended first
            if (stopAfterReasoningChars is { } n && reasoning >= n)
            {
                onStop?.Invoke();
                return;
            }
        }
    }

    static async Task<List<(string Role, string Content, string? Reasoning)>> MessagesAsync(HttpClient http, string conversation)
    {
        var detail = await http.GetFromJsonAsync<JsonElement>($"app/api/conversations/{conversation}");
        return detail.GetProperty("messages").EnumerateArray().Select(m => (m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!,
            m.TryGetProperty("reasoning", out var r) ? r.GetString() : null)).ToList();
    }

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }

    /// <summary>seek serve in a child process, on a free port, with the bundled model.</summary>
    sealed partial class SeekServe : IDisposable
    {
        public Process Process { get; }
        public Uri BaseAddress { get; }

        SeekServe(Process process, Uri address) { Process = process; BaseAddress = address; }

        public static async Task<SeekServe> StartAsync(string db)
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, StandardErrorEncoding = Encoding.UTF8 };
            foreach (string a in new[] { Path.Combine(AppContext.BaseDirectory, "seek.dll"), "serve", "--port", "0", "--ctx", "2048", "--parallel", "2", "--db", db })
                start.ArgumentList.Add(a);
            var process = Process.Start(start)!;
            var address = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
            var stderr = new StringBuilder();
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                lock (stderr) stderr.AppendLine(e.Data);
                if (AddressLine().Match(e.Data) is { Success: true } m) address.TrySetResult(new Uri(m.Groups[1].Value));
            };
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            var started = await Task.WhenAny(address.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(60)));
            if (started != address.Task)
            {
                try { process.Kill(); } catch (InvalidOperationException) { }
                lock (stderr) throw new InvalidOperationException($"seek serve did not start: {stderr}");
            }
            var server = new SeekServe(process, address.Task.Result);
            using var http = server.Client();
            for (var deadline = Stopwatch.StartNew(); deadline.Elapsed < TimeSpan.FromSeconds(60); await Task.Delay(50))
                if ((await http.GetAsync("health")).IsSuccessStatusCode) return server;
            server.Dispose();
            throw new TimeoutException("seek serve did not load the model within 60 s");
        }

        public HttpClient Client() => new(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

        /// <summary>SIGKILL, and wait for the process to be gone.</summary>
        public void Kill()
        {
            Process.Kill(entireProcessTree: true);
            Process.WaitForExit(10_000);
        }

        public void Dispose()
        {
            if (!Process.HasExited) Kill();
            Process.Dispose();
        }

        [GeneratedRegex(@"seek: serving .* at (http://\S+/) ")]
        private static partial Regex AddressLine();
    }
}

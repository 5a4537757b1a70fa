using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace SeekSharp.Server.Tests.Hosting;

/// <summary><c>seek serve</c> as a user runs it: a process that listens, answers, and stops cleanly on SIGTERM.</summary>
public sealed partial class ServeCommandTests
{
    const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    static Process Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "seek.dll"));
        start.ArgumentList.Add("serve");
        foreach (string a in args) start.ArgumentList.Add(a);
        return Process.Start(start)!;
    }

    [Fact]
    public async Task Serves_ThenStopsOnSigterm_EndingTheRunningStream()
    {
        using var process = Start("--port", "0", "--ctx", "4096", "--parallel", "2", "--alias", "r1", "--shutdown-grace", "0.5");
        try
        {
            var stderr = new StringBuilder();
            var address = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                lock (stderr) stderr.AppendLine(e.Data);
                if (AddressLine().Match(e.Data) is { Success: true } m) address.TrySetResult(new Uri(m.Groups[1].Value));
            };
            process.BeginErrorReadLine();
            var stdout = process.StandardOutput.ReadToEndAsync();
            var baseAddress = await address.Task.WaitAsync(TimeSpan.FromSeconds(30));

            using var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while ((await client.GetAsync("health")).StatusCode != HttpStatusCode.OK && DateTime.UtcNow < deadline) await Task.Delay(50);
            var models = await Wire.JsonAsync(await client.GetAsync("v1/models"));
            Assert.Equal("r1", (string?)models["data"]![0]!["id"]);

            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
            {
                Content = ServerFixture.Json("""{"model":"r1","messages":[{"role":"user","content":"Count."}],"max_tokens":100000,"ignore_eos":true,"stream":true}"""),
            };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.StartsWith("data: ", await reader.ReadLineAsync());
            var rest = reader.ReadToEndAsync();

            Assert.Equal(0, Kill(process.Id, SigTerm));
            var clock = Stopwatch.StartNew();
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), "seek serve did not exit after SIGTERM");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"seek serve took {clock.Elapsed} to stop with a 0.5 s grace");
            Assert.Equal(0, process.ExitCode);
            // The running request was finished or cancelled within the grace, and its stream ended either way.
            string tail = await rest.WaitAsync(TimeSpan.FromSeconds(5));
            Assert.True(tail.Contains("[DONE]") || tail.Contains("\"error\""), tail[^Math.Min(300, tail.Length)..]);
            Assert.Contains("req-", await stdout); // the request log
        }
        finally
        {
            if (!process.HasExited) { process.Kill(entireProcessTree: true); process.WaitForExit(); }
        }
    }

    [Theory]
    [InlineData("--parallel", "0", "--parallel must be 1 or more")]
    [InlineData("--port", "70000", "--port must be between 0 and 65535")]
    [InlineData("--ctx", "-5", "--ctx must be")]
    [InlineData("--shutdown-grace", "-1", "--shutdown-grace must be")]
    public async Task BadFlags_AreOneLineErrors(string flag, string value, string message)
    {
        using var process = Start(flag, value);
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Equal(1, process.ExitCode);
        string error = (await stderr).Trim();
        Assert.StartsWith("seek: error: ", error);
        Assert.Contains(message, error);
        Assert.DoesNotContain('\n', error);
        Assert.Equal("", await stdout);
    }

    [GeneratedRegex(@"seek: serving .* at (http://\S+/) ")]
    private static partial Regex AddressLine();
}

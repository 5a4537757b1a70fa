using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Tests.Store;

namespace SeekSharp.Conformance.Tests.Cli;

/// <summary>
/// Issue 22 item 3 end to end: <c>seek pull</c> from a loopback server into a store in a temporary folder
/// (<c>--models-dir</c>, never the user's), then <c>list</c>, <c>show</c>, a model-taking command given the store name, and <c>rm</c>.
/// </summary>
public sealed partial class StoreCliTests : IAsyncLifetime
{
    private static readonly TinyModelOptions Tiny = new() { Dim = 32, Heads = 4, KvHeads = 2, FfnDim = 64, Layers = 2, ContextLength = 128, Seed = 22 };

    private readonly string _store = Directory.CreateTempSubdirectory("seek-store-cli-").FullName;
    private readonly LoopbackServer _server = new();

    public Task InitializeAsync() => Task.CompletedTask;

    // xUnit 2 calls IAsyncLifetime.DisposeAsync, not IAsyncDisposable's: the temporary folder is deleted here.
    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_store, recursive: true);
    }

    private SeekProcess.Result Seek(params string[] args) => SeekProcess.Run([.. args, "--models-dir", _store]);

    private static string OneErrorLine(SeekProcess.Result r)
    {
        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}; stderr: {r.Stderr}");
        string line = r.Stderr.TrimEnd();
        Assert.Single(line.Split('\n'));
        Assert.StartsWith("seek: error: ", line);
        return line;
    }

    [Fact]
    public void A_pulled_model_is_listed_shown_run_by_name_and_removed()
    {
        string path = TinyModelBuilder.GetOrBuild(Tiny);
        byte[] bytes = File.ReadAllBytes(path);
        _server.Serve("/files/tiny-r1.gguf", bytes);
        string name = _server.Url("/files/tiny-r1.gguf").ToString();

        var pull = Seek("pull", name);
        Assert.True(pull.ExitCode == 0, pull.Stderr);
        Assert.Contains($"seek: pulled {name}", pull.Stderr);

        var list = Seek("list");
        Assert.Equal(0, list.ExitCode);
        string[] lines = list.Stdout.TrimEnd().Split('\n');
        Assert.Matches(@"^NAME\s+SIZE\s+FORMAT\s+MODIFIED$", lines[0]);
        Assert.Matches($@"^{System.Text.RegularExpressions.Regex.Escape(name)}\s+\S+ [KM]B\s+gguf\s+less than a minute ago$", Assert.Single(lines[1..]));
        using (var json = JsonDocument.Parse(Seek("list", "--json").Stdout))
        {
            var entry = Assert.Single(json.RootElement.EnumerateArray().ToList());
            Assert.Equal(name, entry.GetProperty("name").GetString());
            Assert.Equal(bytes.Length, entry.GetProperty("size").GetInt64());
        }

        var show = Seek("show", name);
        Assert.Equal(0, show.ExitCode);
        Assert.Contains("sha256 " + Convert.ToHexStringLower(SHA256.HashData(bytes)), show.Stdout);
        Assert.Matches(@"architecture\s+llama", show.Stdout);
        Assert.Matches(@"context length\s+128", show.Stdout);

        // The store name stands for the file: the same greedy text as the path gives.
        var byName = Seek("run", name, "-p", "Hello", "-n", "6", "--temp", "0", "--json");
        var byPath = Seek("run", path, "-p", "Hello", "-n", "6", "--temp", "0", "--json");
        Assert.True(byName.ExitCode == 0, byName.Stderr);
        Assert.Equal(byPath.Stdout, byName.Stdout);
        Assert.Equal(0, Seek("info", "-m", name).ExitCode);

        var rm = Seek("rm", name);
        Assert.Equal(0, rm.ExitCode);
        Assert.Contains($"deleted '{name}'", rm.Stderr);
        Assert.Empty(Directory.GetFileSystemEntries(_store));
        Assert.Equal("", Seek("list").Stdout);
        Assert.Contains($"seek pull {name}", OneErrorLine(Seek("run", name, "-p", "Hello")));
    }

    [Theory]
    [InlineData("run", "deepseek-r1:1.5b", "-p", "hi")]
    [InlineData("chat", "deepseek-r1:1.5b")]
    [InlineData("info", "-m", "ollama://deepseek-r1:7b")]
    [InlineData("tokenize", "hf://acme/Tiny-GGUF/tiny.gguf", "-p", "hi")]
    [InlineData("quantize", "deepseek-r1:8b", "out.gguf", "Q8_0")]
    public void A_name_that_is_not_pulled_says_to_pull_it_and_downloads_nothing(params string[] args)
    {
        string line = OneErrorLine(Seek(args));

        Assert.Contains("seek pull ", line);
        Assert.Contains(_store, line);
        Assert.Empty(Directory.GetFileSystemEntries(_store));
    }

    [Fact]
    public void Store_commands_name_what_is_wrong()
    {
        Assert.Contains("unknown model 'deepseek-r1:99b'; known names: deepseek-r1:1.5b", OneErrorLine(Seek("pull", "deepseek-r1:99b")));
        Assert.Contains("'model.gguf' is not a model name", OneErrorLine(Seek("pull", "model.gguf")));
        Assert.Contains("model 'deepseek-r1:1.5b' is not in the store", OneErrorLine(Seek("rm", "deepseek-r1:1.5b")));
        Assert.Contains("seek pull deepseek-r1:1.5b", OneErrorLine(Seek("show", "deepseek-r1:1.5b")));
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>Starts seek with <paramref name="environment"/> added to this process's, output redirected.</summary>
    /// <remarks>Both outputs are drained from the start, so the child never waits on a full pipe.</remarks>
    private sealed record Child(Process Process, Task<string> Stderr) : IDisposable
    {
        public void Dispose() => Process.Dispose();
    }

    private static Child Start(Dictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "seek.dll"));
        foreach (string a in args) start.ArgumentList.Add(a);
        foreach (var (key, value) in environment) start.Environment[key] = value;
        var process = Process.Start(start)!;
        _ = process.StandardOutput.ReadToEndAsync();
        return new Child(process, process.StandardError.ReadToEndAsync());
    }

    private static (int ExitCode, string Stderr) Finish(Child run)
    {
        if (!run.Process.WaitForExit(TimeSpan.FromMinutes(1)))
        {
            run.Process.Kill(entireProcessTree: true);
            run.Process.WaitForExit();
            throw new TimeoutException($"seek did not exit within a minute; its stderr: {run.Stderr.Result}");
        }
        return (run.Process.ExitCode, run.Stderr.Result);
    }

    [Fact]
    public void Ctrl_c_stops_a_pull_with_a_partial_file_that_the_next_pull_resumes()
    {
        if (!OperatingSystem.IsLinux()) return; // the signal is sent with libc kill(2)
        SignalDisposition.AssertSigIntReachesChildren();
        byte[] bytes = File.ReadAllBytes(TinyModelBuilder.GetOrBuild(Tiny));
        var resource = _server.Serve("/files/slow.gguf", bytes);
        resource.Trickle = TimeSpan.FromMilliseconds(1); // under 1000 bytes a second: the pull is far from done when the signal comes
        string name = _server.Url("/files/slow.gguf").ToString();
        using var pull = Start(new() { ["SEEK_MODELS"] = _store }, "pull", name);
        var clock = Stopwatch.StartNew();
        string? partial = null;
        while (partial is null && clock.Elapsed < TimeSpan.FromSeconds(60) && !pull.Process.HasExited)
        {
            partial = Directory.Exists(_store)
                ? Directory.GetFiles(_store, "slow.gguf.partial", SearchOption.AllDirectories).FirstOrDefault(f => new FileInfo(f).Length >= 1000)
                : null;
            Thread.Sleep(20);
        }
        Assert.NotNull(partial);

        Assert.Equal(0, Kill(pull.Process.Id, 2)); // SIGINT, as Ctrl+C sends
        var (exit, stderr) = Finish(pull);

        Assert.Equal(130, exit);
        Assert.Contains($"seek: pull interrupted by SIGINT; the partial download is kept: run seek pull {name} again to resume", stderr);
        long kept = new FileInfo(partial).Length;
        Assert.True(kept >= 1000);
        Assert.Equal("", Seek("list").Stdout); // not a model until it is complete

        resource.Trickle = TimeSpan.Zero;
        int before = _server.Requests.Count;
        var again = Seek("pull", name);
        Assert.True(again.ExitCode == 0, again.Stderr);
        // The rest, the 8-byte probe, and at most a few bytes written while the signal arrived but not yet recorded as done.
        long resent = _server.Requests.Skip(before).Sum(r => r.BytesSent);
        Assert.True(resent <= bytes.Length - kept + 8 + 256, $"the second pull fetched {resent} bytes of {bytes.Length}, {kept} of which it had");
        var model = Assert.Single(Directory.GetFiles(_store, "slow.gguf", SearchOption.AllDirectories));
        Assert.Equal(bytes, File.ReadAllBytes(model));
    }

    [Fact]
    public async Task HF_ENDPOINT_HF_TOKEN_and_SEEK_MODELS_come_from_the_environment()
    {
        await using var cdn = new LoopbackServer();
        byte[] bytes = File.ReadAllBytes(TinyModelBuilder.GetOrBuild(Tiny));
        string sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        cdn.Serve("/blob", bytes);
        var resolve = _server.Serve("/acme/Tiny-GGUF/resolve/main/tiny.gguf", []);
        resolve.RedirectTo = cdn.Url("/blob").ToString();
        resolve.Headers["X-Linked-Etag"] = $"\"{sha}\"";
        resolve.Headers["X-Linked-Size"] = bytes.Length.ToString();

        using var pull = Start(new() { ["SEEK_MODELS"] = _store, ["HF_ENDPOINT"] = _server.BaseUrl.ToString(), ["HF_TOKEN"] = "hf_secret" },
                               "pull", "hf://acme/Tiny-GGUF/tiny.gguf");
        var (exit, stderr) = Finish(pull);

        Assert.True(exit == 0, stderr);
        Assert.Contains("SHA-256 verified", stderr);
        Assert.NotEmpty(_server.Requests);
        Assert.All(_server.Requests, r => Assert.Equal("Bearer hf_secret", r.Header("authorization")));
        Assert.NotEmpty(cdn.Requests);
        Assert.All(cdn.Requests, r => Assert.Null(r.Header("authorization")));
        Assert.Matches(@"hf://acme/Tiny-GGUF/tiny\.gguf\s", Seek("list").Stdout);
    }

    [Fact]
    public async Task Serve_names_a_pulled_model_by_its_store_name()
    {
        _server.Serve("/files/tiny-r1.gguf", File.ReadAllBytes(TinyModelBuilder.GetOrBuild(Tiny)));
        string name = _server.Url("/files/tiny-r1.gguf").ToString();
        Assert.Equal(0, Seek("pull", name).ExitCode);
        var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        int port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();

        using var serve = Start(new() { ["SEEK_MODELS"] = _store }, "serve", name, "--port", port.ToString());
        try
        {
            using var http = new HttpClient();
            string? id = null;
            for (var clock = Stopwatch.StartNew(); id is null && clock.Elapsed < TimeSpan.FromSeconds(60) && !serve.Process.HasExited; await Task.Delay(200))
            {
                try
                {
                    using var health = await http.GetAsync($"http://127.0.0.1:{port}/health");
                    if (!health.IsSuccessStatusCode) continue; // the model is still loading
                    using var models = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/v1/models"));
                    id = models.RootElement.GetProperty("data")[0].GetProperty("id").GetString();
                }
                catch (HttpRequestException) { } // not listening yet
            }
            Assert.Equal(name, id);
        }
        finally
        {
            serve.Process.Kill(entireProcessTree: true);
            serve.Process.WaitForExit();
        }
    }

    [Fact]
    public void Pulling_an_html_page_fails_in_one_line_and_stores_nothing()
    {
        _server.Serve("/login.gguf", "<!DOCTYPE html><html>Sign in</html>"u8.ToArray(), "text/html");

        string line = OneErrorLine(Seek("pull", _server.Url("/login.gguf").ToString()));

        Assert.Contains("login.gguf", line);
        Assert.Contains("HTML", line);
        Assert.Equal("", Seek("list").Stdout);
    }
}

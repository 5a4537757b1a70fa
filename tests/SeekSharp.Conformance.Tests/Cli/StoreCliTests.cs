using System.Security.Cryptography;
using System.Text.Json;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Tests.Store;

namespace SeekSharp.Conformance.Tests.Cli;

/// <summary>
/// Issue 22 item 3 end to end: <c>seek pull</c> from a loopback server into a store in a temporary folder
/// (<c>--models-dir</c>, never the user's), then <c>list</c>, <c>show</c>, a model-taking command given the store name, and <c>rm</c>.
/// </summary>
public sealed class StoreCliTests : IAsyncDisposable
{
    private static readonly TinyModelOptions Tiny = new() { Dim = 32, Heads = 4, KvHeads = 2, FfnDim = 64, Layers = 2, ContextLength = 128, Seed = 22 };

    private readonly string _store = Directory.CreateTempSubdirectory("seek-store-cli-").FullName;
    private readonly LoopbackServer _server = new();

    public async ValueTask DisposeAsync()
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

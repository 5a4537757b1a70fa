using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using SeekSharp.Server.Tests;

namespace SeekSharp.Server.ClientTests.Node;

/// <summary>The <c>openai</c> and <c>ollama</c> npm packages (tests/npm) against seek serve, each run by node on a
/// script in node/ that prints what it saw as JSON.</summary>
[Collection(ServerCollection.Name)]
public sealed class NodeClientTests(ServerFixture server)
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Openai_package_reads_reasoning_content_streamed_and_not()
    {
        var expected = await Reference.ChatAsync(server);

        var result = await RunAsync("openai-client.mjs", new Uri(server.BaseAddress, "v1").ToString().TrimEnd('/'));

        foreach (string mode in new[] { "once", "stream" })
        {
            var answer = result[mode]!;
            AssertAnswer(expected, answer, mode);
            var usage = answer["usage"]!;
            Assert.Equal(expected.PromptTokens, (int)usage["prompt_tokens"]!);
            Assert.Equal(expected.CompletionTokens, (int)usage["completion_tokens"]!);
            Assert.Equal(expected.PromptTokens + expected.CompletionTokens, (int)usage["total_tokens"]!);
            Assert.Equal(expected.ReasoningTokens, (int)usage["completion_tokens_details"]!["reasoning_tokens"]!);
        }
        // The streamed request repeats the first: its prompt comes from the prefix cache.
        Assert.True((int)result["stream"]!["usage"]!["prompt_tokens_details"]!["cached_tokens"]! > 0, result.ToJsonString());
    }

    [Fact]
    public async Task Ollama_package_reads_thinking_streamed_and_not()
    {
        var expected = await Reference.ChatAsync(server);

        var result = await RunAsync("ollama-client.mjs", server.BaseAddress.ToString().TrimEnd('/'));

        foreach (string mode in new[] { "once", "stream" })
        {
            var answer = result[mode]!;
            AssertAnswer(expected, answer, mode);
            Assert.Equal(expected.PromptTokens, (int)answer["usage"]!["prompt_tokens"]!);
            Assert.Equal(expected.CompletionTokens, (int)answer["usage"]!["completion_tokens"]!);
        }
        Assert.Contains(result["models"]!.AsArray(), m => ((string)m!).StartsWith(server.ModelId, StringComparison.Ordinal));
        Assert.Matches(@"^\d+\.\d+\.\d+$", (string?)result["version"]);
    }

    static void AssertAnswer(Reference.Answer expected, JsonNode answer, string mode)
    {
        Assert.True(expected.Reasoning == (string?)answer["reasoning"], $"{mode}: reasoning {answer["reasoning"]}");
        Assert.True(expected.Content == (string?)answer["content"], $"{mode}: content {answer["content"]}");
        Assert.Equal(expected.FinishReason, (string?)answer["finish"]);
        if (mode == "stream")
        {
            Assert.True((int)answer["chunks"]! > 10, $"{answer["chunks"]} chunks: not streamed");
            Assert.False((bool)answer["reasoningAfterContent"]!, "reasoning arrived after the answer had begun");
        }
    }

    /// <summary>Runs node on a script of node/ with (base URL, model, question, max tokens, tests/npm) and parses
    /// what it prints; kills node and its children when it runs past <see cref="Timeout"/>.</summary>
    async Task<JsonNode> RunAsync(string script, string baseUrl)
    {
        string npm = NpmDirectory();
        var psi = new ProcessStartInfo("node")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "node", script), baseUrl, server.ModelId, Reference.Question, Reference.MaxTokens.ToString(), npm },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = new UTF8Encoding(false),
        };
        using var node = Process.Start(psi) ?? throw new InvalidOperationException("could not start node");
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(Timeout);
        try { await node.WaitForExitAsync(deadline.Token); }
        catch (OperationCanceledException)
        {
            node.Kill(entireProcessTree: true);
            await node.WaitForExitAsync();
            throw new TimeoutException($"node {script} did not finish in {Timeout.TotalSeconds} s; stderr: {await stderr}");
        }
        Assert.True(node.ExitCode == 0, $"node {script} exited with {node.ExitCode}: {await stderr}");
        return JsonNode.Parse(await stdout)!;
    }

    /// <summary>tests/npm with the openai and ollama packages installed.</summary>
    static string NpmDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string npm = Path.Combine(dir.FullName, "tests", "npm");
            if (!File.Exists(Path.Combine(npm, "package.json"))) continue;
            foreach (string package in new[] { "openai", "ollama" })
                if (!File.Exists(Path.Combine(npm, "node_modules", package, "package.json")))
                    throw new InvalidOperationException($"{npm}/node_modules/{package} is missing: run 'npm ci' in {npm}");
            return npm;
        }
        throw new DirectoryNotFoundException("tests/npm not found above " + AppContext.BaseDirectory);
    }
}

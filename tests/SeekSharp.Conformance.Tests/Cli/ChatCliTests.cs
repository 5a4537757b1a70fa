using System.Text.Json;
using SeekSharp.Chat;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Gguf;
using SeekSharp.Tokenization;

namespace SeekSharp.Conformance.Tests.Cli;

/// <summary><c>seek chat</c>, <c>seek run --chat</c> and <c>seek template</c> end to end, with stdin piped, on a tiny model carrying the real R1 template.</summary>
public class ChatCliTests
{
    private static string TemplatePath(string name) => Path.Combine(RealTokenizers.RepoRoot(), "tests", "data", "chat", "templates", name);

    private static readonly Lazy<string> R1Model = new(() => BuildR1Model(contextLength: 512));

    // A context this long takes the tiny model tens of seconds to fill, so an answer is still running when the
    // interrupt arrives even on a loaded machine (with 512 it could end first, and the test would see no "[stopped]").
    private static readonly Lazy<string> R1LongContextModel = new(() => BuildR1Model(contextLength: 32768));

    private static string BuildR1Model(int contextLength)
    {
        string template = File.ReadAllText(TemplatePath("deepseek-r1-distill.jinja"));
        var t = RealTokenizers.DeepSeekV3;
        return TinyModelBuilder.GetOrBuild(new TinyModelOptions
        {
            Architecture = TinyArchitecture.Qwen2, Dim = 64, Heads = 4, KvHeads = 2, FfnDim = 128, Layers = 2, ContextLength = contextLength, Seed = 21,
            Tokenizer = new TinyTokenizer("deepseek_v3-r1-cli", t.VocabSize, w => { t.Write(w); w.Set("tokenizer.chat_template", template); }),
        });
    }

    [Fact]
    public void RunChatJsonSplitsReasoningFromContent()
    {
        var r = SeekProcess.Run("run", "--chat", "-m", R1Model.Value, "-p", "What is 2 + 2?", "-n", "8", "--temp", "0", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var root = doc.RootElement;
        // The R1 template prefills "<think>\n" and a random model never closes it: everything is reasoning.
        Assert.False(string.IsNullOrEmpty(root.GetProperty("reasoning_content").GetString()));
        Assert.Equal("", root.GetProperty("content").GetString());
        var usage = root.GetProperty("usage");
        int completion = usage.GetProperty("completion_tokens").GetInt32();
        Assert.InRange(completion, 1, 8);
        Assert.Equal(completion, usage.GetProperty("completion_tokens_details").GetProperty("reasoning_tokens").GetInt32());
        Assert.True(usage.GetProperty("prompt_tokens").GetInt32() > 3);
    }

    [Fact]
    public void ChatWorksWithPipedInputAndItsCommands()
    {
        string saved = Path.Combine(Path.GetTempPath(), $"seek-chat-{Guid.NewGuid():N}.json");
        try
        {
            string input = $"/set temp 0\n/set max-tokens 6\nWhat is 2 + 2?\n/save {saved}\n/help\n/reset\n/exit\n";
            var r = SeekProcess.RunWithInput(input, "chat", "-m", R1Model.Value);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Contains("Thinking", r.Stdout);
            Assert.Contains("Thought for", r.Stdout);
            Assert.Contains("/reset", r.Stdout);            // the help text
            Assert.Contains("conversation cleared", r.Stdout);
            Assert.DoesNotContain("   at ", r.Stderr);

            var messages = ChatMessageJson.Parse(File.ReadAllText(saved));
            Assert.Equal(["user", "assistant"], messages.Select(m => m.Role));
            Assert.Equal("What is 2 + 2?", messages[0].Content);
            Assert.False(string.IsNullOrEmpty(messages[1].ReasoningContent));
        }
        finally { File.Delete(saved); }
    }

    [Fact]
    public async Task InterruptStopsTheAnswerButNotTheSession()
    {
        // A test run started in the background of a non-interactive shell has SIGINT ignored, and a child inherits that,
        // so Ctrl+C would never reach seek: env (coreutils) restores the default disposition before it runs dotnet.
        var start = new System.Diagnostics.ProcessStartInfo("env")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            StandardOutputEncoding = System.Text.Encoding.UTF8,
        };
        foreach (var a in new[] { "--default-signal=INT", "dotnet", Path.Combine(AppContext.BaseDirectory, "seek.dll"), "chat", "-m", R1LongContextModel.Value, "--ctx", "32768" })
            start.ArgumentList.Add(a);
        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = new System.Text.StringBuilder();
        var sawThinking = new TaskCompletionSource();
        process.OutputDataReceived += (_, e) =>
        {
            lock (stdout) stdout.AppendLine(e.Data);
            if (e.Data?.Contains("Thinking") == true) sawThinking.TrySetResult();
        };
        process.BeginOutputReadLine();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteLineAsync("Tell me everything.");
        await process.StandardInput.FlushAsync();
        await sawThinking.Task.WaitAsync(TimeSpan.FromMinutes(1));

        using (var kill = System.Diagnostics.Process.Start("kill", ["-INT", process.Id.ToString()])) kill.WaitForExit();
        await process.StandardInput.WriteLineAsync("/exit");
        process.StandardInput.Close();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(1)), "seek chat did not end after Ctrl+C and /exit");
        string output;
        lock (stdout) output = stdout.ToString();
        Assert.True(process.ExitCode == 0, await stderr);
        Assert.Contains("[stopped]", output);
    }

    [Fact]
    public void ChatEndsAtTheEndOfPipedInputAndReportsBadCommands()
    {
        var r = SeekProcess.RunWithInput("/set nonsense 1\n/load /nonexistent.json\n", "chat", "-m", R1Model.Value);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("unknown setting 'nonsense'", r.Stderr);
        Assert.Contains("does not exist", r.Stderr);
    }

    [Fact]
    public void TemplatePrintsExactlyWhatTheFormatterRenders()
    {
        string messages = Path.Combine(Path.GetTempPath(), $"seek-msgs-{Guid.NewGuid():N}.json");
        const string json = """
            [{"role":"user","content":"Hi"},{"role":"assistant","content":"<think>\nhmm\n</think>\n\nHello!"},{"role":"user","content":"Bye"}]
            """;
        File.WriteAllText(messages, json);
        try
        {
            using var gguf = GgufFile.Open(R1Model.Value);
            var formatter = new ChatPromptFormatter(gguf.GetString("tokenizer.chat_template"), Tokenizer.FromGguf(gguf));

            var r = SeekProcess.Run("template", "-m", R1Model.Value, "--messages", messages);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal(formatter.RenderJson(json, addGenerationPrompt: true), r.Stdout);
            Assert.EndsWith("<｜Assistant｜><think>\n", r.Stdout);
            Assert.DoesNotContain("hmm", r.Stdout); // the R1 template drops earlier reasoning

            var noGen = SeekProcess.Run("template", "-m", R1Model.Value, "--messages", messages, "--no-generation-prompt");
            Assert.Equal(formatter.RenderJson(json, addGenerationPrompt: false), noGen.Stdout);

            var sample = SeekProcess.Run("template", "-m", R1Model.Value);
            Assert.Equal(0, sample.ExitCode);
            Assert.Contains("What is 2 + 2?", sample.Stdout);
        }
        finally { File.Delete(messages); }
    }

    [Fact]
    public void TemplateFileOverridesAndVarsReachTheTemplate()
    {
        string file = Path.Combine(Path.GetTempPath(), $"seek-tmpl-{Guid.NewGuid():N}.jinja");
        File.WriteAllText(file, "{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}{% if enable_thinking is defined and not enable_thinking %}think=off{% endif %}");
        try
        {
            var r = SeekProcess.Run("template", "-m", R1Model.Value, "--template", file, "--var", "enable_thinking=false");
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.StartsWith("[system:You are a helpful assistant.][user:What is 2 + 2?]", r.Stdout);
            Assert.EndsWith("think=off", r.Stdout);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void TemplateErrorsAreOneLine()
    {
        string file = Path.Combine(Path.GetTempPath(), $"seek-bad-{Guid.NewGuid():N}.jinja");
        File.WriteAllText(file, "line one\n{% if %}");
        try
        {
            var r = SeekProcess.Run("template", "-m", R1Model.Value, "--template", file);
            Assert.NotEqual(0, r.ExitCode);
            Assert.Contains("line 2", r.Stderr);
            Assert.DoesNotContain("   at ", r.Stderr);
        }
        finally { File.Delete(file); }
    }
}

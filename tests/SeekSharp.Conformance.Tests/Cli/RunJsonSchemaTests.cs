using System.Text.Json;

namespace SeekSharp.Conformance.Tests.Cli;

/// <summary><c>seek run -j SCHEMA</c> (llama.cpp's flag): the answer after the thinking is JSON of the schema, in chat
/// and raw runs; a schema beyond the grammar is refused in one line before the model loads.</summary>
public class RunJsonSchemaTests
{
    private const string Schema = """{"type":"object","properties":{"answer":{"type":"integer"}},"required":["answer"]}""";

    [Fact]
    public void ChatRunAnswersInTheSchemaAfterThinking()
    {
        var r = SeekProcess.Run("run", "--chat", "-p", "What is 347 + 829?", "--temp", "0", "-n", "300", "--json", "-j", Schema);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var reply = JsonDocument.Parse(r.Stdout);
        Assert.Equal("stop", reply.RootElement.GetProperty("finish_reason").GetString());
        Assert.Contains("347 + 829", reply.RootElement.GetProperty("reasoning_content").GetString());
        using var answer = JsonDocument.Parse(reply.RootElement.GetProperty("content").GetString()!);
        Assert.Equal(JsonValueKind.Number, answer.RootElement.GetProperty("answer").ValueKind);
    }

    [Fact]
    public void RawRunWithAnEmptySchemaWritesAJsonObject()
    {
        string file = Path.Combine(AppContext.BaseDirectory, "run-json-schema-empty.json");
        File.WriteAllText(file, "{}");
        var r = SeekProcess.Run("run", "-p", "347 + 829 =", "--temp", "0", "-n", "200", "--json", "--json-schema-file", file);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var run = JsonDocument.Parse(r.Stdout);
        using var text = JsonDocument.Parse(run.RootElement.GetProperty("text").GetString()!);
        Assert.Equal(JsonValueKind.Object, text.RootElement.ValueKind);
    }

    [Fact]
    public void AnUnsupportedSchemaIsOneLine()
    {
        var r = SeekProcess.Run("run", "-p", "x", "-j", """{"type":"object","not":{}}""");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("seek: error: --json-schema: #: 'not' is not supported in a response schema", r.Stderr.TrimEnd());
    }
}

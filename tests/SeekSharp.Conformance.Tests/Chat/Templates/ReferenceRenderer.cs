using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SeekSharp.Conformance.Tests.Chat.Templates;

/// <summary>Renders a batch of (template, variables) with @huggingface/jinja through one node process (render.mjs).</summary>
internal static class ReferenceRenderer
{
    internal sealed record Result(bool Ok, string Text);

    public static IReadOnlyList<Result> RenderAll(IReadOnlyList<(string Template, IReadOnlyDictionary<string, object?> Variables)> cases)
    {
        var input = new JsonArray();
        foreach (var (template, variables) in cases)
            input.Add(new JsonObject
            {
                ["template"] = template,
                ["variables"] = JsonSerializer.SerializeToNode(variables),
            });
        string script = Path.Combine(TemplateTestData.RepoRoot, "tests", "SeekSharp.Conformance.Tests", "Chat", "Templates", "render.mjs");
        var psi = new ProcessStartInfo("node", [script])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = new UTF8Encoding(false),
            StandardInputEncoding = new UTF8Encoding(false),
        };
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start node");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(input.ToJsonString());
        process.StandardInput.Close();
        if (!process.WaitForExit(60_000))
        {
            process.Kill();
            throw new TimeoutException("node render.mjs did not finish in 60 s");
        }
        if (process.ExitCode != 0) throw new InvalidOperationException($"node render.mjs failed: {stderr.Result}");
        var results = JsonNode.Parse(stdout.Result)!.AsArray();
        return [.. results.Select(r => r!["ok"]!.GetValue<bool>()
            ? new Result(true, r["output"]!.GetValue<string>())
            : new Result(false, r["error"]!.GetValue<string>()))];
    }
}

using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Gguf;
using Xunit.Abstractions;

namespace SeekSharp.Conformance.Tests.Cli;

/// <summary>
/// Issue 16: seeded mutation fuzzing of the user files that <see cref="CrashFreeInputTests"/> does not fuzz: chat templates
/// (<c>seek template --template</c>), tools JSON (<c>--tools</c>), training configs (<c>seek train --config</c>), training
/// checkpoints (<c>seek train --resume</c>) and saved conversations (chat <c>/load</c>). Every run must end with exit 0
/// or one "seek:" line and exit 1 or 2 (never 134, 70 or a stack trace) and peak at most 1 GiB of resident memory
/// (<see cref="FuzzSupport.MemoryCeilingKb"/>). Each reader runs a fixed number of mutations within a wall-time cap,
/// after checking that its unmutated seed succeeds (so that a wrong command line cannot make every mutation "pass").
/// </summary>
public sealed class FuzzUserFilesTests(ITestOutputHelper output) : IDisposable
{
    private static string Bundled => Path.Combine(RealTokenizers.RepoRoot(), "models", "seeksharp-r1-tiny.gguf");

    private static string RealTemplate(string name) => Path.Combine(RealTokenizers.RepoRoot(), "tests", "data", "chat", "templates", name + ".jinja");

    private readonly string _dir = Directory.CreateTempSubdirectory("seek-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, byte[] content)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    private string Write(string name, string content) => Write(name, Encoding.UTF8.GetBytes(content));

    /// <summary>One mutated input: what to run and how to describe it when it fails.</summary>
    private sealed record Case(string Description, string[] Args, string Stdin = "", bool Interactive = false);

    /// <summary>
    /// Runs <paramref name="seed"/> (must exit 0), then <paramref name="count"/> mutations from <paramref name="next"/>;
    /// fails if the mutations take longer than <paramref name="cap"/>. Reports the outcomes and the peak memory.
    /// </summary>
    /// <remarks>The caps stop a runaway loop, not a slow machine: they are three times the first caps, which five of these
    /// tests missed while a training job shared the two cores.</remarks>
    private void Fuzz(string reader, Case seed, int count, TimeSpan cap, Func<int, Case> next, Action<SeekProcess.Result>? checkSeed = null)
    {
        var baseline = FuzzSupport.Run(seed.Stdin, seed.Args);
        Assert.True(baseline.ExitCode == 0, $"{reader}: the unmutated input fails: {baseline.Stderr}");
        FuzzSupport.AssertNoCrash(baseline.Result, $"{reader}: the unmutated input", baseline.PeakRssKb, seed.Interactive);
        checkSeed?.Invoke(baseline.Result);

        var exits = new SortedDictionary<int, int>();
        var errors = new List<string>();
        int inSession = 0;
        long peakKb = baseline.PeakRssKb;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            Assert.True(clock.Elapsed < cap, $"{reader}: only {i} of {count} mutations ran within the {cap.TotalSeconds:F0} s cap");
            var c = next(i);
            var r = FuzzSupport.Run(c.Stdin, c.Args);
            FuzzSupport.AssertNoCrash(r.Result, $"{reader}, mutation {i} ({c.Description})", r.PeakRssKb, c.Interactive);
            exits[r.ExitCode] = exits.GetValueOrDefault(r.ExitCode) + 1;
            // A chat reports a refused /load on stderr and goes on (exit 0): count those lines too.
            string[] refused = [.. r.Stderr.TrimEnd().Split('\n').Where(l => r.ExitCode != 0 || l.StartsWith("seek: error:"))];
            if (refused.Length > 0) { errors.Add(refused[^1]); if (r.ExitCode == 0) inSession++; }
            peakKb = Math.Max(peakKb, r.PeakRssKb);
        }
        output.WriteLine($"{reader}: {count} mutations in {clock.Elapsed.TotalSeconds:F1} s; " +
                         string.Join(", ", exits.Select(e => $"exit {e.Key}: {e.Value}")) +
                         (seed.Interactive ? $" ({inSession} of them with an error line, the session going on)" : "") +
                         $"; peak RSS {peakKb / 1024} MiB (ceiling {FuzzSupport.MemoryCeilingKb / 1024} MiB, {FuzzSupport.MemoryMethod})");
        foreach (string e in errors.Distinct().Take(8)) output.WriteLine("  " + (e.Length > 200 ? e[..200] + "…" : e));
        Assert.Equal(count, exits.Values.Sum());
    }

    private static string Show(byte[] bytes) => Encoding.UTF8.GetString(bytes.Length <= 600 ? bytes : bytes[..600]) + (bytes.Length > 600 ? "…" : "");

    // ---- chat templates and tools ----

    private const string Messages = """
        [{"role": "system", "content": "You can call tools."}, {"role": "user", "content": "Weather in Paris?"},
         {"role": "assistant", "content": "", "reasoning_content": "Ask the tool.",
          "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
         {"role": "tool", "tool_call_id": "call_1", "content": "{\"temperature\": 18.5}"},
         {"role": "assistant", "content": "<think>\nIt is mild.\n</think>\n\nIt is 18.5 °C."}, {"role": "user", "content": "Thanks!"}]
        """;

    private const string Tools = """
        [{"type": "function", "function": {"name": "get_weather", "description": "Get the current weather for a city.",
          "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name, e.g. \"Paris\""},
                                                          "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                         "required": ["city"]}}},
         {"type": "function", "function": {"name": "now", "description": "Current time.", "parameters": {"type": "object", "properties": {}}}}]
        """;

    // Walks every part of each tool, as templates that list tools do.
    private const string ToolsTemplate = """
        {%- for tool in tools %}{{ tool.type }} {{ tool.function.name }}: {{ tool.function.description | trim }}
        {%- for name, p in tool.function.parameters.properties.items() %} {{ name }}={{ p.type }}{% if p.enum %}{{ p.enum | join('|') }}{% endif %}{% endfor %}
        {{ tool | tojson }}
        {% endfor %}{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}
        """;

    [Fact]
    public void FuzzTemplateFiles()
    {
        // The bundled model's own R1 template, the real DeepSeek templates (R1-Distill and V3.1, as they ship) and a small one.
        string modelTemplate;
        using (var gguf = GgufFile.Open(Bundled)) modelTemplate = gguf.GetString("tokenizer.chat_template");
        byte[][] seeds =
        [
            Encoding.UTF8.GetBytes(modelTemplate), File.ReadAllBytes(RealTemplate("deepseek-r1-distill")),
            File.ReadAllBytes(RealTemplate("deepseek-v3.1")), Encoding.UTF8.GetBytes(ToolsTemplate),
        ];
        string messages = Write("messages.json", Messages), tools = Write("tools.json", Tools);
        string[] Args(string template) => ["template", "-m", Bundled, "--template", template, "--messages", messages, "--tools", tools];
        foreach (var (seed, i) in seeds.Select((s, i) => (s, i)).Skip(1))
        {
            var r = SeekProcess.Run(Args(Write($"seed{i}.jinja", seed)));
            Assert.True(r.ExitCode == 0, $"template seed {i}: {r.Stderr}");
        }

        var rng = new Random(161);
        Fuzz("template --template", new Case("seed", Args(Write("seed0.jinja", seeds[0]))), count: 48, TimeSpan.FromSeconds(180), i =>
        {
            byte[] mutated = FuzzSupport.MutateJinja(seeds[i % seeds.Length], rng);
            return new Case($"of seed {i % seeds.Length}: {Show(mutated)}", Args(Write("t.jinja", mutated)));
        });
    }

    [Fact]
    public void FuzzToolsJson()
    {
        byte[] seed = Encoding.UTF8.GetBytes(Tools);
        string messages = Write("messages.json", Messages);
        string[] templates = [RealTemplate("deepseek-v3.1"), Write("tools.jinja", ToolsTemplate)];
        string[] Args(int i, string tools) => ["template", "-m", Bundled, "--template", templates[i % 2], "--messages", messages, "--tools", tools];
        var rng = new Random(162);
        Fuzz("template --tools", new Case("seed", Args(1, Write("seed.json", seed))), count: 40, TimeSpan.FromSeconds(150), i =>
        {
            byte[] mutated = Mutate(seed, rng, out string what);
            return new Case($"{what}: {Show(mutated)}", Args(i, Write("tools.json", mutated)));
        }, r => Assert.Contains("function get_weather: Get the current weather for a city. city=string unit=stringcelsius|fahrenheit", r.Stdout));
    }

    // ---- training config and checkpoint ----

    /// <summary>A tiny pretraining config (a model of 28k parameters), one step; <paramref name="tokenizer"/> is a GGUF
    /// whose tokenizer to reuse, else a 300-id tokenizer is trained on a few examples.</summary>
    private static string TinyConfig(string outputDir, string? tokenizer) => new JsonObject
    {
        ["model"] = new JsonObject { ["embeddingLength"] = 32, ["blockCount"] = 1, ["headCount"] = 2, ["headCountKv"] = 1, ["feedForwardLength"] = 64, ["contextLength"] = 128, ["tiedEmbeddings"] = false },
        ["tokenizer"] = tokenizer is null ? new JsonObject { ["vocabSize"] = 300, ["examplesPerTask"] = 20 } : new JsonObject { ["fromGguf"] = tokenizer },
        ["tasks"] = new JsonArray(new JsonObject { ["name"] = "addition", ["weight"] = 2 }, new JsonObject { ["name"] = "countdown", ["weight"] = 1.5 }),
        ["steps"] = 1, ["batchSize"] = 2, ["seqLen"] = 32, ["learningRate"] = 0.001, ["warmupSteps"] = 1, ["minLrRatio"] = 0.1,
        ["seed"] = 7, ["outputDir"] = outputDir, ["checkpointEvery"] = 1, ["threads"] = 1, ["name"] = "fuzz",
        ["validation"] = new JsonObject { ["every"] = 0, ["problems"] = 4, ["tasks"] = new JsonArray("addition-1x1") },
    }.ToJsonString();

    /// <summary>Trains the tiny model one step; returns its output directory (checkpoint, tokenizer, model).</summary>
    private string TrainTinyRun()
    {
        string run = Path.Combine(_dir, "run");
        var r = SeekProcess.Run("train", "pretrain", "--config", Write("run.json", TinyConfig(run, null)));
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        return run;
    }

    // ---- structure-aware JSON mutation (all the JSON readers) ----

    // Values that break types, ranges and arithmetic (int and float extremes, huge, negative, empty).
    private static readonly string[] Extremes =
    [
        "0", "-1", "1", "3", "2147483647", "-2147483648", "2147483648", "4294967296", "1e39", "-1e39", "1e-45", "0.5", "-0.0",
        "\"\"", "\"x\"", "\"NaN\"", "\"Infinity\"", "null", "true", "[]", "{}", "[1, 2]", "{\"name\": \"addition\"}",
    ];

    private static readonly string[] Numbers = ["0", "1", "2", "3", "7", "64", "255", "-1", "2147483647", "0.5", "1e-45", "1e30"];

    private static readonly string[] Strings =
        ["\"\"", "\"addition\"", "\"countdown\"", "\"x\"", "\"../../x\"", "\"\\u0000\"", "\"\U0001F600\"", "\"" + new string('a', 10_000) + "\""];

    /// <summary>Structure-aware mutation: one value (anywhere in the tree) replaced by an extreme, a key deleted, renamed or added.</summary>
    private static string MutateJsonValue(string json, Random rng, out string description)
    {
        var root = JsonNode.Parse(json)!;
        var slots = new List<(JsonNode Parent, object Key)>();
        void Collect(JsonNode? node)
        {
            if (node is JsonObject o)
                foreach (var (k, v) in o.ToList()) { slots.Add((o, k)); Collect(v); }
            else if (node is JsonArray a)
                for (int i = 0; i < a.Count; i++) { slots.Add((a, i)); Collect(a[i]); }
        }
        Collect(root);
        var (parent, key) = slots[rng.Next(slots.Count)];
        string value = Extremes[rng.Next(Extremes.Length)];
        switch (rng.Next(8))
        {
            case 0 when parent is JsonObject o:
                o.Remove((string)key);
                description = $"deleted {key}";
                break;
            case 1 when parent is JsonObject o:
                var moved = o[(string)key];
                o.Remove((string)key);
                o[((string)key).ToUpperInvariant()] = moved;
                description = $"renamed {key}";
                break;
            case 2 when parent is JsonObject o:
                o["unknownKey"] = JsonNode.Parse(value);
                description = "added unknownKey";
                break;
            default:
                var current = parent is JsonObject obj ? obj[(string)key] : ((JsonArray)parent)[(int)key];
                // Half the time a value of the same JSON type, which more often gets past the parser to the checks after it.
                string[] alike = current?.GetValueKind() switch
                {
                    JsonValueKind.Number => Numbers,
                    JsonValueKind.String => Strings,
                    JsonValueKind.True or JsonValueKind.False => ["true", "false"],
                    _ => Extremes,
                };
                if (rng.Next(2) == 0) value = alike[rng.Next(alike.Length)];
                if (parent is JsonObject o2) o2[(string)key] = JsonNode.Parse(value);
                else ((JsonArray)parent)[(int)key] = JsonNode.Parse(value);
                description = $"{key} = {(value.Length > 40 ? value[..40] + "…" : value)}";
                break;
        }
        return root.ToJsonString();
    }

    /// <summary>A byte-level mutation (<see cref="FuzzSupport.MutateJson"/>) <paramref name="bytesShare"/> of the time, else <see cref="MutateJsonValue"/>.</summary>
    private static byte[] Mutate(byte[] seed, Random rng, out string description, double bytesShare = 0.5)
    {
        if (rng.NextDouble() < bytesShare)
        {
            description = "bytes";
            return FuzzSupport.MutateJson(seed, rng);
        }
        return Encoding.UTF8.GetBytes(MutateJsonValue(Encoding.UTF8.GetString(seed), rng, out description));
    }

    [Fact]
    public void FuzzTrainConfig()
    {
        // Reusing a tokenizer keeps each run cheap (no tokenizer training); --steps 1 keeps a valid config to one step.
        string run = TrainTinyRun();
        string seed = TinyConfig(Path.Combine(_dir, "unused"), Path.Combine(run, "tokenizer.gguf"));
        string[] Args(int i, string config) => ["train", "pretrain", "--config", config, "--output", Path.Combine(_dir, $"out{i}"), "--steps", "1"];
        var rng = new Random(163);
        Fuzz("train --config", new Case("seed", Args(-1, Write("seed.json", seed))), count: 30, TimeSpan.FromSeconds(225), i =>
        {
            // A config is mostly refused at the first broken byte; value mutations reach the range checks and training.
            byte[] mutated = Mutate(Encoding.UTF8.GetBytes(seed), rng, out string what, bytesShare: 0.3);
            return new Case($"{what}: {Show(mutated)}", Args(i, Write("config.json", mutated)));
        });
    }

    // Found by FuzzTrainConfig: JSON null or a missing task name reached the recipes as null and ended as exit 70
    // (NullReferenceException, ArgumentNullException); TrainConfig now refuses them where it reads them.
    [Theory]
    [InlineData("tasks", "[{\"weight\": 1}]", "missing required properties including: 'name'")]
    [InlineData("tasks", "[{\"name\": null}]", "$.tasks[0].name")]
    [InlineData("tasks", "[null]", "tasks holds a null entry")]
    [InlineData("tasks", "null", "$.tasks")]
    [InlineData("model", "null", "$.model")]
    [InlineData("name", "null", "$.name")]
    [InlineData("validation", "{\"tasks\": [null]}", "validation.tasks holds a null entry")]
    public void NullInTrainConfigIsOneLine(string key, string value, string expected)
    {
        var config = JsonNode.Parse(TinyConfig(Path.Combine(_dir, "out"), null))!.AsObject();
        config[key] = JsonNode.Parse(value);
        var r = SeekProcess.Run("train", "pretrain", "--config", Write("null.json", config.ToJsonString()));
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("seek: error: ", r.Stderr);
        Assert.Single(r.Stderr.TrimEnd().Split('\n'));
        Assert.Contains(expected, r.Stderr);
    }

    // The checkpoint header: magic (8), version (4), 7 sizes (28), epsilon, theta (8), tied (1), step, random state (16), count (4).
    private const int CheckpointHeader = 69;

    [Fact]
    public void FuzzTrainResumeCheckpoint()
    {
        string run = TrainTinyRun();
        byte[] original = File.ReadAllBytes(Path.Combine(run, "checkpoint.ckpt"));
        string config = Write("resume.json", TinyConfig(Path.Combine(_dir, "unused"), null));
        // Each run gets a fresh output directory with the run's tokenizer and the (mutated) checkpoint; --steps 1 is the
        // checkpoint's own step, so a valid checkpoint resumes and exports without training.
        string Prepare(string name, byte[] checkpoint)
        {
            string dir = Path.Combine(_dir, name);
            Directory.CreateDirectory(dir);
            File.Copy(Path.Combine(run, "tokenizer.gguf"), Path.Combine(dir, "tokenizer.gguf"));
            File.WriteAllBytes(Path.Combine(dir, "checkpoint.ckpt"), checkpoint);
            return dir;
        }
        string[] Args(string dir) => ["train", "pretrain", "--config", config, "--output", dir, "--resume", "--steps", "1"];
        var rng = new Random(164);
        Fuzz("train --resume", new Case("seed", Args(Prepare("resume-seed", original))), count: 36, TimeSpan.FromSeconds(180), i =>
        {
            byte[] mutated = (byte[])original.Clone();
            string what = FuzzSupport.MutateBinary(ref mutated, CheckpointHeader, rng);
            return new Case(what, Args(Prepare($"resume{i}", mutated)));
        });
    }

    // ---- chat /load ----

    // Found by FuzzChatLoad: a field of the wrong JSON type (a number as "role") ended the chat with exit 70
    // (InvalidOperationException from JsonNode.GetValue); ChatMessageJson now refuses it by name and the chat goes on.
    [Theory]
    [InlineData("[{\"role\": 2147483647, \"content\": \"hi\"}]", "[0].role: expected a string, found Number")]
    [InlineData("[{\"role\": \"user\", \"content\": \"hi\", \"name\": {}}]", "[0].name: expected a string, found Object")]
    [InlineData("[{\"role\": \"user\", \"content\": [\"hi\"]}]", "[0].content[0]: expected a text part object")]
    [InlineData("[{\"role\": \"assistant\", \"content\": \"\", \"tool_calls\": [7]}]", "[0].tool_calls[0]: expected a tool call object")]
    [InlineData("[{\"role\": \"assistant\", \"content\": \"\", \"tool_calls\": [{\"function\": {\"name\": []}}]}]", "[0].tool_calls[0].function.name: expected a string, found Array")]
    public void LoadingAFieldOfTheWrongTypeIsOneLineAndTheChatGoesOn(string json, string expected)
    {
        string file = Write("wrong-type.json", json);
        var r = SeekProcess.RunWithInput($"/load {file}\n/exit\n", "chat", "-m", Bundled, "-n", "1");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains($"seek: error: {file}{expected}", r.Stderr);
        Assert.DoesNotContain("internal error", r.Stderr);
    }

    [Fact]
    public void FuzzChatLoad()
    {
        // A real saved conversation: system prompt, two turns with the model's reasoning.
        string saved = Path.Combine(_dir, "saved.json");
        string[] chat = ["chat", "-m", Bundled, "-n", "12", "--temp", "0"];
        var save = SeekProcess.RunWithInput($"What is 12 + 30?\nAnd 7 - 9?\n/save {saved}\n/exit\n", [.. chat, "--system", "Answer \"briefly\"."]);
        Assert.True(save.ExitCode == 0 && File.Exists(saved), save.Stderr);
        byte[] seed = File.ReadAllBytes(saved);

        // /load, then a turn, so that the loaded messages also go through the R1 template and the tokenizer.
        string Input(string file) => $"/load {file}\nWhat is 1 + 1?\n/exit\n";
        var rng = new Random(165);
        Fuzz("chat /load", new Case("seed", ["chat", "-m", Bundled, "-n", "1"], Input(saved), Interactive: true), count: 30, TimeSpan.FromSeconds(180), i =>
        {
            byte[] mutated = Mutate(seed, rng, out string what);
            return new Case($"{what}: {Show(mutated)}", ["chat", "-m", Bundled, "-n", "1"], Input(Write("conversation.json", mutated)), Interactive: true);
        }, r => Assert.Contains("loaded 5 messages", r.Stdout));
    }
}

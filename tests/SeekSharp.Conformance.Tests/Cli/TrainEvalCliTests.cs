using System.Text.Json;
using SeekSharp.Models;

namespace SeekSharp.Conformance.Tests.Cli;

/// <summary><c>seek train</c>, <c>seek eval</c> and the bundled-model lookup, end to end on a tiny model trained for a few steps.</summary>
/// <remarks>Every directory a test makes is deleted when the test is done; the shared pretrained run's when the class is.</remarks>
public sealed class TrainEvalCliTests(TrainEvalCliTests.PretrainedRun pretrained) : IClassFixture<TrainEvalCliTests.PretrainedRun>, IDisposable
{
    /// <summary>A tiny model pretrained for 4 steps, trained on first use and shared by the tests that read it.</summary>
    public sealed class PretrainedRun : IDisposable
    {
        private readonly Lazy<string> _directory = new(() =>
        {
            string dir = CreateDirectory();
            string config = WriteConfig(dir, steps: 4, checkpointEvery: 2);
            var r = SeekProcess.Run("train", "pretrain", "--config", config);
            Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
            return dir;
        });

        public string Folder => _directory.Value;

        public void Dispose()
        {
            if (_directory.IsValueCreated)
                DeleteDirectory(_directory.Value);
        }
    }

    private readonly List<string> _directories = [];

    private string Pretrained => pretrained.Folder;

    private string NewDirectory()
    {
        string dir = CreateDirectory();
        _directories.Add(dir);
        return dir;
    }

    public void Dispose()
    {
        foreach (string dir in _directories)
            DeleteDirectory(dir);
    }

    static string CreateDirectory() => Directory.CreateTempSubdirectory("seek-train-").FullName;

    static void DeleteDirectory(string dir)
    {
        if (Directory.Exists(dir))
            Directory.Delete(dir, recursive: true);
    }

    static string WriteConfig(string dir, int steps, int checkpointEvery, string? initFrom = null)
    {
        string path = Path.Combine(dir, "config.in.json");
        var config = new Dictionary<string, object?>
        {
            ["model"] = new { embeddingLength = 32, blockCount = 1, headCount = 2, headCountKv = 1, feedForwardLength = 64, contextLength = 128 },
            ["tokenizer"] = new { vocabSize = 300, examplesPerTask = 40 },
            ["tasks"] = new object[] { new { name = "addition", weight = 2 }, new { name = "countdown", weight = 1 } },
            ["steps"] = steps, ["batchSize"] = 2, ["seqLen"] = 64, ["warmupSteps"] = 1,
            ["outputDir"] = Path.Combine(dir, "out"), ["checkpointEvery"] = checkpointEvery, ["threads"] = 1,
        };
        if (initFrom is not null) config["initFrom"] = initFrom;
        File.WriteAllText(path, JsonSerializer.Serialize(config));
        return path;
    }

    [Fact]
    public void PretrainWritesTheLogPlotCheckpointAndALoadableGgufWithTheR1Template()
    {
        string outDir = Path.Combine(Pretrained, "out");
        string[] log = File.ReadAllLines(Path.Combine(outDir, "log.csv"));
        Assert.StartsWith("step,loss,", log[0]);
        Assert.Equal(["1", "2", "3", "4"], log.Skip(1).Select(l => l.Split(',')[0]));
        Assert.All(log.Skip(1), l => Assert.True(double.Parse(l.Split(',')[1], System.Globalization.CultureInfo.InvariantCulture) > 0));
        byte[] png = File.ReadAllBytes(Path.Combine(outDir, "curves.png"));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.True(File.Exists(Path.Combine(outDir, "checkpoint.ckpt")));

        using var model = Model.Load(Path.Combine(outDir, "model.gguf"));
        Assert.Equal(300, model.Config.VocabSize);
        Assert.Contains("<think>", model.File.GetString("tokenizer.chat_template"));
    }

    [Fact]
    public void ResumeContinuesTheLogFromTheCheckpointAndSftStartsFromTheGguf()
    {
        // Copy the finished 4-step run, resume it to 6 steps: the log goes on at step 5, as one run.
        string dir = NewDirectory();
        foreach (string f in Directory.GetFiles(Path.Combine(Pretrained, "out")))
        {
            Directory.CreateDirectory(Path.Combine(dir, "out"));
            File.Copy(f, Path.Combine(dir, "out", Path.GetFileName(f)));
        }
        string config = WriteConfig(dir, steps: 6, checkpointEvery: 2);
        var r = SeekProcess.Run("train", "pretrain", "--config", config, "--resume");
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        Assert.Equal(["1", "2", "3", "4", "5", "6"], File.ReadAllLines(Path.Combine(dir, "out", "log.csv")).Skip(1).Select(l => l.Split(',')[0]));

        string sftConfig = WriteConfig(dir, steps: 2, checkpointEvery: 2, initFrom: Path.Combine(dir, "out", "model.gguf"));
        var sft = SeekProcess.Run("train", "sft", "--config", sftConfig, "--output", Path.Combine(dir, "sft"));
        Assert.True(sft.ExitCode == 0, sft.Stderr + sft.Stdout);
        Assert.True(File.Exists(Path.Combine(dir, "sft", "model.gguf")));
        Assert.Contains("sft step 2/2", sft.Stdout);
    }

    [Fact]
    public void ResumeWithoutACheckpointIsAClearError()
    {
        string dir = NewDirectory();
        var r = SeekProcess.Run("train", "sft", "--config", WriteConfig(dir, 2, 1), "--resume");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("no checkpoint", r.Stderr);
    }

    [Fact]
    public void EvalJsonNamesTheTaskItsDigitsTheSplitAndTheDistinctProblems()
    {
        string model = Path.Combine(Pretrained, "out", "model.gguf");
        var r = SeekProcess.Run("eval", "-m", model, "--task", "addition", "--n", "6", "--seed", "3", "--max-tokens", "16", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal(["task", "digits", "split", "phrasings", "requested", "n", "accuracy", "format_rate"], doc.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal("addition", doc.RootElement.GetProperty("task").GetString());
        Assert.Equal("1-3x1-3", doc.RootElement.GetProperty("digits").GetString());
        Assert.Equal("test", doc.RootElement.GetProperty("split").GetString());
        Assert.Equal("trained", doc.RootElement.GetProperty("phrasings").GetString());
        Assert.Equal(6, doc.RootElement.GetProperty("n").GetInt32());
        Assert.InRange(doc.RootElement.GetProperty("accuracy").GetDouble(), 0, 1);
        Assert.InRange(doc.RootElement.GetProperty("format_rate").GetDouble(), 0, 1);

        var unknown = SeekProcess.Run("eval", "-m", model, "--task", "poetry", "--json");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("Unknown task 'poetry'", unknown.Stderr);
    }

    [Fact]
    public void EvalDigitsAskForOperandLengths_AndASmallSplitSaysHowManyItHolds()
    {
        string model = Path.Combine(Pretrained, "out", "model.gguf");
        var r = SeekProcess.Run("eval", "-m", model, "--task", "addition", "--digits", "3", "--split", "validation", "--n", "4", "--max-tokens", "8");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("addition-3x3", r.Stdout);
        Assert.Contains("validation split  trained phrasings  n 4 distinct", r.Stdout);

        // One-digit addition has 55 problems; its test split holds a handful, each asked once.
        var small = SeekProcess.Run("eval", "-m", model, "--task", "addition-1x1", "--n", "500", "--max-tokens", "4", "--json");
        Assert.True(small.ExitCode == 0, small.Stderr);
        using var doc = JsonDocument.Parse(small.Stdout);
        Assert.Equal(500, doc.RootElement.GetProperty("requested").GetInt32());
        Assert.InRange(doc.RootElement.GetProperty("n").GetInt32(), 1, 10);

        var bad = SeekProcess.Run("eval", "-m", model, "--task", "countdown", "--digits", "3");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("countdown has no operand digits", bad.Stderr);
    }

    [Fact]
    public void EvalAsksInTheHeldOutPhrasingsWhenTold_AndNamesThem()
    {
        string model = Path.Combine(Pretrained, "out", "model.gguf");
        var r = SeekProcess.Run("eval", "-m", model, "--task", "subtraction", "--phrasings", "held-out", "--n", "3", "--max-tokens", "4", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using (var doc = JsonDocument.Parse(r.Stdout))
            Assert.Equal("held-out", doc.RootElement.GetProperty("phrasings").GetString());
        var text = SeekProcess.Run("eval", "-m", model, "--task", "addition", "--phrasings", "held-out", "--n", "2", "--max-tokens", "4");
        Assert.True(text.ExitCode == 0, text.Stderr);
        Assert.Contains("test split  held-out phrasings  n 2 distinct", text.Stdout);

        var bad = SeekProcess.Run("eval", "-m", model, "--task", "addition", "--phrasings", "unseen");
        Assert.Equal(2, bad.ExitCode);
        Assert.Equal("seek: --phrasings expects one of trained, held-out, got 'unseen' (see seek eval --help)", bad.Stderr.Trim());
    }

    [Fact]
    public void EvalJsonIsOneValue_AnArrayForAll_AndTurnsReportEachTurn()
    {
        string model = Path.Combine(Pretrained, "out", "model.gguf");
        var all = SeekProcess.Run("eval", "-m", model, "--task", "all", "--n", "2", "--max-tokens", "4", "--json");
        Assert.True(all.ExitCode == 0, all.Stderr);
        using (var doc = JsonDocument.Parse(all.Stdout))
        {
            Assert.Equal(JsonValueKind.Array, doc.RootElement.ValueKind);
            Assert.Equal(["addition", "subtraction", "multiplication", "countdown"],
                doc.RootElement.EnumerateArray().Select(e => e.GetProperty("task").GetString()));
        }

        // Three questions per conversation, each after the model's own earlier replies.
        var turns = SeekProcess.Run("eval", "-m", model, "--task", "addition", "--n", "3", "--turns", "3", "--max-tokens", "4", "--json");
        Assert.True(turns.ExitCode == 0, turns.Stderr);
        using (var doc = JsonDocument.Parse(turns.Stdout))
        {
            Assert.Equal(3, doc.RootElement.GetProperty("turns").GetInt32());
            Assert.Equal(3, doc.RootElement.GetProperty("n").GetInt32());
            Assert.Equal(3, doc.RootElement.GetProperty("turn_accuracy").GetArrayLength());
            Assert.InRange(doc.RootElement.GetProperty("later_turns_accuracy").GetDouble(), 0, 1);
        }
        var text = SeekProcess.Run("eval", "-m", model, "--task", "addition", "--n", "2", "--turns", "2", "--max-tokens", "4");
        Assert.True(text.ExitCode == 0, text.Stderr);
        Assert.Contains("turn 2", text.Stdout);
        Assert.Contains("turns 2-2", text.Stdout);
    }

    [Fact]
    public void SftWithValidationReportsAndExportsTheBestStep_GrpoTakesMuStepsPerBatch()
    {
        string dir = NewDirectory();
        string model = Path.Combine(Pretrained, "out", "model.gguf");
        string config = WriteConfig(dir, steps: 2, checkpointEvery: 1, initFrom: model);
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(config))!.AsObject();
        json["validation"] = System.Text.Json.Nodes.JsonNode.Parse("""{"every": 1, "problems": 2, "maxNewTokens": 4}""");
        File.WriteAllText(config, json.ToJsonString());
        var sft = SeekProcess.Run("train", "sft", "--config", config, "--output", Path.Combine(dir, "sft"));
        Assert.True(sft.ExitCode == 0, sft.Stderr + sft.Stdout);
        Assert.Contains("validation  best at step", sft.Stdout);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(dir, "sft", "validation.csv")).Length);

        string grpoConfig = WriteConfig(dir, steps: 4, checkpointEvery: 2, initFrom: model);
        var grpoJson = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(grpoConfig))!.AsObject();
        grpoJson["grpo"] = System.Text.Json.Nodes.JsonNode.Parse("""{"groupSize": 2, "promptsPerStep": 2, "maxCompletionTokens": 8}""");
        grpoJson["seqLen"] = 128; // countdown prompts take up to 64 of this tiny tokenizer's tokens
        File.WriteAllText(grpoConfig, grpoJson.ToJsonString());
        var grpo = SeekProcess.Run("train", "grpo", "--config", grpoConfig, "--output", Path.Combine(dir, "grpo"), "--grpo-iterations", "2");
        Assert.True(grpo.ExitCode == 0, grpo.Stderr + grpo.Stdout);
        string[] log = File.ReadAllLines(Path.Combine(dir, "grpo", "log.csv"));
        Assert.Contains("clip_frac", log[0]);
        Assert.Equal(["2", "4"], log.Skip(1).Select(l => l.Split(',')[0]));

        var odd = SeekProcess.Run("train", "grpo", "--config", WriteConfig(dir, steps: 3, checkpointEvery: 1, initFrom: model), "--grpo-iterations", "2");
        Assert.Equal(1, odd.ExitCode);
        Assert.Contains("multiple of grpo.iterations", odd.Stderr);
    }

    [Fact]
    public void WithoutAModelAndWithoutTheBundledOneRunExplainsWhatToDo()
    {
        // A copy of the app outside any checkout, started from an empty directory, finds no models/ folder.
        string app = NewDirectory(), cwd = NewDirectory();
        foreach (string f in Directory.GetFiles(AppContext.BaseDirectory))
            if (f.EndsWith(".dll", StringComparison.Ordinal) || Path.GetFileName(f).StartsWith("seek.", StringComparison.Ordinal))
                File.Copy(f, Path.Combine(app, Path.GetFileName(f)));
        var r = SeekProcess.RunIn(cwd, Path.Combine(app, "seek.dll"), "run", "-p", "hi");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("seeksharp-r1-tiny.gguf", r.Stderr);
        Assert.Contains("-m", r.Stderr);
        Assert.Contains("train-default-model.sh", r.Stderr);
    }
}

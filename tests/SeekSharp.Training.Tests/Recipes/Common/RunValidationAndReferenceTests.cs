using SeekSharp.Training.Export;
using SeekSharp.Training.Model;
using SeekSharp.Training.Optim;
using SeekSharp.Training.Recipes.Common;
using SeekSharp.Training.Recipes.Grpo;
using SeekSharp.Training.Recipes.Sft;

namespace SeekSharp.Training.Tests.Recipes.Common;

/// <summary>
/// Choices made on the validation split (which step's weights a run exports), and GRPO's KL reference, which stays the
/// starting model across <c>--resume</c>.
/// </summary>
public sealed class RunValidationAndReferenceTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("seek-run-tests-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    string StartingModel()
    {
        string path = Path.Combine(dir, "start.gguf");
        if (!File.Exists(path))
            GgufExport.Write(RecipeFixtures.Policy(maxBatch: 4, maxSeqLen: 128, seed: 5), path, RecipeFixtures.Tokenizer.WriteGgufMetadata);
        return path;
    }

    TrainConfig Config(string name, int steps) => new()
    {
        InitFrom = StartingModel(), Tasks = [new("addition")], Steps = steps, BatchSize = 4, SeqLen = 128, LearningRate = 1e-2f,
        WarmupSteps = 0, CheckpointEvery = 1, Threads = 1, OutputDir = Path.Combine(dir, name), ModelFile = "model.gguf",
    };

    static float[] Weights(string gguf) => TransformerGguf.Load(gguf, 1, 8).Parameters;

    [Fact]
    public void ValidationIsLogged_AndTheBestStepIsExported()
    {
        // An untrained model answers nothing right, so every score ties at 0 and the earliest evaluation stays the best:
        // the exported model holds step 1's weights, not the last step's.
        var config = Config("sft", 3) with { Validation = new() { Every = 1, Problems = 3, MaxNewTokens = 4 } };
        var result = SftRecipe.Run(config);

        string[] log = File.ReadAllLines(Path.Combine(config.OutputDir, "validation.csv"));
        Assert.Equal("step,addition-1-3x1-3_accuracy,addition-1-3x1-3_format,score", log[0]);
        Assert.Equal(["1", "2", "3"], log.Skip(1).Select(l => l.Split(',')[0]));
        Assert.NotNull(result.Validation);
        Assert.Equal(1, result.Validation!.Step);
        Assert.True(result.Validation.Exported);
        Assert.Equal(File.ReadAllBytes(Path.Combine(config.OutputDir, "best.gguf")), File.ReadAllBytes(result.ModelPath));
        Assert.Equal("1", File.ReadAllText(Path.Combine(config.OutputDir, "best.step")));

        // The checkpoint holds the last step, whose weights differ from the exported step-1 weights.
        var last = TransformerGguf.Load(StartingModel(), 4, 64);
        Checkpoint(config, last);
        Assert.NotEqual(last.Parameters, Weights(result.ModelPath));
    }

    [Fact]
    public void WithoutKeepBestTheLastStepIsExported_AndAResumedRunKeepsItsBest()
    {
        var config = Config("last", 2) with { Validation = new() { Every = 1, Problems = 2, MaxNewTokens = 4, KeepBest = false } };
        var result = SftRecipe.Run(config);
        var last = TransformerGguf.Load(StartingModel(), 4, 64);
        Checkpoint(config, last);
        Assert.Equal(last.Parameters, Weights(result.ModelPath));

        // Two steps, then resumed to four: the best (step 1, all scores tied) survives the restart.
        var first = Config("resumed", 2) with { Validation = new() { Every = 1, Problems = 2, MaxNewTokens = 4 } };
        SftRecipe.Run(first);
        var resumed = SftRecipe.Run(first with { Steps = 4 }, resume: true);
        Assert.Equal(1, resumed.Validation!.Step);
        Assert.Equal(["1", "2", "3", "4"], File.ReadAllLines(Path.Combine(first.OutputDir, "validation.csv")).Skip(1).Select(l => l.Split(',')[0]));
        Assert.Equal(File.ReadAllBytes(Path.Combine(first.OutputDir, "best.gguf")), File.ReadAllBytes(resumed.ModelPath));
    }

    [Fact]
    public void TheKlReferenceIsTheStartingModel_AlsoAfterResume()
    {
        var config = Config("grpo", 2) with
        {
            Grpo = new() { GroupSize = 2, PromptsPerStep = 2, MaxCompletionTokens = 6, KlBeta = 0.1f, Temperature = 1f },
            // An untrained policy earns no reward, so only decay moves it: enough to tell the resumed policy from the start.
            WeightDecay = 0.5f,
        };
        GrpoRecipe.Run(config);
        float[] start = Weights(StartingModel());
        Assert.Equal(start, Weights(Path.Combine(config.OutputDir, GrpoRecipe.ReferenceFile)));

        using (var run = TrainingRun.Start("grpo", config with { Steps = 4 }, resume: true, config.BatchSize))
        {
            Assert.Equal(2, run.Trainer.Step);
            var reference = GrpoRecipe.StartingReference(run);
            Assert.NotNull(reference);
            Assert.Equal(start, reference!.Parameters);
            Assert.NotEqual(run.Model.Parameters, reference.Parameters); // the resumed policy has moved on
        }
        var resumed = GrpoRecipe.Run(config with { Steps = 4 }, resume: true);
        Assert.Equal(4, resumed.Steps);
        Assert.Equal(start, Weights(Path.Combine(config.OutputDir, GrpoRecipe.ReferenceFile)));

        // Without the reference file a resumed run with β > 0 refuses to guess.
        File.Delete(Path.Combine(config.OutputDir, GrpoRecipe.ReferenceFile));
        var e = Assert.Throws<FileNotFoundException>(() => GrpoRecipe.Run(config with { Steps = 6 }, resume: true));
        Assert.Contains("reference.gguf", e.Message);
    }

    [Fact]
    public void GrpoStepsMustBeAMultipleOfTheIterations()
    {
        var config = Config("mu", 3) with { Grpo = new() { Iterations = 2 } };
        var e = Assert.Throws<ArgumentException>(config.Validate);
        Assert.Contains("multiple of grpo.iterations", e.Message);
    }

    static void Checkpoint(TrainConfig config, Transformer into)
    {
        var trainer = new Trainer(into, new AdamWOptions(), new LearningRateSchedule(), 1);
        SeekSharp.Training.Checkpoints.Checkpoint.Restore(trainer, Path.Combine(config.OutputDir, "checkpoint.ckpt"));
    }
}

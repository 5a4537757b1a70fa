using SeekSharp.Models;
using SeekSharp.Kernels.Threading;
using SeekSharp.Training.Checkpoints;
using SeekSharp.Training.Model;
using SeekSharp.Training.Optim;

namespace SeekSharp.Training.Tests.Checkpoints;

/// <summary>
/// A run interrupted by a checkpoint and resumed in a fresh trainer must reproduce the uninterrupted run bit for bit:
/// losses, parameters and AdamW moments. Batches are drawn from the trainer's own random generator, so its state is
/// part of what the checkpoint must carry.
/// </summary>
public sealed class ResumeTests : IDisposable
{
    private const int B = 2, T = 8, Steps = 10;
    private static readonly ModelConfig Config = ModelConfig.Llama(vocabSize: 24, contextLength: 8, embeddingLength: 16, blockCount: 2, headCount: 4, headCountKv: 2, feedForwardLength: 32);
    private static readonly AdamWOptions Options = new() { LearningRate = 5e-3f, WeightDecay = 0.1f, MaxGradNorm = 0.5f };
    private static readonly LearningRateSchedule Schedule = new() { WarmupSteps = 3, TotalSteps = Steps, MinRatio = 0.1f };

    private readonly WorkerPool _pool = new(2);
    private readonly string _dir = Directory.CreateTempSubdirectory("seeksharp-ckpt-").FullName;

    public void Dispose()
    {
        _pool.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private Trainer NewTrainer()
    {
        var model = new Transformer(Config, B, T, _pool);
        model.InitializeWeights(new TrainingRandom(7));
        return new Trainer(model, Options, Schedule, seed: 99);
    }

    // One step on a batch sampled from the trainer's generator, with some tokens masked.
    private static float Step(Trainer trainer)
    {
        var tokens = new int[B * T];
        var targets = new int[B * T];
        var weights = new float[B * T];
        for (int i = 0; i < tokens.Length; i++)
        {
            tokens[i] = trainer.Random.NextInt(Config.VocabSize);
            targets[i] = (tokens[i] * 5 + 3) % Config.VocabSize;
            weights[i] = trainer.Random.NextDouble() < 0.2 ? 0f : 1f;
        }
        return trainer.TrainStep(tokens, targets, weights, B, T).Loss;
    }

    [Fact]
    public void ResumedRunReproducesTheUninterruptedRunExactly()
    {
        var straight = NewTrainer();
        var expected = Enumerable.Range(0, Steps).Select(_ => Step(straight)).ToArray();

        var first = NewTrainer();
        var losses = Enumerable.Range(0, Steps / 2).Select(_ => Step(first)).ToList();
        string path = Path.Combine(_dir, "half.ckpt");
        Checkpoint.Save(first, path);

        var resumedModel = new Transformer(Checkpoint.ReadConfig(path), B, T, _pool); // zero weights until restored
        var resumed = new Trainer(resumedModel, Options, Schedule, seed: 12345);     // a different seed, overwritten
        Checkpoint.Restore(resumed, path);
        Assert.Equal(Steps / 2, resumed.Step);
        for (int i = Steps / 2; i < Steps; i++)
            losses.Add(Step(resumed));

        Assert.Equal(expected, losses);                         // bit-identical losses
        Assert.Equal(straight.Model.Parameters, resumed.Model.Parameters);
        Assert.Equal(straight.Optimizer.M, resumed.Optimizer.M);
        Assert.Equal(straight.Optimizer.V, resumed.Optimizer.V);
        Assert.Equal(straight.Random.State, resumed.Random.State);
        Assert.True(expected[^1] < expected[0], $"the run should learn: {string.Join(", ", expected)}");
    }

    [Fact]
    public void StepsAreIdenticalWhateverTheThreadCount()
    {
        float[] Run(WorkerPool pool)
        {
            var model = new Transformer(Config, B, T, pool);
            model.InitializeWeights(new TrainingRandom(7));
            var trainer = new Trainer(model, Options, Schedule, seed: 99);
            return Enumerable.Range(0, 3).Select(_ => Step(trainer)).Concat(model.Parameters).ToArray();
        }
        using var one = new WorkerPool(1);
        using var three = new WorkerPool(3);
        Assert.Equal(Run(one), Run(three));
    }

    [Fact]
    public void RestoreRejectsAnotherShapeAFileThatIsNoCheckpointAndATruncatedOne()
    {
        var trainer = NewTrainer();
        Step(trainer);
        string path = Path.Combine(_dir, "a.ckpt");
        Checkpoint.Save(trainer, path);

        var wider = new Trainer(new Transformer(Config with { FeedForwardLength = 48 }, B, T, _pool), Options, Schedule, 1);
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Restore(wider, path));
        Assert.Contains("FeedForwardLength = 32", e.Message);

        string junk = Path.Combine(_dir, "junk.ckpt");
        File.WriteAllText(junk, "definitely not a checkpoint");
        Assert.Contains("magic", Assert.Throws<CheckpointException>(() => Checkpoint.Restore(NewTrainer(), junk)).Message);

        string cut = Path.Combine(_dir, "cut.ckpt");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(cut, bytes[..(bytes.Length - 100)]);
        Assert.Contains("truncated", Assert.Throws<CheckpointException>(() => Checkpoint.Restore(NewTrainer(), cut)).Message);

        Assert.Contains("does not exist", Assert.Throws<CheckpointException>(() => Checkpoint.ReadConfig(Path.Combine(_dir, "none"))).Message);
    }
}

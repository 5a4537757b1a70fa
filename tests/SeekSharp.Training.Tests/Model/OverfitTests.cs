using SeekSharp.Models;
using SeekSharp.Kernels.Threading;
using SeekSharp.Training.Model;
using SeekSharp.Training.Optim;

namespace SeekSharp.Training.Tests.Model;

/// <summary>A tiny model must be able to memorise one batch: the end-to-end sign that forward, backward and AdamW fit together.</summary>
public class OverfitTests
{
    [Fact]
    public void TinyModelOverfitsOneBatchBelowFiveHundredthsNats()
    {
        var config = ModelConfig.Llama(vocabSize: 32, contextLength: 16, embeddingLength: 32, blockCount: 2, headCount: 4, headCountKv: 2, feedForwardLength: 64);
        const int b = 2, t = 16, steps = 300;
        using var pool = new WorkerPool(2);
        var model = new Transformer(config, b, t, pool);
        model.InitializeWeights(new TrainingRandom(1));
        var trainer = new Trainer(model, new AdamWOptions { LearningRate = 1e-2f, WeightDecay = 0f },
            new LearningRateSchedule { WarmupSteps = 10, TotalSteps = steps, MinRatio = 0.1f }, seed: 2);
        var rng = new TrainingRandom(3);
        int[] sequence = Enumerable.Range(0, b * (t + 1)).Select(_ => rng.NextInt(config.VocabSize)).ToArray();
        int[] tokens = new int[b * t], targets = new int[b * t];
        for (int s = 0; s < b; s++)
            for (int i = 0; i < t; i++)
            {
                tokens[s * t + i] = sequence[s * (t + 1) + i];
                targets[s * t + i] = sequence[s * (t + 1) + i + 1];
            }
        float[] weights = Enumerable.Repeat(1f, b * t).ToArray();

        float first = float.NaN, last = float.NaN;
        for (int step = 0; step < steps; step++)
        {
            var result = trainer.TrainStep(tokens, targets, weights, b, t);
            if (step == 0) first = result.Loss;
            last = result.Loss;
        }
        Assert.InRange(first, MathF.Log(config.VocabSize) - 0.5f, MathF.Log(config.VocabSize) + 0.5f); // ≈ ln V at init
        Assert.True(last < 0.05f, $"loss after {steps} steps is {last} (started at {first}); expected < 0.05");
    }
}

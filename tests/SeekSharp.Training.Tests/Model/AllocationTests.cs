using SeekSharp.Models;
using SeekSharp.Kernels.Threading;
using SeekSharp.Training.Model;
using SeekSharp.Training.Optim;

namespace SeekSharp.Training.Tests.Model;

/// <summary>A training step reuses its preallocated buffers: after a warm-up step it allocates nothing on the managed heap.</summary>
public class AllocationTests
{
    [Fact]
    public void TrainingStepsAllocateNothingAfterWarmUp()
    {
        var config = ModelConfig.Llama(vocabSize: 40, contextLength: 8, embeddingLength: 16, blockCount: 2, headCount: 4, headCountKv: 2, feedForwardLength: 32);
        const int b = 2, t = 8;
        using var pool = new WorkerPool(2);
        var model = new Transformer(config, b, t, pool);
        model.InitializeWeights(new TrainingRandom(1));
        var trainer = new Trainer(model, new AdamWOptions(), new LearningRateSchedule { WarmupSteps = 2, TotalSteps = 10 }, 1);
        int[] tokens = Enumerable.Range(0, b * t).Select(i => i % 40).ToArray();
        int[] targets = tokens.Select(x => (x + 1) % 40).ToArray();
        float[] weights = Enumerable.Repeat(1f, b * t).ToArray(), logProbs = new float[b * t], dLogProbs = new float[b * t];

        void Steps()
        {
            trainer.TrainStep(tokens, targets, weights, b, t);
            model.ZeroGradients();
            model.LogProbs(tokens, targets, b, t, logProbs);
            model.LogProbsBackward(dLogProbs);
            trainer.ApplyGradients();
        }

        Steps();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Steps();
        Steps();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}

using SeekSharp.Models;
using SeekSharp.Conformance.Tests.Oracle;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Kernels.Threading;
using SeekSharp.Training.Export;
using SeekSharp.Training.Model;
using SeekSharp.Training.Optim;
using Xunit.Abstractions;

namespace SeekSharp.Conformance.Tests.Training;

/// <summary>
/// A model trained by SeekSharp.Training and exported to GGUF must run in llama.cpp exactly as in training: llama.cpp
/// loads it with the shape it was trained with and its logits at every position equal the training forward's.
/// </summary>
public sealed class GgufExportConformanceTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("seeksharp-export-conf-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { } // still mapped by llama.cpp; the OS temp cleaner gets it
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LlamaCppGivesTheTrainingLogitsOfAnExportedModel(bool tied)
    {
        var config = ModelConfig.Llama(vocabSize: SyntheticBpeVocab.VocabSize, contextLength: 64, embeddingLength: 32, blockCount: 2, headCount: 4, headCountKv: 2, feedForwardLength: 64, tiedEmbeddings: tied);
        const int b = 2, t = 16;
        using var pool = new WorkerPool(1);
        var model = new Transformer(config, b, t, pool);
        model.InitializeWeights(new TrainingRandom(1), std: 0.2f);

        // A few real training steps, so the exported weights are the product of the optimizer, not of the initialiser.
        var trainer = new Trainer(model, new AdamWOptions { LearningRate = 1e-2f }, new LearningRateSchedule(), seed: 2);
        var rng = trainer.Random;
        int[] tokens = Enumerable.Range(0, b * t).Select(_ => rng.NextInt(256)).ToArray();
        int[] targets = tokens.Select(x => (x + 1) % 256).ToArray();
        float[] weights = Enumerable.Repeat(1f, b * t).ToArray();
        for (int i = 0; i < 5; i++)
            trainer.TrainStep(tokens, targets, weights, b, t);

        model.LogProbs(tokens, targets, b, t, new float[b * t]);
        float[] expected = model.Logits[..(t * config.VocabSize)].ToArray(); // sequence 0: [T, V]

        string path = Path.Combine(_dir, $"trained-{tied}.gguf");
        GgufExport.Write(model, path, SyntheticBpeVocab.Write, name: "export-conformance");

        using var llama = LlamaCpp.Load(path, contextSize: 64);
        Assert.Equal(config.BlockCount, llama.LayerCount);
        Assert.Equal(config.EmbeddingLength, llama.EmbeddingSize);
        Assert.Equal(config.HeadCount, llama.HeadCount);
        Assert.Equal(config.HeadCountKv, llama.KvHeadCount);
        Assert.Equal(config.VocabSize, llama.VocabSize);
        Assert.Equal(0, llama.RopeTypeId); // LLAMA_ROPE_TYPE_NORM: adjacent pairs, as training rotates

        float[][] theirs = llama.AllLogits(tokens[..t]);
        float maxDiff = 0, maxAbs = 0;
        for (int i = 0; i < t; i++)
            for (int v = 0; v < config.VocabSize; v++)
            {
                maxDiff = MathF.Max(maxDiff, MathF.Abs(theirs[i][v] - expected[i * config.VocabSize + v]));
                maxAbs = MathF.Max(maxAbs, MathF.Abs(theirs[i][v]));
            }
        output.WriteLine($"tied {tied}: max |logit diff| over {t} positions = {maxDiff:E2} (max |logit| {maxAbs:F2})");
        Assert.True(maxAbs > 1f, $"logits (max |logit| {maxAbs}) are too flat for a meaningful comparison");
        Assert.True(maxDiff <= 1e-4f, $"llama.cpp's logits differ from training's by up to {maxDiff:E3} (bound 1e-4; measured about 2e-6)");
    }
}

using SeekSharp.Models;
using SeekSharp.Training.Model;
using SeekSharp.Training.Optim;

namespace SeekSharp.Training.Tests.Optim;

public class OptimizerTests
{
    private static readonly ModelConfig Config = ModelConfig.Llama(vocabSize: 5, contextLength: 4, embeddingLength: 4, blockCount: 1, headCount: 2, headCountKv: 1, feedForwardLength: 4, tiedEmbeddings: true);

    [Fact]
    public void AdamWMatchesTheFormulaAndSkipsDecayOnNormsAndEmbedding()
    {
        var layout = new ParameterLayout(Config);
        var options = new AdamWOptions { Beta1 = 0.9f, Beta2 = 0.95f, Epsilon = 1e-8f, WeightDecay = 0.1f };
        var adam = new AdamW(layout, options);
        var p = Enumerable.Range(0, layout.Count).Select(i => 0.5f + 0.01f * (i % 7)).ToArray();
        var g = Enumerable.Range(0, layout.Count).Select(i => 0.1f * ((i % 5) - 2)).ToArray();
        var before = (float[])p.Clone();
        const float lr = 0.01f;
        adam.Update(p, g, lr, 1);
        adam.Update(p, g, lr, 2);

        foreach (var t in layout.All)
        {
            bool decay = t.IsMatrix && !t.IsEmbedding;
            int i = t.Offset + t.Length / 2;
            double theta = before[i], m = 0, v = 0;
            for (int step = 1; step <= 2; step++)
            {
                m = 0.9 * m + 0.1 * g[i];
                v = 0.95 * v + 0.05 * g[i] * g[i];
                double mHat = m / (1 - Math.Pow(0.9, step)), vHat = v / (1 - Math.Pow(0.95, step));
                theta -= lr * (mHat / (Math.Sqrt(vHat) + 1e-8) + (decay ? 0.1 * theta : 0));
            }
            Assert.Equal(theta, p[i], 5);
        }
    }

    [Fact]
    public void DecayEmbeddingDecaysTheEmbeddingButNeverTheNorms()
    {
        var layout = new ParameterLayout(Config);
        var adam = new AdamW(layout, new AdamWOptions { WeightDecay = 0.5f, DecayEmbedding = true });
        var p = Enumerable.Repeat(1f, layout.Count).ToArray();
        adam.Update(p, new float[layout.Count], lr: 0.1f, t: 1); // zero gradients: only the decay moves weights
        Assert.Equal(0.95f, layout.TokenEmbedding.Of(p)[0], 6);
        Assert.Equal(0.95f, layout.Layers[0].Wq.Of(p)[0], 6);
        Assert.Equal(1f, layout.OutputNorm.Of(p)[0]);
        Assert.Equal(1f, layout.Layers[0].AttnNorm.Of(p)[0]);
    }

    [Fact]
    public void ClippingScalesToTheBoundAndReportsTheNormBefore()
    {
        float[] g = [3f, 4f];
        Assert.Equal(5.0, GradientClipping.Clip(g, 1f), 10);
        Assert.Equal(0.6f, g[0], 6);
        Assert.Equal(0.8f, g[1], 6);
        float[] small = [0.3f, 0.4f];
        GradientClipping.Clip(small, 1f);
        Assert.Equal([0.3f, 0.4f], small);
        float[] off = [30f, 40f];
        GradientClipping.Clip(off, 0f);
        Assert.Equal([30f, 40f], off);
    }

    [Fact]
    public void ScheduleWarmsUpLinearlyThenDecaysByCosineToTheFloor()
    {
        var s = new LearningRateSchedule { WarmupSteps = 10, TotalSteps = 110, MinRatio = 0.1f };
        Assert.Equal(0.1f, s.At(0, 1f), 6);
        Assert.Equal(0.5f, s.At(4, 1f), 6);
        Assert.Equal(1f, s.At(10, 1f), 6);
        Assert.Equal(0.55f, s.At(60, 1f), 5);   // halfway through the decay: the midpoint of 1 and 0.1
        Assert.Equal(0.1f, s.At(110, 1f), 6);
        Assert.Equal(0.1f, s.At(1000, 1f), 6);
        Assert.True(s.At(30, 1f) > s.At(31, 1f));
    }

    [Fact]
    public void TrainingRandomIsReproducibleFromItsState()
    {
        var a = new TrainingRandom(5);
        a.NextUInt64();
        var b = new TrainingRandom(0) { State = a.State };
        for (int i = 0; i < 10; i++)
            Assert.Equal(a.NextDouble(), b.NextDouble());
        var counts = new int[3];
        for (int i = 0; i < 3000; i++) counts[a.NextInt(3)]++;
        Assert.All(counts, c => Assert.InRange(c, 900, 1100));
    }
}

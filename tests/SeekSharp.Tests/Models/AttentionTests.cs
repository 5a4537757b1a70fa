using SeekSharp.Kernels;
using SeekSharp.Kernels.Threading;
using SeekSharp.Models;
using SeekSharp.Models.Blocks;

namespace SeekSharp.Tests.Models;

/// <summary>The blockwise online softmax against a two-pass reference (full score row, softmax, weighted sum of values).</summary>
public class AttentionTests
{
    private static unsafe float[] Reference(KvCache cache, float[] q, int length, int nHead, int nHeadKv, int headDim)
    {
        var output = new float[nHead * headDim];
        int group = nHead / nHeadKv;
        for (int h = 0; h < nHead; h++)
        {
            var scores = new double[length];
            for (int j = 0; j < length; j++)
            {
                float* key = (float*)cache.Key(0, 0, j) + h / group * headDim;
                double dot = 0;
                for (int i = 0; i < headDim; i++) dot += (double)q[h * headDim + i] * key[i];
                scores[j] = dot / Math.Sqrt(headDim);
            }
            double max = scores.Max(), sum = scores.Sum(s => Math.Exp(s - max));
            for (int i = 0; i < headDim; i++)
            {
                double o = 0;
                for (int j = 0; j < length; j++)
                    o += Math.Exp(scores[j] - max) / sum * ((float*)cache.Value(0, 0, j))[h / group * headDim + i];
                output[h * headDim + i] = (float)o;
            }
        }
        return output;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(127)]
    [InlineData(128)]
    [InlineData(129)]
    [InlineData(700)]
    public void OnlineSoftmaxMatchesTwoPassReference(int length)
    {
        const int nHead = 4, nHeadKv = 2, headDim = 32, kvDim = nHeadKv * headDim;
        using var cache = new KvCache(1, 1, 1024, kvDim, GgmlType.F32);
        var r = new Random(length);
        // Keys grow with position so that later blocks raise the running maximum (the rescaling path).
        var k = new float[length * kvDim];
        var v = new float[length * kvDim];
        for (int i = 0; i < k.Length; i++)
        {
            k[i] = (float)(r.NextDouble() * 2 - 1) * (1 + i / kvDim / 100f);
            v[i] = (float)(r.NextDouble() * 2 - 1);
        }
        var batch = new Batch(length);
        for (int t = 0; t < length; t++) batch.Add(0, t, 0, false);
        Attention.Store(cache, 0, batch, k, v);

        var q = new float[nHead * headDim];
        for (int i = 0; i < q.Length; i++) q[i] = (float)(r.NextDouble() * 2 - 1) * 3;
        var one = new Batch(1);
        one.Add(0, length - 1, 0, true);
        var output = new float[nHead * headDim];
        using var pool = new WorkerPool(2);
        Attention.Compute(cache, 0, one, q, output, nHead, nHeadKv, headDim, pool);

        float[] expected = Reference(cache, q, length, nHead, nHeadKv, headDim);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - output[i]) <= 1e-5f, $"output {i}: expected {expected[i]}, got {output[i]}");
    }
}

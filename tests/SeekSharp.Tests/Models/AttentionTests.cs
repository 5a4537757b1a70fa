using SeekSharp.Kernels;
using SeekSharp.Kernels.Threading;
using SeekSharp.Models;
using SeekSharp.Models.Blocks;

namespace SeekSharp.Tests.Models;

/// <summary>The blockwise online softmax against a two-pass reference (full score row, softmax, weighted sum of values),
/// for grouped-query attention and for MLA's absorbed layout (one KV head whose values are the first columns of its keys).</summary>
public class AttentionTests
{
    private static unsafe float[] Reference(KvCache cache, float[] q, int length, int nHead, int nHeadKv, int keyDim, int valueDim, float scale)
    {
        var output = new float[nHead * valueDim];
        int group = nHead / nHeadKv;
        for (int h = 0; h < nHead; h++)
        {
            var scores = new double[length];
            for (int j = 0; j < length; j++)
            {
                float* key = (float*)cache.Key(0, 0, j) + h / group * keyDim;
                double dot = 0;
                for (int i = 0; i < keyDim; i++) dot += (double)q[h * keyDim + i] * key[i];
                scores[j] = dot * scale;
            }
            double max = scores.Max(), sum = scores.Sum(s => Math.Exp(s - max));
            for (int i = 0; i < valueDim; i++)
            {
                double o = 0;
                for (int j = 0; j < length; j++)
                    o += Math.Exp(scores[j] - max) / sum * ((float*)cache.Value(0, 0, j))[h / group * valueDim + i];
                output[h * valueDim + i] = (float)o;
            }
        }
        return output;
    }

    public static TheoryData<int, bool> Cases()
    {
        var data = new TheoryData<int, bool>();
        foreach (int length in new[] { 1, 127, 128, 129, 700 })
        {
            data.Add(length, false);
            data.Add(length, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void OnlineSoftmaxMatchesTwoPassReference(int length, bool latent)
    {
        // GQA: 4 heads over 2 KV heads of 32. Latent: 4 heads over one KV row of 80 whose first 64 are also the value.
        int nHead = 4, nHeadKv = latent ? 1 : 2, keyDim = latent ? 80 : 32, valueDim = latent ? 64 : 32;
        float scale = latent ? 0.3f : 1f / MathF.Sqrt(keyDim);
        var layout = latent ? new KvLayout(keyDim, valueDim, ValuesInKeys: true) : new KvLayout(nHeadKv * keyDim, nHeadKv * valueDim, false);
        using var cache = new KvCache(1, 1, 1024, layout, GgmlType.F32);
        Assert.True(cache.TryReserve(0, length));
        var r = new Random(length);
        // Keys grow with position so that later blocks raise the running maximum (the rescaling path).
        var k = new float[length * layout.KeyWidth];
        var v = new float[length * layout.ValueWidth];
        for (int i = 0; i < k.Length; i++) k[i] = (float)(r.NextDouble() * 2 - 1) * (1 + i / layout.KeyWidth / 100f);
        for (int i = 0; i < v.Length; i++) v[i] = (float)(r.NextDouble() * 2 - 1);
        var batch = new Batch(length);
        for (int t = 0; t < length; t++) batch.Add(0, t, 0, false);
        Attention.Store(cache, 0, batch, k, v);

        var q = new float[nHead * keyDim];
        for (int i = 0; i < q.Length; i++) q[i] = (float)(r.NextDouble() * 2 - 1) * 3;
        var one = new Batch(1);
        one.Add(0, length - 1, 0, true);
        var output = new float[nHead * valueDim];
        using var pool = new WorkerPool(2);
        Attention.Compute(Attention.KvRows.Of(cache, 0), one, default, q, output, nHead, nHeadKv, keyDim, valueDim, scale, pool);

        float[] expected = Reference(cache, q, length, nHead, nHeadKv, keyDim, valueDim, scale);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - output[i]) <= 1e-5f, $"output {i}: expected {expected[i]}, got {output[i]}");
    }
}

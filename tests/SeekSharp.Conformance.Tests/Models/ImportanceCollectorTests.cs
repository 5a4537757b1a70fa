using System.Runtime.InteropServices;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Gguf;
using SeekSharp.Models;
using SeekSharp.Quantization;

namespace SeekSharp.Conformance.Tests.Models;

/// <summary>
/// <see cref="ImportanceCollector"/> sums what llama-imatrix sums: checked against a direct computation of the first
/// layer's attention input (the token embeddings, BOS first in every chunk, through RMSNorm) from the file's tensors.
/// </summary>
public class ImportanceCollectorTests
{
    private static readonly TinyModelOptions Tiny = new() { Architecture = TinyArchitecture.Llama, Dim = 64, FfnDim = 96, Layers = 2, Seed = 21 };

    private static int[] Tokens(Model model, int count)
    {
        var rng = new Random(3);
        return Enumerable.Range(0, count).Select(_ => rng.Next(model.Config.VocabSize)).ToArray();
    }

    [Fact]
    public void FirstLayerStatisticsEqualADirectComputation()
    {
        using var model = Model.Load(TinyModelBuilder.GetOrBuild(Tiny));
        int chunk = 32, chunks = 3;
        int[] tokens = Tokens(model, 5 * chunk);
        var (matrix, ppl) = ImportanceCollector.Collect(model, tokens, chunk, "random ids", maxChunks: chunks, batchSize: chunk);
        Assert.Equal(chunks, ppl.Chunks);
        Assert.Equal(chunks, matrix.ChunkCount);
        Assert.Equal(chunk, matrix.ChunkSize);
        // Seven matrix products per layer; the output projection is left out, as in llama-imatrix.
        Assert.Equal(7 * Tiny.Layers, matrix.Entries.Count);
        Assert.DoesNotContain("output.weight", matrix.Entries.Keys);

        var file = model.File;
        int d = Tiny.Dim;
        float[] embedding = MemoryMarshal.Cast<byte, float>(file.GetTensorBytes(file.GetTensor("token_embd.weight"))).ToArray();
        float[] gain = MemoryMarshal.Cast<byte, float>(file.GetTensorBytes(file.GetTensor("blk.0.attn_norm.weight"))).ToArray();
        var expected = new double[d];
        for (int c = 0; c < chunks; c++)
        {
            for (int p = 0; p < chunk; p++)
            {
                int token = p == 0 ? model.Tokenizer.BosId!.Value : tokens[c * chunk + p];
                var x = embedding.AsSpan(token * d, d);
                double ms = 0;
                foreach (float v in x) ms += (double)v * v;
                double scale = 1 / Math.Sqrt(ms / d + model.Config.NormEpsilon);
                for (int j = 0; j < d; j++)
                {
                    double y = x[j] * scale * gain[j];
                    expected[j] += y * y;
                }
            }
        }
        foreach (string name in new[] { "blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight" })
        {
            var e = matrix.Entries[name];
            Assert.Equal([chunks * chunk], e.Counts);
            for (int j = 0; j < d; j++)
                Assert.True(Math.Abs(e.SumSquares[j] - expected[j]) <= 1e-4 * expected[j], $"{name} column {j}: {e.SumSquares[j]} vs {expected[j]}");
        }
        Assert.Equal(Tiny.FfnDim, matrix.Entries["blk.1.ffn_down.weight"].Columns);
        Assert.Equal(Tiny.Dim, matrix.Entries["blk.1.ffn_gate.weight"].Columns);
        Assert.All(matrix.Entries.Values, e => Assert.Equal([chunks * chunk], e.Counts));
    }

    [Fact]
    public void BatchesOfFewerThanSixteenTokensAreNotCollected()
    {
        using var model = Model.Load(TinyModelBuilder.GetOrBuild(Tiny));
        // Chunks of 24 in batches of 16: each chunk's second batch has 8 tokens, which llama-imatrix skips.
        var (matrix, _) = ImportanceCollector.Collect(model, Tokens(model, 4 * 24), 24, "random ids", maxChunks: 2, batchSize: 16);
        Assert.All(matrix.Entries.Values, e => Assert.Equal([2 * 16], e.Counts));
    }

    [Fact]
    public void MixtureOfExpertsIsRefusedByName()
    {
        using var model = Model.Load(TinyModelBuilder.GetOrBuild(new TinyModelOptions { Architecture = TinyArchitecture.Qwen3Moe, Seed = 5 }));
        var e = Assert.Throws<NotSupportedException>(() => new ImportanceCollector(model));
        Assert.Contains("qwen3moe", e.Message);
    }
}

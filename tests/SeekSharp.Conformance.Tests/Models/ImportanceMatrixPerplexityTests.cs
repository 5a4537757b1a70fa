using System.Runtime.InteropServices;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Gguf;
using SeekSharp.Kernels;
using SeekSharp.Inference;
using SeekSharp.Models;
using SeekSharp.Quantization;
using Xunit.Abstractions;

namespace SeekSharp.Conformance.Tests.Models;

/// <summary>
/// The point of an importance matrix: a model quantized with one from <see cref="ImportanceCollector"/> predicts
/// better than the same mix without. The model is the bundled trained one (width 256, so the K-quants apply) rewritten
/// with outlier channels (<see cref="WriteWithOutlierChannels"/>): the same function, but a quarter of the input
/// channels of every matrix product carry 2× to 4× larger activations, met by 2× to 4× smaller weights, as in real
/// LLMs. (On the bundled model as trained, whose activations are nearly uniform across channels, the difference is
/// within noise, and for Q2_K the importance matrix makes it slightly worse: measured, not asserted.)
/// Perplexity is measured on the F32 model's own samples, where it is exp(entropy + KL(F32 ‖ quantized)): lower means
/// closer to the original, not a lucky fit to a foreign text. Calibration and evaluation samples use different seeds.
/// </summary>
public class ImportanceMatrixPerplexityTests(ImportanceMatrixPerplexityTests.Outliers setup, ITestOutputHelper output)
    : IClassFixture<ImportanceMatrixPerplexityTests.Outliers>
{
    private const int Chunk = 256;

    private static string Bundled => Path.Combine(RealTokenizers.RepoRoot(), "models", "seeksharp-r1-tiny.gguf");

    /// <summary>Built once for the three mixes: the outlier model, its importance matrix and the evaluation samples.</summary>
    public sealed class Outliers : IDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("seek-imatrix-ppl-").FullName;

        public Outliers()
        {
            Model = Path.Combine(_dir, "outliers.gguf");
            WriteWithOutlierChannels(Bundled, Model, seed: 4);
            using var model = SeekSharp.Models.Model.Load(Model);
            int[] calibration = Sample(model, seed: 1, chunks: 16);
            Evaluation = Sample(model, seed: 2, chunks: 32);
            Matrix = ImportanceCollector.Collect(model, calibration, Chunk, "samples").Matrix;
        }

        public string Model { get; }
        public ImportanceMatrix Matrix { get; }
        public int[] Evaluation { get; }

        public void Dispose() => Directory.Delete(_dir, recursive: true);
    }

    [Theory]
    [InlineData("Q2_K")]
    [InlineData("Q3_K_S")]
    [InlineData("IQ4_XS")]
    public void ImatrixQuantizationHasLowerPerplexity(string mix)
    {
        var (source, matrix, evaluation) = (setup.Model, setup.Matrix, setup.Evaluation);
        string dir = Directory.CreateTempSubdirectory("seek-imatrix-ppl-").FullName;
        try
        {
            var type = QuantizationRecipe.Parse(mix);
            string plain = Path.Combine(dir, "plain.gguf"), weighted = Path.Combine(dir, "imatrix.gguf");
            GgufQuantizer.Quantize(source, plain, type);
            GgufQuantizer.Quantize(source, weighted, type, importance: matrix);
            double reference = PerplexityOf(source, evaluation), without = PerplexityOf(plain, evaluation), with = PerplexityOf(weighted, evaluation);
            output.WriteLine($"{mix}: F32 {reference:F4}, without imatrix {without:F4}, with imatrix {with:F4}");
            Assert.True(with < without, $"{mix}: perplexity with the importance matrix {with:F4} is not below {without:F4} without (F32: {reference:F4})");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// The bundled model with outlier channels, as large language models have them: a quarter of the channels of every
    /// RMSNorm output are amplified by the norm's gain (×2 or ×4) and the columns of the weights reading them shrunk by
    /// the same factor, and likewise a quarter of the ffn_up rows (ffn_swiglu channels) amplified and the matching
    /// ffn_down columns shrunk. The function is the same (up to float rounding); the weights are not: their outlier columns are small
    /// numbers that matter a lot, which is what an importance matrix tells the quantizer.
    /// </summary>
    internal static void WriteWithOutlierChannels(string from, string to, int seed)
    {
        using var file = GgufFile.Open(from);
        var writer = new GgufWriter(file.Version);
        foreach (var (key, value) in file.Metadata) writer.Set(key, value);
        var rng = new Random(seed);
        float[] Profile(int n, int outliers)
        {
            var s = Enumerable.Repeat(1f, n).ToArray();
            foreach (int j in Enumerable.Range(0, n).OrderBy(_ => rng.Next()).Take(outliers)) s[j] = MathF.Pow(2f, rng.Next(1, 3));
            return s;
        }
        int dim = (int)file.GetTensor("token_embd.weight").Shape[0];
        float[] residual = Profile(dim, dim / 4);
        var swiglu = new Dictionary<string, float[]>();
        foreach (var t in file.Tensors)
        {
            Assert.Equal(GgmlType.F32, t.Type);
            float[] v = MemoryMarshal.Cast<byte, float>(file.GetTensorBytes(t)).ToArray();
            int cols = (int)t.Shape[0];
            string layer = t.Name.StartsWith("blk.", StringComparison.Ordinal) ? t.Name[..(t.Name.IndexOf('.', 4) + 1)] : "";
            string role = t.Name[layer.Length..];
            if (role is "attn_norm.weight" or "ffn_norm.weight")
                for (int j = 0; j < cols; j++) v[j] *= residual[j];
            if (role is "attn_q.weight" or "attn_k.weight" or "attn_v.weight" or "ffn_gate.weight" or "ffn_up.weight")
                for (int i = 0; i < v.Length; i++) v[i] /= residual[i % cols];
            if (role is "ffn_up.weight")
            {
                var rows = swiglu[layer] = Profile(v.Length / cols, v.Length / cols / 4);
                for (int i = 0; i < v.Length; i++) v[i] *= rows[i / cols];
            }
            if (role is "ffn_down.weight")
                for (int i = 0; i < v.Length; i++) v[i] /= swiglu[layer][i % cols];
            writer.AddTensor(t.Name, GgmlType.F32, t.Shape, v);
        }
        writer.Write(to);
    }

    internal static double PerplexityOf(string path, int[] tokens)
    {
        using var m = Model.Load(path);
        using var context = m.CreateContext(new ContextOptions { ContextLength = Chunk, BatchSize = Chunk });
        return Perplexity.Compute(context, tokens, Chunk, m.Tokenizer.AddBos ? m.Tokenizer.BosId : null).Value;
    }

    /// <summary>
    /// <paramref name="chunks"/> chunks of <see cref="Chunk"/> tokens, each one sequence of the model's own: a chat
    /// prompt asking a random sum (starting with BOS), then tokens drawn from the full softmax (temperature 1, no
    /// truncation) to the end of the chunk. Each chunk is what perplexity will evaluate, in the same context, so the
    /// quantized model's excess perplexity is its KL divergence from the F32 model on these very tokens.
    /// </summary>
    internal static int[] Sample(Model model, int seed, int chunks)
    {
        var rng = new Random(seed);
        var all = new List<int>(chunks * Chunk);
        using var context = model.CreateContext(new ContextOptions { ContextLength = Chunk, BatchSize = Chunk });
        var batch = new Batch(Chunk);
        var probabilities = new double[model.Config.VocabSize];
        for (int c = 0; c < chunks; c++)
        {
            string question = $"<｜User｜>What is {rng.Next(1, 1000)} {(rng.Next(2) == 0 ? '+' : '-')} {rng.Next(1, 1000)}?<｜Assistant｜><think>\n";
            var sequence = new List<int>(model.Tokenizer.Encode(question, addSpecial: true, parseSpecial: true));
            context.Cache.Clear(0);
            int fed = 0;
            while (sequence.Count < Chunk)
            {
                batch.Clear();
                for (; fed < sequence.Count; fed++)
                    batch.Add(sequence[fed], fed, 0, wantLogits: fed == sequence.Count - 1);
                context.Decode(batch);
                var logits = context.Logits(0);
                float max = float.NegativeInfinity;
                foreach (float l in logits) max = MathF.Max(max, l);
                double sum = 0;
                for (int i = 0; i < logits.Length; i++) sum += probabilities[i] = Math.Exp(logits[i] - max);
                double u = rng.NextDouble() * sum;
                int next = 0;
                while (next < logits.Length - 1 && (u -= probabilities[next]) > 0) next++;
                sequence.Add(next);
            }
            all.AddRange(sequence);
        }
        return all.ToArray();
    }
}

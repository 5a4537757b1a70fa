using SeekSharp.Models;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Gguf;
using SeekSharp.Inference;
using SeekSharp.Kernels;
using SeekSharp.Kernels.Threading;
using SeekSharp.Training.Export;
using SeekSharp.Training.Model;

namespace SeekSharp.Training.Tests.Export;

/// <summary>An exported model must load in SeekSharp's inference and give the training forward's logits.</summary>
public sealed class GgufExportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("seeksharp-export-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ModelConfig Config(bool tied) => ModelConfig.Llama(vocabSize: SyntheticBpeVocab.VocabSize, contextLength: 32, embeddingLength: 32, blockCount: 2, headCount: 4, headCountKv: 2, feedForwardLength: 48, tiedEmbeddings: tied, ropeFreqBase: 500f, normEpsilon: 1e-6f);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ExportedModelGivesTheTrainingLogitsInInference(bool tied)
    {
        var config = Config(tied);
        const int t = 9;
        using var pool = new WorkerPool(2);
        var model = new Transformer(config, 1, t, pool);
        // Larger than training's 0.02 so the logits spread over several units and a wrong tensor would show.
        model.InitializeWeights(new TrainingRandom(3), std: 0.25f);
        var rng = new TrainingRandom(4);
        int[] tokens = Enumerable.Range(0, t).Select(_ => rng.NextInt(config.VocabSize)).ToArray();
        model.LogProbs(tokens, tokens, 1, t, new float[t]);
        float[] expected = model.Logits.ToArray(); // [T, V]

        string path = Path.Combine(_dir, $"model-{tied}.gguf");
        GgufExport.Write(model, path, SyntheticBpeVocab.Write, name: "export-test");

        using var loaded = SeekSharp.Models.Model.Load(path);
        // Inference reads back the very description training wrote (one ModelConfig, one reader, one writer).
        Assert.Equal(config, loaded.Config);
        Assert.Equal(tied, !loaded.File.Tensors.Any(x => x.Name == "output.weight"));
        using var context = loaded.CreateContext(new ContextOptions { ContextLength = 32, BatchSize = t, KvCacheType = GgmlType.F32, Threads = 1 });
        var batch = new SeekSharp.Models.Batch(t);
        for (int i = 0; i < t; i++) batch.Add(tokens[i], i, 0, wantLogits: true);
        context.Decode(batch);

        float spread = expected.Max() - expected.Min();
        Assert.True(spread > 1f, $"logit spread {spread} is too small for a meaningful comparison");
        for (int i = 0; i < t; i++)
        {
            var actual = context.Logits(i);
            for (int v = 0; v < config.VocabSize; v++)
            {
                float e = expected[i * config.VocabSize + v];
                Assert.True(MathF.Abs(e - actual[v]) <= 1e-4f, $"position {i}, token {v}: training {e}, inference {actual[v]}");
            }
        }
    }

    [Fact]
    public void DictionaryMetadataIsWrittenAndAMismatchedVocabularyIsRejected()
    {
        using var pool = new WorkerPool(1);
        var model = new Transformer(Config(false), 1, 4, pool);
        var writer = new GgufWriter();
        SyntheticBpeVocab.Write(writer);
        var metadata = writer.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value);
        metadata["tokenizer.chat_template"] = "{{ messages[0]['content'] }}";
        string path = Path.Combine(_dir, "dict.gguf");
        GgufExport.Write(model, path, metadata);
        using (var file = GgufFile.Open(path))
        {
            Assert.Equal("{{ messages[0]['content'] }}", file.GetString("tokenizer.chat_template"));
            Assert.Equal("llama", file.GetString("general.architecture"));
        }

        var small = new Transformer(Config(false) with { VocabSize = 300 }, 1, 4, pool);
        var e = Assert.Throws<ArgumentException>(() => GgufExport.Write(small, path, metadata));
        Assert.Contains("vocabulary is 300", e.Message);
        metadata["general.name"] = "x";
        Assert.Throws<ArgumentException>(() => GgufExport.Write(model, path, metadata));
    }
}

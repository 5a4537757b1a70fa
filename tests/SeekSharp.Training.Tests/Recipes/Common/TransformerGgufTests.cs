using SeekSharp.Models;
using SeekSharp.Training.Export;
using SeekSharp.Training.Model;
using SeekSharp.Training.Recipes.Common;

namespace SeekSharp.Training.Tests.Recipes.Common;

public class TransformerGgufTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AnExportedModelLoadsBackWithTheSameShapeWeightsAndLoss(bool tied)
    {
        var config = ModelConfig.Llama(vocabSize: RecipeFixtures.Tokenizer.VocabSize, contextLength: 64, embeddingLength: 32, blockCount: 2, headCount: 4, headCountKv: 2, feedForwardLength: 48, tiedEmbeddings: tied, ropeFreqBase: 5000f);
        var model = new Transformer(config, 2, 16);
        model.InitializeWeights(new TrainingRandom(9));
        string path = Path.Combine(Path.GetTempPath(), $"roundtrip-{Guid.NewGuid():N}.gguf");
        try
        {
            GgufExport.Write(model, path, RecipeFixtures.Tokenizer.WriteGgufMetadata);
            Assert.Equal(config, TransformerGguf.ReadConfig(path));
            var loaded = TransformerGguf.Load(path, 2, 16);
            Assert.Equal(model.Parameters, loaded.Parameters);

            var rng = new Random(4);
            int[] tokens = [.. Enumerable.Range(0, 32).Select(_ => rng.Next(config.VocabSize))];
            int[] targets = [.. Enumerable.Range(0, 32).Select(_ => rng.Next(config.VocabSize))];
            float[] weights = [.. Enumerable.Repeat(1f, 32)];
            Assert.Equal(model.Loss(tokens, targets, weights, 2, 16), loaded.Loss(tokens, targets, weights, 2, 16));

            var tokenizer = RunTokenizer.FromGguf(path);
            Assert.Equal(config.VocabSize, tokenizer.Tokenizer.VocabSize);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void AFileWithoutTheTrainingTensorsIsRejectedNamingTheTensor()
    {
        string path = Path.Combine(Path.GetTempPath(), $"tokenizer-only-{Guid.NewGuid():N}.gguf");
        try
        {
            var writer = new SeekSharp.Gguf.GgufWriter();
            RecipeFixtures.Tokenizer.WriteGgufMetadata(writer);
            writer.Set("general.architecture", "qwen2");
            writer.Write(path);
            var e = Assert.Throws<ArgumentException>(() => TransformerGguf.Load(path, 1, 8));
            Assert.Contains("qwen2", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}

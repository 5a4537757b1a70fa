using SeekSharp.Models;
using SeekSharp.Training.Model;
using SeekSharp.Training.Tasks;
using SeekSharp.Training.Tokenizers;

namespace SeekSharp.Training.Tests.Recipes;

/// <summary>A small R1 tokenizer trained on addition problems and tiny policy models for the recipe tests.</summary>
internal static class RecipeFixtures
{
    private static readonly Lazy<TrainedTokenizer> LazyTokenizer = new(() =>
    {
        var task = TaskRegistry.Create("addition");
        var rng = new Random(1);
        var texts = Enumerable.Range(0, 200).Select(_ => task.Generate(rng)).Select(p => p.Prompt + "\n" + p.Completion);
        return BpeTrainer.Train(texts, new BpeTrainerOptions { VocabSize = 320 });
    });

    /// <summary>Byte-level BPE of 320 tokens with R1's added tokens and chat template.</summary>
    public static TrainedTokenizer Tokenizer => LazyTokenizer.Value;

    /// <summary>A randomly initialised policy of width <paramref name="dim"/>.</summary>
    public static Transformer Policy(int dim = 32, int layers = 2, int maxBatch = 8, int maxSeqLen = 96, ulong seed = 3)
    {
        var config = ModelConfig.Llama(vocabSize: Tokenizer.VocabSize, contextLength: 128, embeddingLength: dim, blockCount: layers, headCount: 4, headCountKv: 2, feedForwardLength: dim * 2, tiedEmbeddings: true);
        var model = new Transformer(config, maxBatch, maxSeqLen);
        model.InitializeWeights(new TrainingRandom(seed));
        return model;
    }
}

using SeekSharp.Tokenization;
using SeekSharp.Training.Data;
using SeekSharp.Training.Tasks;
using SeekSharp.Training.Tokenizers;

namespace SeekSharp.Training.Tests.Data;

/// <summary>A small tokenizer trained once on generated addition text, shared by the data tests.</summary>
internal static class DataFixture
{
    static readonly Lazy<Tokenizer> LazyTokenizer = new(() =>
    {
        var texts = ProblemSets.Generate(new AdditionTask(), ProblemSplit.Train, 5, 200)
            .Select(p => R1ChatText.Prompt(p.Prompt) + R1ChatText.AssistantTurn(p.Completion));
        return BpeTrainer.Train(texts, new BpeTrainerOptions { VocabSize = 400 }).CreateTokenizer();
    });

    public static Tokenizer Tokenizer => LazyTokenizer.Value;
}

using SeekSharp.Training.Data;
using SeekSharp.Training.Tokenizers;

namespace SeekSharp.Training.Tests.Data;

public class BatchBuilderTests
{
    const int Pad = 99;

    static Func<TokenizedExample> Cycle(params TokenizedExample[] examples)
    {
        int i = 0;
        return () => examples[i++ % examples.Length];
    }

    [Fact]
    public void PaddedRowsWeightOnlyAssistantTargetsAndShrinkToTheLongestExample()
    {
        var a = new TokenizedExample([1, 2, 3, 4, 5, 6], PromptLength: 3); // prompt 1 2 3, assistant 4 5 6
        var b = new TokenizedExample([7, 8, 9, 10], PromptLength: 2);       // prompt 7 8, assistant 9 10
        var batch = new TokenBatch(2, 16);
        BatchBuilder.Fill(batch, Cycle(a, b), BatchLayout.PaddedCompletionOnly, Pad);

        Assert.Equal(5, batch.SeqLen); // longest example has 6 ids = 5 inputs
        Assert.Equal(new[] { 1, 2, 3, 4, 5, 7, 8, 9, Pad, Pad }, batch.TokenSpan.ToArray());
        Assert.Equal(new[] { 2, 3, 4, 5, 6, 8, 9, 10, Pad, Pad }, batch.TargetSpan.ToArray());
        // Targets 2 and 3 are prompt ids (no loss); 4, 5, 6 are the assistant's; padding has none.
        Assert.Equal(new[] { 0f, 0f, 1f, 1f, 1f, 0f, 1f, 1f, 0f, 0f }, batch.WeightSpan.ToArray());
        Assert.Equal(8, batch.RealTokens);
        Assert.Equal(5, batch.WeightedTokens);
    }

    [Fact]
    public void PaddedRowsTruncateExamplesLongerThanTheRow()
    {
        var a = new TokenizedExample([1, 2, 3, 4, 5, 6, 7, 8], PromptLength: 2);
        var batch = new TokenBatch(1, 4);
        BatchBuilder.Fill(batch, Cycle(a), BatchLayout.PaddedCompletionOnly, Pad);
        Assert.Equal(4, batch.SeqLen);
        Assert.Equal(new[] { 1, 2, 3, 4 }, batch.TokenSpan.ToArray());
        Assert.Equal(new[] { 2, 3, 4, 5 }, batch.TargetSpan.ToArray());
        Assert.Equal(new[] { 0f, 1f, 1f, 1f }, batch.WeightSpan.ToArray());
    }

    [Fact]
    public void PackedRowsConcatenateWholeExamplesAndWeightEveryRealToken()
    {
        var a = new TokenizedExample([1, 2, 3], PromptLength: 1);
        var b = new TokenizedExample([4, 5, 6, 7], PromptLength: 2);
        var batch = new TokenBatch(2, 6); // rows of 6 inputs take 7 ids
        BatchBuilder.Fill(batch, Cycle(a, b), BatchLayout.PackedAllTokens, Pad);

        Assert.Equal(6, batch.SeqLen);
        // Row 0: a + b = 7 ids exactly. Row 1: a (3 ids), then b would make 7 as well.
        Assert.Equal(new[] { 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6 }, batch.TokenSpan.ToArray());
        Assert.Equal(new[] { 2, 3, 4, 5, 6, 7, 2, 3, 4, 5, 6, 7 }, batch.TargetSpan.ToArray());
        Assert.All(batch.WeightSpan.ToArray(), w => Assert.Equal(1f, w));
    }

    [Fact]
    public void PackedRowsMoveAnExampleThatDoesNotFitToTheNextRowAndPadTheGap()
    {
        var a = new TokenizedExample([1, 2, 3, 4], PromptLength: 1);
        var batch = new TokenBatch(2, 5); // 6 ids per row: a fits once, a second a would need 8
        BatchBuilder.Fill(batch, Cycle(a), BatchLayout.PackedAllTokens, Pad);
        Assert.Equal(new[] { 1, 2, 3, Pad, Pad, 1, 2, 3, Pad, Pad }, batch.TokenSpan.ToArray());
        Assert.Equal(new[] { 2, 3, 4, Pad, Pad, 2, 3, 4, Pad, Pad }, batch.TargetSpan.ToArray());
        Assert.Equal(new[] { 1f, 1f, 1f, 0f, 0f, 1f, 1f, 1f, 0f, 0f }, batch.WeightSpan.ToArray());
        Assert.Equal(6, batch.RealTokens);
    }

    [Fact]
    public void EncodedExamplesPutExactlyTheAssistantTextUnderTheSftMask()
    {
        var tokenizer = DataFixture.Tokenizer;
        var encoder = new ExampleEncoder(tokenizer);
        var problem = new SeekSharp.Training.Tasks.AdditionTask().Generate(new Random(11));
        var ex = encoder.Encode(problem.Prompt, problem.Completion);
        var batch = new TokenBatch(1, 256);
        BatchBuilder.Fill(batch, () => ex, BatchLayout.PaddedCompletionOnly, Pad);

        // The weighted targets decode (with control tokens) to the assistant turn and nothing else.
        var weighted = new List<int>();
        for (int i = 0; i < batch.SeqLen; i++)
            if (batch.Weights[i] != 0f) weighted.Add(batch.Targets[i]);
        Assert.Equal(R1ChatText.AssistantTurn(problem.Completion), tokenizer.Decode(weighted.ToArray(), renderSpecial: true));
        // The prompt is one BOS, the user turn, and the generation prompt; the last weighted target is EOS.
        Assert.Equal(tokenizer.BosId, ex.Tokens[0]);
        Assert.Equal(R1ChatText.Prompt(problem.Prompt), tokenizer.Decode(ex.Tokens.AsSpan(0, ex.PromptLength), renderSpecial: true));
        Assert.Equal(tokenizer.EosId, weighted[^1]);
        Assert.Single(ex.Tokens, id => id == tokenizer.BosId);
        Assert.Equal(R1ChatFormat.Eos, tokenizer.Decode([ex.Tokens[^1]], renderSpecial: true));
    }
}

using SeekSharp.Gguf;
using SeekSharp.Tokenization;

namespace SeekSharp.Tests.Tokenization;

/// <summary>Issue 16 item 6: a special token id outside the vocabulary is refused at load, naming the key, the id and the vocabulary size.</summary>
public sealed class SpecialTokenIdValidationTests
{
    private static Tokenizer Load(string key, uint id)
    {
        var w = new GgufWriter();
        var tokens = Enumerable.Range(0, 256).Select(b => ByteLevelTokenizerFactory.Encode([(byte)b])).Append("<|end|>").ToArray();
        w.Set("tokenizer.ggml.model", "gpt2");
        w.Set("tokenizer.ggml.pre", "qwen2");
        w.Set("tokenizer.ggml.tokens", tokens);
        w.Set("tokenizer.ggml.merges", Array.Empty<string>());
        w.Set(key, id);
        string path = Path.Combine(Path.GetTempPath(), $"seek-special-ids-{Guid.NewGuid():N}.gguf");
        try
        {
            w.Write(path);
            using var file = GgufFile.Open(path);
            return Tokenizer.FromGguf(file);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("tokenizer.ggml.bos_token_id", 257u)]
    [InlineData("tokenizer.ggml.eos_token_id", 1000u)]
    [InlineData("tokenizer.ggml.eot_token_id", 257u)]
    [InlineData("tokenizer.ggml.padding_token_id", 257u)]
    [InlineData("tokenizer.ggml.unknown_token_id", 257u)]
    [InlineData("tokenizer.ggml.eos_token_id", uint.MaxValue)] // read as -1 before, and then silently ignored
    public void AnIdOutsideTheVocabularyIsRefused(string key, uint id)
    {
        var e = Assert.Throws<TokenizerFormatException>(() => Load(key, id));
        Assert.Contains($"{key} is {id}, outside the vocabulary of 257 tokens (valid ids are 0 to 256)", e.Message);
    }

    [Fact]
    public void TheLastIdIsAccepted()
    {
        var tokenizer = Load("tokenizer.ggml.eos_token_id", 256u);
        Assert.Equal(256, tokenizer.EosId);
        Assert.Equal(256, Load("tokenizer.ggml.padding_token_id", 256u).VocabSize - 1);
    }
}

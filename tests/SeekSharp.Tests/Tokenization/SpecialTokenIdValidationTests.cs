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

    [Theory]
    [InlineData("tokenizer.ggml.unknown_token_id", "unk")]
    [InlineData("tokenizer.ggml.padding_token_id", "pad")]
    [InlineData("tokenizer.ggml.seperator_token_id", "sep")]
    [InlineData("tokenizer.ggml.unk_token_id", "unk")]   // SeekSharp's earlier spelling, still read
    [InlineData("tokenizer.ggml.pad_token_id", "pad")]
    [InlineData("tokenizer.ggml.cls_token_id", "cls")]
    public void RolesAreReadUnderLlamaCppsKeyNames(string key, string role)
    {
        var w = new GgufWriter();
        w.Set("tokenizer.ggml.model", "gpt2");
        w.Set("tokenizer.ggml.tokens", Enumerable.Range(0, 256).Select(b => ByteLevelTokenizerFactory.Encode([(byte)b])).ToArray());
        w.Set("tokenizer.ggml.merges", Array.Empty<string>());
        w.Set(key, 7u);
        string path = Path.Combine(Path.GetTempPath(), $"seek-special-keys-{Guid.NewGuid():N}.gguf");
        try
        {
            w.Write(path);
            TokenizerDefinition def;
            using (var file = GgufFile.Open(path)) def = GgufTokenizerMetadata.Read(file);
            Assert.Equal(7, def.GetSpecialId(role));

            // Written back under the name llama.cpp reads (gguf-py's constants, "seperator" as spelt there).
            var again = new GgufWriter();
            GgufTokenizerMetadata.Write(again, def);
            string expected = role switch
            {
                "unk" => "tokenizer.ggml.unknown_token_id", "pad" => "tokenizer.ggml.padding_token_id",
                "sep" => "tokenizer.ggml.seperator_token_id", _ => $"tokenizer.ggml.{role}_token_id",
            };
            Assert.Equal(7u, again.Metadata[expected]);
        }
        finally
        {
            File.Delete(path);
        }
    }
}

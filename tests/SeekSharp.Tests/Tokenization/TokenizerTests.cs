using SeekSharp.Tokenization;

namespace SeekSharp.Tests.Tokenization;

public sealed class TokenizerTests
{
    static string[] Words(string pre, string text, bool llamaCppClasses = true)
    {
        var kind = PreTokenizerNames.FromGgufName(pre)!.Value;
        var cps = text.EnumerateRunes().Select(r => r.Value).ToArray();
        var words = new List<(int Start, int Length)>();
        PreTokenizer.Create(kind, llamaCppClasses).Split(cps, words);
        Assert.Equal(cps.Length, words.Sum(w => w.Length));
        return [.. words.Select(w => string.Concat(cps.Skip(w.Start).Take(w.Length).Select(c => char.ConvertFromUtf32(c))))];
    }

    [Fact]
    public void Llama3_SplitsDigitsInThreesAndKeepsNewlinesTogether()
    {
        Assert.Equal(["Hello", " world", " ", "123", "45", " I", "'LL", "\n\n", " x", "  ", " y"],
            Words("llama-bpe", "Hello world 12345 I'LL\n\n x   y"));
    }

    [Fact]
    public void Qwen2_SplitsEveryDigit()
    {
        Assert.Equal(["a", "1", "2", "3", " ", "4"], Words("qwen2", "a123 4"));
    }

    [Fact]
    public void Gpt2_ContractionsAreCaseSensitive()
    {
        Assert.Equal(["I", "'ll", " I", "'", "LL"], Words("gpt-2", "I'll I'LL"));
    }

    [Fact]
    public void DeepSeekV3_IsolatesDigitsAndCjkAndKeepsKanaPunctuationApart()
    {
        Assert.Equal(["abc", "123", "4", "中文カタ", "・", "カナ", ".x"], Words("deepseek-v3", "abc1234中文カタ・カナ.x"));
    }

    [Fact]
    public void DeepSeekV3_TildeIsASymbolOnlyForHuggingFace()
    {
        // llama.cpp's category-collapsed regex lists the ASCII symbols without '~'.
        Assert.Equal([" ", "~", " b"], Words("deepseek-v3", " ~ b", llamaCppClasses: true));
        Assert.Equal([" ~", " b"], Words("deepseek-v3", " ~ b", llamaCppClasses: false));
    }

    [Fact]
    public void Encode_AppliesMergesByRank()
    {
        string a = ByteLevelTokenizerFactory.Encode("a"), b = ByteLevelTokenizerFactory.Encode("b");
        // "b b" outranks "a b": "abb" must become a + bb, not ab + b.
        var tok = ByteLevelTokenizerFactory.Create("gpt-2", [$"{b} {b}", $"{a} {b}"]);
        int[] ids = tok.Encode("abb", addSpecial: false);
        Assert.Equal(["a", "bb"], ids.Select(i => System.Text.Encoding.UTF8.GetString(tok.TokenBytes(i))));
    }

    [Fact]
    public void AddedTokens_ControlNeedsParseSpecialButUserDefinedIsAlwaysMatched()
    {
        var tok = ByteLevelTokenizerFactory.Create("llama-bpe", [],
            [("<|ctl|>", (int)GgufTokenType.Control), ("<tool>", (int)GgufTokenType.UserDefined)]);
        int ctl = tok.VocabSize - 3, tool = tok.VocabSize - 2;
        Assert.DoesNotContain(ctl, tok.Encode("x<|ctl|>y", addSpecial: false));
        Assert.Contains(ctl, tok.Encode("x<|ctl|>y", addSpecial: false, parseSpecial: true));
        Assert.Contains(tool, tok.Encode("x<tool>y", addSpecial: false, parseSpecial: false));
    }

    [Fact]
    public void Encode_AddsBosOnlyWhenAskedAndConfigured()
    {
        var tok = ByteLevelTokenizerFactory.Create("llama-bpe", [], addBos: true);
        Assert.Equal(tok.BosId, tok.Encode("x")[0]);
        Assert.Single(tok.Encode("x", addSpecial: false));
    }

    [Fact]
    public void Decode_CleansSpacesBeforePunctuationForGpt2()
    {
        var tok = ByteLevelTokenizerFactory.Create("gpt-2", []);
        Assert.Equal("Hi, it's ok.", tok.Decode(tok.Encode("Hi , it 's ok .", addSpecial: false)));
        var qwen = ByteLevelTokenizerFactory.Create("qwen2", []);
        Assert.Equal("Hi , ok .", qwen.Decode(qwen.Encode("Hi , ok .", addSpecial: false)));
    }

    [Fact]
    public void EndOfGeneration_RecognisesEosAndEndOfTurnSpellings()
    {
        var tok = ByteLevelTokenizerFactory.Create("qwen2", [], [("<|im_end|>", (int)GgufTokenType.Control), ("<|endoftext|>", (int)GgufTokenType.Control)]);
        Assert.True(tok.IsEndOfGeneration(tok.VocabSize - 3));
        Assert.True(tok.IsEndOfGeneration(tok.VocabSize - 2));
        Assert.True(tok.IsEndOfGeneration(tok.EosId!.Value));
        Assert.False(tok.IsEndOfGeneration(0));
    }

    [Theory]
    [InlineData("e\u0301", "\u00e9")]
    [InlineData("Cafe\u0301 ok", "Caf\u00e9 ok")]
    [InlineData("a\u0302\u0323", "\u1ead")]              // canonical reordering, then composition
    [InlineData("\u1100\u1161\u11a8", "\uac01")]          // Hangul jamo to syllable
    [InlineData("\u212b", "\u00c5")]                      // singleton decomposition (Angstrom sign)
    [InlineData("\ufb01 \u00c5 plain", "\ufb01 \u00c5 plain")] // compatibility characters are left alone
    public void Nfc_MatchesUnicode(string input, string expected)
    {
        Assert.Equal(expected, UnicodeNfc.Normalize(input));
    }
}

using SeekSharp.Training.Tokenizers;

namespace SeekSharp.Training.Tests.Tokenizers;

public sealed class BpeTrainerTests
{
    static TrainedTokenizer Train(int vocabSize, int minPairCount, params string[] texts) =>
        BpeTrainer.Train(texts, new BpeTrainerOptions { VocabSize = vocabSize, MinPairCount = minPairCount });

    static int Budget(int merges) => 256 + merges + R1ChatFormat.AddedTokens.Count;

    [Fact]
    public void Merges_FollowPairCounts_OverPreTokens()
    {
        // qwen2 pre-tokens: "ab", " ab" x2, " abc" -> (a,b) 4, (Ġ,a) 3, (b,c) 1.
        // After a+b: (Ġ,ab) 3, (ab,c) 1. After Ġ+ab: (Ġab,c) 1, below MinPairCount 2.
        var t = Train(Budget(10), 2, "ab ab ab abc");
        Assert.Equal(["a b", "Ġ ab"], t.Merges);
        Assert.Equal(256 + 2 + 6, t.VocabSize);
        Assert.Equal("ab", t.Tokens[256]);
        Assert.Equal("Ġab", t.Tokens[257]);

        var all = Train(Budget(10), 1, "ab ab ab abc");
        Assert.Equal(["a b", "Ġ ab", "Ġab c"], all.Merges);
    }

    [Fact]
    public void Merges_StopAtTheVocabularySize()
    {
        var t = Train(Budget(1), 1, "ab ab ab abc");
        Assert.Equal(["a b"], t.Merges);
        Assert.Equal(Budget(1), t.VocabSize);
    }

    [Fact]
    public void Ties_GoToTheSmallerLeftThenRightId()
    {
        // Every pair occurs once: (x,y), (Ġ,z), (z,w). Ġ (byte 0x20) is the smallest left id, then x (0x78),
        // then the new token Ġz (id 256).
        var t = Train(Budget(10), 1, "xy zw");
        Assert.Equal(["Ġ z", "x y", "Ġz w"], t.Merges);
    }

    [Fact]
    public void RepeatedSymbols_MergeLeftToRightWithoutOverlap()
    {
        // "aaa" x2: (a,a) counts 2 per word -> 4; merged left to right gives [aa, a], so (aa,a) 2.
        var t = Train(Budget(10), 1, "aaa", "aaa");
        Assert.Equal(["a a", "aa a"], t.Merges);
    }

    [Fact]
    public void Digits_AreNeverMerged_AndAddedTokensAreCutOut()
    {
        string chat = $"{R1ChatFormat.User}What is 12 + 34?{R1ChatFormat.Assistant}<think>\n2 + 4 = 6\n</think>\n\n46{R1ChatFormat.Eos}";
        var t = Train(Budget(200), 1, chat, chat, chat);
        foreach (var m in t.Merges)
            Assert.DoesNotContain(m.Replace(" ", ""), t.AddedTokens.Select(a => a.Content));
        for (int id = 256; id < t.LearnedCount; id++)
        {
            // qwen2 makes every digit its own pre-token, so no learned token contains one.
            Assert.False(t.Tokens[id].Any(char.IsAsciiDigit), $"token '{t.Tokens[id]}' contains a digit");
            Assert.DoesNotContain("｜", t.Tokens[id]);
        }
    }

    [Fact]
    public void APairSpelledLikeAnAddedToken_IsNeverMerged()
    {
        // " x" is "Ġx" in the byte-level alphabet: learning it would give two ids the same text.
        var t = BpeTrainer.Train([" x x x xy xy"],
            new BpeTrainerOptions { VocabSize = 300, MinPairCount = 1, AddedTokens = [new("Ġx", false)], BosToken = null, EosToken = null });
        Assert.DoesNotContain("Ġ x", t.Merges);
        Assert.Equal("x y", t.Merges[0]);
        Assert.Equal([t.IdOf("Ġx")], t.CreateTokenizer().Encode("Ġx", addSpecial: false));
    }

    [Fact]
    public void Training_IsDeterministic()
    {
        var a = BpeTrainer.Train(TrainingCorpus.Files, new BpeTrainerOptions { VocabSize = 600 });
        var b = BpeTrainer.Train(TrainingCorpus.Files.Reverse(), new BpeTrainerOptions { VocabSize = 600 });
        Assert.Equal(a.Merges, b.Merges);
        Assert.Equal(a.Tokens, b.Tokens);
    }

    [Fact]
    public void Options_AreValidated()
    {
        Assert.Throws<ArgumentException>(() => BpeTrainer.Train(["x"], new BpeTrainerOptions { VocabSize = 100 }));
        Assert.Throws<ArgumentException>(() => BpeTrainer.Train(["x"], new BpeTrainerOptions { BosToken = "<s>" }));
        Assert.Throws<ArgumentException>(() => BpeTrainer.Train(["x"],
            new BpeTrainerOptions { AddedTokens = [new("<a>", true), new("<a>", false)], BosToken = null, EosToken = null }));
        Assert.Throws<ArgumentException>(() => BpeTrainer.Train(["x"],
            new BpeTrainerOptions { AddedTokens = [new("a", true)], BosToken = null, EosToken = null }));
    }
}

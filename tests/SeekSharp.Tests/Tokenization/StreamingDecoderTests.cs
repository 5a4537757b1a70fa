using System.Text;

namespace SeekSharp.Tests.Tokenization;

public sealed class StreamingDecoderTests
{
    [Fact]
    public void Append_EmitsNothingUntilAMultiByteCharacterCompletes()
    {
        var tok = ByteLevelTokenizerFactory.Create("gpt-2", []);
        int[] ids = tok.Encode("a😀b中", addSpecial: false);   // one token per byte: 1 + 4 + 1 + 3
        Assert.Equal(9, ids.Length);

        var decoder = tok.CreateStreamingDecoder();
        string[] outputs = [.. ids.Select(decoder.Append)];
        Assert.Equal(["a", "", "", "", "😀", "b", "", "", "中"], outputs);
        Assert.Equal("", decoder.Flush());
    }

    [Fact]
    public void Flush_TurnsAnIncompleteTailIntoReplacementCharacter()
    {
        var tok = ByteLevelTokenizerFactory.Create("gpt-2", []);
        int[] emoji = tok.Encode("😀", addSpecial: false);
        var decoder = tok.CreateStreamingDecoder();
        Assert.Equal("", decoder.Append(emoji[0]) + decoder.Append(emoji[1]));
        Assert.Equal("\uFFFD", decoder.Flush());
        Assert.Equal("x", decoder.Append(tok.Encode("x", addSpecial: false)[0]));
    }

    [Fact]
    public void Append_InvalidBytesDoNotStallTheStream()
    {
        var tok = ByteLevelTokenizerFactory.Create("gpt-2", []);
        // A lone continuation byte can never complete: it is emitted at once as U+FFFD.
        int cont = Array.IndexOf(Enumerable.Range(0, tok.VocabSize).Select(i => tok.TokenBytes(i)).ToArray()
            .Select(b => b.Length == 1 && b[0] == 0x80).ToArray(), true);
        var decoder = tok.CreateStreamingDecoder();
        Assert.Equal("\uFFFD", decoder.Append(cont));
    }

    [Fact]
    public void ControlTokens_RenderOnlyWhenAsked()
    {
        var tok = ByteLevelTokenizerFactory.Create("gpt-2", []);
        int bos = tok.BosId!.Value;
        Assert.Equal("", tok.CreateStreamingDecoder().Append(bos));
        Assert.Equal("<|bos|>", tok.CreateStreamingDecoder(renderSpecial: true).Append(bos));
        Assert.Equal("<|bos|>", Encoding.UTF8.GetString(tok.TokenBytes(bos)));
        Assert.Equal("x", tok.Decode([bos, tok.Encode("x", addSpecial: false)[0]]));
    }
}

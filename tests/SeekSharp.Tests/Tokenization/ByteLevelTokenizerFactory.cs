using SeekSharp.Tokenization;

namespace SeekSharp.Tests.Tokenization;

/// <summary>Builds small byte-level BPE tokenizers in memory: the 256 byte tokens, the given merges and added tokens.</summary>
internal static class ByteLevelTokenizerFactory
{
    public static Tokenizer Create(string pre, string[] merges, (string Text, int Type)[]? added = null, bool addBos = false)
    {
        var tokens = new List<string>();
        for (int b = 0; b < 256; b++) tokens.Add(Encode([(byte)b]));
        foreach (var m in merges) tokens.Add(m.Replace(" ", ""));
        var types = Enumerable.Repeat((int)GgufTokenType.Normal, tokens.Count).ToList();
        foreach (var (text, type) in added ?? []) { tokens.Add(text); types.Add(type); }
        tokens.Add("<|bos|>"); types.Add((int)GgufTokenType.Control);
        var def = new TokenizerDefinition { Model = "gpt2", Pre = pre, Tokens = [.. tokens], TokenTypes = [.. types], Merges = merges };
        def.SetSpecialId("bos", tokens.Count - 1);
        def.SetSpecialId("eos", tokens.Count - 1);
        def.SetAddSpecial("bos", addBos);
        return new Tokenizer(def, fromGguf: true, "(test)");
    }

    /// <summary>Byte-level spelling of raw bytes.</summary>
    public static string Encode(byte[] bytes) => new([.. bytes.Select(b => ByteLevel.ByteToChar[b])]);

    public static string Encode(string text) => Encode(System.Text.Encoding.UTF8.GetBytes(text));
}

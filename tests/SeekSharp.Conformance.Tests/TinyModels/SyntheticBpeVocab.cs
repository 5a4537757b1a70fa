using SeekSharp.Gguf;

namespace SeekSharp.Conformance.Tests.TinyModels;

/// <summary>
/// A minimal GPT-2 style byte-level BPE vocabulary, enough for llama.cpp to load a model without a real tokenizer.
/// Token ids: 0..255 the bytes (spelled with GPT-2's byte-to-unicode table, so byte 0x20 is "Ġ" and 0x0A is "Ċ"),
/// then one token per merge in merge order, then BOS and EOS, then optionally unused "[PADn]" tokens up to a
/// requested size (as convert_hf_to_gguf pads a vocab to the model's vocab_size), to give a model a realistic
/// output width.
/// </summary>
internal static class SyntheticBpeVocab
{
    // Merge rules in priority order, over the byte-to-unicode spellings.
    private static readonly (string Left, string Right)[] Merges =
    [
        ("Ġ", "t"), ("h", "e"), ("i", "n"), ("Ġt", "he"), ("e", "r"), ("Ġ", "a"), ("o", "n"), ("r", "e"),
        ("Ġ", "s"), ("a", "t"), ("e", "n"), ("o", "r"),
    ];

    public static int BosId => 256 + Merges.Length;
    public static int EosId => BosId + 1;
    public static int VocabSize => EosId + 1;

    public static void Write(GgufWriter w) => Write(w, VocabSize);

    public static void Write(GgufWriter w, int paddedSize)
    {
        if (paddedSize < VocabSize)
            throw new ArgumentOutOfRangeException(nameof(paddedSize), paddedSize, $"The synthetic vocab has {VocabSize} tokens.");
        var tokens = new string[paddedSize];
        var types = new int[paddedSize];
        var byteToChar = ByteToUnicode();
        for (int b = 0; b < 256; b++)
        {
            tokens[b] = byteToChar[b].ToString();
            types[b] = 1; // LLAMA_TOKEN_TYPE_NORMAL
        }
        var merges = new string[Merges.Length];
        for (int i = 0; i < Merges.Length; i++)
        {
            tokens[256 + i] = Merges[i].Left + Merges[i].Right;
            types[256 + i] = 1;
            merges[i] = Merges[i].Left + " " + Merges[i].Right;
        }
        tokens[BosId] = "<|bos|>";
        tokens[EosId] = "<|eos|>";
        types[BosId] = 3; // LLAMA_TOKEN_TYPE_CONTROL
        types[EosId] = 3;
        for (int id = VocabSize; id < paddedSize; id++)
        {
            tokens[id] = $"[PAD{id}]";
            types[id] = 5; // LLAMA_TOKEN_TYPE_UNUSED
        }

        w.Set("tokenizer.ggml.model", "gpt2");
        w.Set("tokenizer.ggml.pre", "gpt-2");
        w.Set("tokenizer.ggml.tokens", tokens);
        w.Set("tokenizer.ggml.token_type", types);
        w.Set("tokenizer.ggml.merges", merges);
        w.Set("tokenizer.ggml.bos_token_id", (uint)BosId);
        w.Set("tokenizer.ggml.eos_token_id", (uint)EosId);
        w.Set("tokenizer.ggml.add_bos_token", true);
        w.Set("tokenizer.ggml.add_eos_token", false);
    }

    /// <summary>GPT-2's reversible byte-to-character map: printable Latin-1 bytes stand for themselves, the other
    /// 68 bytes take the characters from U+0100 upwards in byte order.</summary>
    private static char[] ByteToUnicode()
    {
        var map = new char[256];
        int next = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)(256 + next++);
        }
        return map;
    }
}

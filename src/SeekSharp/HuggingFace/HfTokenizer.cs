using System.Security.Cryptography;
using System.Text;
using SeekSharp.Tokenization;

namespace SeekSharp.HuggingFace;

/// <summary>
/// The tokenizer part of a conversion: tokenizer.json + tokenizer_config.json read as llama.cpp's converter reads
/// them (<see cref="HuggingFaceTokenizerFiles"/>), the vocabulary sized to config.json's <c>vocab_size</c>, and
/// <c>tokenizer.ggml.pre</c> chosen as the converter chooses it: by the SHA-256 of the token ids that Hugging Face's
/// tokenizer gives for one check text (convert_hf_to_gguf.py get_vocab_base_pre).
/// </summary>
internal static class HfTokenizer
{
    /// <summary>
    /// convert_hf_to_gguf.py's <c>chktxt</c>: whitespace runs, emoji sequences (with a zero-width joiner and a variation
    /// selector), digit runs, Khmer, CJK, Cyrillic, punctuation runs and English contractions, so that pre-tokenizers
    /// that differ anywhere give different ids.
    /// </summary>
    public const string CheckText =
        "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n\U0001F680 (normal) \U0001F636\u200d\U0001F32B\uFE0F (multiple emojis concatenated) \u2705 \U0001F999\U0001F999 " +
        "3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 " +
        "\u1780\u17B6\u1793\u17CB\u178F\u17C2\u1796\u17B7\u179F\u17C1\u179F\u17A2\u17B6\u1785\U0001F601 ?\u6211\u60F3\u5728apple\u5DE5\u4F5C1314151\u5929\uFF5E " +
        "------======= \u043D\u0435\u0449\u043E \u043D\u0430 \u0411\u044A\u043B\u0433\u0430\u0440\u0441\u043A\u0438 ''''''```````\"\"\"\"......!!!!!!?????? " +
        "I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL";

    /// <summary>The converter's table entries for the pre-tokenizers SeekSharp implements (hash → <c>tokenizer.ggml.pre</c>).</summary>
    static readonly Dictionary<string, string> PreByHash = new(StringComparer.Ordinal)
    {
        ["0ef9807a4087ebef797fc749390439009c3b9eda9ad1a097abbe738f486c01e5"] = "llama-bpe",        // Meta-Llama-3-8B
        ["e636dc30a262dcc0d8c323492e32ae2b70728f4df7dfe9737d9f920a282b8aea"] = "qwen2",            // Qwen1.5-7B, Qwen2.5, Qwen3
        ["877081d19cf6996e2c4ff0e1236341e9b7bde288f5311a56a937f0afbbb3aeb5"] = "deepseek-v3",      // DeepSeek-V3 / R1
        ["b3f499bb4255f8ca19fccd664443283318f2fd2414d5e0b040fbdd0cc195d6c5"] = "deepseek-r1-qwen", // DeepSeek-R1-Distill-Qwen
        ["3ce83efda5659b07b1ad37ca97ca5797ea4285d9b9ab0dc679e4a720c9da7454"] = "gpt-2",            // openai-community/gpt2
    };

    /// <summary>The converter's hash: SHA-256 of Python's <c>str(list_of_ids)</c>, i.e. "[1, 2, 3]", as lowercase hex.</summary>
    public static string Hash(IReadOnlyList<int> ids) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("[" + string.Join(", ", ids) + "]")));

    /// <summary>The <c>tokenizer.ggml.pre</c> name the converter gives <paramref name="hash"/>, or null when its table has none SeekSharp runs.</summary>
    public static string? PreFor(string hash) => PreByHash.GetValueOrDefault(hash);

    /// <summary>
    /// Reads the folder's tokenizer. <paramref name="vocabSize"/> (config.json) decides the vocabulary length as in the
    /// converter's <c>for i in range(vocab_size)</c>: ids the files do not define become UNUSED "[PADn]" tokens, and
    /// ids past it are dropped.
    /// </summary>
    /// <exception cref="TokenizerFormatException">The files are invalid, or the check text hashes to a pre-tokenizer SeekSharp does not know.</exception>
    public static TokenizerDefinition Load(string folder, int vocabSize, HfConfig? modelConfig = null)
    {
        string json = Path.Combine(folder, "tokenizer.json");
        if (!File.Exists(json))
            throw new TokenizerFormatException(json, "the model folder has no tokenizer.json; SeekSharp reads byte-level BPE tokenizers from it.");
        string? config = Path.Combine(folder, "tokenizer_config.json");
        if (!File.Exists(config)) config = null;
        var def = HuggingFaceTokenizerFiles.Load(json, config);

        // The ids Hugging Face gives the check text (special tokens added as its post-processor adds them), which the
        // tokenizer built from the same files reproduces; the GGUF-side differences (no NFC) do not apply here.
        var ids = new Tokenizer(def, fromGguf: false, json).Encode(CheckText, addSpecial: true, parseSpecial: false);
        string hash = Hash(ids);
        def.Pre = PreFor(hash) ?? throw new TokenizerFormatException(json,
            $"the BPE pre-tokenizer was not recognised: the check text hashes to {hash}, which is not one of the pre-tokenizers SeekSharp implements ({string.Join(", ", PreByHash.Values)}).");

        // gguf-py's SpecialVocab falls back to config.json's {role}_token_id for roles tokenizer_config.json left unset
        // (Qwen3 names no bos_token there but has bos_token_id in config.json); a list (Llama 3.1's eos) is not an id.
        if (modelConfig is not null)
            foreach (string role in new[] { "bos", "eos", "unk", "sep", "pad", "cls", "mask" })
                if (!def.SpecialIds.Any(kv => kv.Key == role) && modelConfig.IdOrNull($"{role}_token_id") is { } id && id < vocabSize)
                    def.SetSpecialId(role, id);

        int n = def.Tokens.Length;
        if (n != vocabSize)
        {
            var tokens = new string[vocabSize];
            var types = new int[vocabSize];
            for (int i = 0; i < vocabSize; i++)
            {
                if (i < n) (tokens[i], types[i]) = (def.Tokens[i], def.TokenTypes[i]);
                else (tokens[i], types[i]) = ($"[PAD{i}]", (int)GgufTokenType.Unused);
            }
            def.Tokens = tokens;
            def.TokenTypes = types;
            if (def.ExtraAttributes is { } extra) def.ExtraAttributes = [.. extra.Take(vocabSize), .. new TokenAttributes[Math.Max(0, vocabSize - n)]];
            def.SpecialIds.RemoveAll(kv => kv.Value >= vocabSize);
        }
        return def;
    }
}

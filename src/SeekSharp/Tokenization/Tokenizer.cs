using System.Text;

namespace SeekSharp.Tokenization;

/// <summary>
/// Text &lt;-&gt; token ids for byte-level BPE (GPT-2, Llama 3, Qwen2, DeepSeek-V3 pre-tokenizers) and
/// SentencePiece-style BPE vocabularies, reproducing llama.cpp's llama_tokenize / llama_detokenize.
/// Instances are immutable and safe to use from several threads.
/// </summary>
public sealed class Tokenizer
{
    readonly string[] texts;              // [nVocab] token text as stored (byte-level alphabet / U+2581 spaces)
    readonly TokenAttributes[] attrs;     // [nVocab]
    readonly byte[][] pieces;             // [nVocab] bytes each token renders to when special tokens are rendered
    readonly HashSet<int> endOfGeneration;
    readonly SpecialTokenPartitioner partitioner;
    readonly PreTokenizer? preTokenizer;        // byte-level BPE only
    readonly BytePairEncoder? bytePair;         // byte-level BPE only
    readonly SentencePieceEncoder? sentencePiece; // SentencePiece only
    readonly bool addSpacePrefix;
    readonly bool cleanSpaces;
    readonly bool nfc;

    internal Tokenizer(TokenizerDefinition def, bool fromGguf, string sourcePath)
    {
        int n = def.Tokens.Length;
        if (def.TokenTypes.Length < n)
            throw new TokenizerFormatException(sourcePath, $"token_type has {def.TokenTypes.Length} entries for {n} tokens.");
        texts = def.Tokens;
        attrs = new TokenAttributes[n];
        for (int i = 0; i < n; i++)
            attrs[i] = TokenAttributesExtensions.FromGgufType(def.TokenTypes[i]) | (def.ExtraAttributes?[i] ?? 0);

        var vocab = new Dictionary<string, int>(n, TokenTextComparer.Instance);
        for (int i = 0; i < n; i++)
            if (!vocab.TryAdd(texts[i], i))
                throw new TokenizerFormatException(sourcePath, $"duplicate token '{texts[i]}' at ids {vocab[texts[i]]} and {i}.");

        // Defaults per model type, then per pre-tokenizer, then explicit metadata (llama_vocab::impl::load).
        bool addBos, addEos = false;
        int? bos, eos;
        PreTokenizerKind? pre = null;
        bool ignoreMerges = false;
        switch (def.Model)
        {
            case "gpt2":
                IsSentencePiece = false;
                // llama.cpp's placeholder ids for BPE vocabularies; only files, not tokenizer.json, inherit them.
                bos = eos = fromGguf ? 11 : null;
                addBos = false;
                addSpacePrefix = false;
                cleanSpaces = true;
                pre = PreTokenizerNames.FromGgufName(def.Pre)
                    ?? throw new TokenizerFormatException(sourcePath,
                        $"tokenizer.ggml.pre is '{def.Pre ?? "(missing)"}'; supported pre-tokenizers: {PreTokenizerNames.SupportedList}.");
                if (pre == PreTokenizerKind.Llama3) { ignoreMerges = true; addBos = true; }
                if (pre is PreTokenizerKind.Qwen2 or PreTokenizerKind.DeepSeekV3) cleanSpaces = false;
                break;
            case "llama":
                IsSentencePiece = true;
                bos = 1; eos = 2;
                addBos = true;
                addSpacePrefix = def.AddSpacePrefix ?? true;
                cleanSpaces = false;
                break;
            default:
                throw new TokenizerFormatException(sourcePath, $"tokenizer.ggml.model is '{def.Model}'; supported: gpt2 (byte-level BPE), llama (SentencePiece BPE).");
        }
        if (bos >= n) bos = null;
        if (eos >= n) eos = null;
        bos = def.GetSpecialId("bos") is int b && b < n ? b : bos;
        eos = def.GetSpecialId("eos") is int e && e < n ? e : eos;
        addBos = def.GetAddSpecial("bos") ?? addBos;
        addEos = def.GetAddSpecial("eos") ?? addEos;
        if (addBos && bos is null) throw new TokenizerFormatException(sourcePath, "add_bos_token is true but no BOS token id is set.");
        if (addEos && eos is null) throw new TokenizerFormatException(sourcePath, "add_eos_token is true but no EOS token id is set.");
        BosId = bos;
        EosId = eos;
        AddBos = addBos;
        AddEos = addEos;
        nfc = def.NfcNormalize;

        endOfGeneration = EndOfGenerationRules.Apply(texts, attrs, eos, def.GetSpecialId("eot"), def.GetSpecialId("eom"));
        partitioner = new SpecialTokenPartitioner(texts, attrs);

        if (IsSentencePiece)
        {
            var scores = def.Scores ?? new float[n];
            if (scores.Length < n) throw new TokenizerFormatException(sourcePath, $"scores has {scores.Length} entries for {n} tokens.");
            sentencePiece = new SentencePieceEncoder(vocab, scores);
        }
        else
        {
            preTokenizer = PreTokenizer.Create(pre!.Value, llamaCppClasses: fromGguf);
            bytePair = new BytePairEncoder(vocab, def.Merges, ignoreMerges || def.IgnoreMerges);
        }

        pieces = new byte[n][];
        for (int i = 0; i < n; i++) pieces[i] = RenderPiece(i);
    }

    /// <summary>Loads a tokenizer from a Hugging Face tokenizer.json (byte-level BPE).</summary>
    /// <param name="tokenizerJsonPath">Path of tokenizer.json.</param>
    /// <param name="tokenizerConfigPath">Path of tokenizer_config.json (BOS/EOS roles, add_bos_token, chat template);
    /// when null, a tokenizer_config.json next to tokenizer.json is used if present.</param>
    /// <remarks>
    /// Hugging Face behaviours that a GGUF file cannot carry are kept: the NFC normalizer (Qwen) and Unicode's
    /// classification of '~' in the DeepSeek-V3 pre-tokenizer. Added tokens marked special (or spelled like
    /// control tokens) are recognised in text only with <c>parseSpecial</c>, exactly as after GGUF conversion.
    /// </remarks>
    /// <exception cref="TokenizerFormatException">The files are invalid or describe an unsupported tokenizer.</exception>
    public static Tokenizer FromHuggingFace(string tokenizerJsonPath, string? tokenizerConfigPath = null)
    {
        tokenizerConfigPath ??= SiblingConfig(tokenizerJsonPath);
        var def = HuggingFaceTokenizerFiles.Load(tokenizerJsonPath, tokenizerConfigPath);
        return new Tokenizer(def, fromGguf: false, tokenizerJsonPath);
    }

    /// <summary>Loads the tokenizer stored in a GGUF file's <c>tokenizer.ggml.*</c> metadata, with llama.cpp's defaults and rules.</summary>
    /// <exception cref="TokenizerFormatException">The metadata describes no supported tokenizer.</exception>
    /// <exception cref="SeekSharp.Gguf.GgufFormatException">A tokenizer key has the wrong type.</exception>
    public static Tokenizer FromGguf(SeekSharp.Gguf.GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return new Tokenizer(GgufTokenizerMetadata.Read(file), fromGguf: true, file.Path);
    }

    internal static string? SiblingConfig(string tokenizerJsonPath)
    {
        string candidate = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(tokenizerJsonPath))!, "tokenizer_config.json");
        return File.Exists(candidate) ? candidate : null;
    }

    /// <summary>Number of token ids (valid ids are 0 .. VocabSize-1).</summary>
    public int VocabSize => texts.Length;

    /// <summary>Beginning-of-sequence token id, if the vocabulary has one.</summary>
    public int? BosId { get; }

    /// <summary>End-of-sequence token id, if the vocabulary has one.</summary>
    public int? EosId { get; }

    /// <summary>Whether <see cref="Encode"/> with <c>addSpecial</c> prepends <see cref="BosId"/>.</summary>
    public bool AddBos { get; }

    /// <summary>Whether <see cref="Encode"/> with <c>addSpecial</c> appends <see cref="EosId"/>.</summary>
    public bool AddEos { get; }

    internal bool IsSentencePiece { get; }

    /// <summary>True for every token that ends generation: EOS, end-of-turn, end-of-message and the like.</summary>
    public bool IsEndOfGeneration(int id) => endOfGeneration.Contains(id);

    /// <summary>The ids that end generation (<see cref="IsEndOfGeneration"/>), a handful.</summary>
    internal IReadOnlyCollection<int> EndOfGenerationIds => endOfGeneration;

    /// <summary>Converts text to token ids.</summary>
    /// <param name="text">The text.</param>
    /// <param name="addSpecial">Add BOS/EOS as the vocabulary asks (<see cref="AddBos"/>, <see cref="AddEos"/>).</param>
    /// <param name="parseSpecial">Recognise control tokens written in the text (e.g. "&lt;|im_start|&gt;") as single tokens;
    /// otherwise they are tokenized as plain text. User-defined added tokens are always recognised.</param>
    /// <returns>The token ids.</returns>
    public int[] Encode(string text, bool addSpecial = true, bool parseSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var output = new List<int>(text.Length / 3 + 4);
        var fragments = partitioner.Partition(text, parseSpecial);
        if (addSpecial && AddBos) output.Add(BosId!.Value);

        if (IsSentencePiece)
        {
            // A space is prefixed at the start and after every added token (llama.cpp's is_prev_special).
            bool prevSpecial = true;
            foreach (var f in fragments)
            {
                if (f.IsToken) { output.Add(f.TokenId); prevSpecial = true; continue; }
                string piece = (addSpacePrefix && prevSpecial ? " " : "") + text.Substring(f.Start, f.Length);
                sentencePiece!.Encode(piece.Replace(' ', '\u2581'), output);
                prevSpecial = false;
            }
        }
        else
        {
            foreach (var f in fragments)
            {
                if (f.IsToken) output.Add(f.TokenId);
                else EncodeBytePairText(text.AsSpan(f.Start, f.Length), output);
            }
        }

        if (addSpecial && AddEos) output.Add(EosId!.Value);
        return [.. output];
    }

    void EncodeBytePairText(ReadOnlySpan<char> text, List<int> output)
    {
        if (nfc) text = UnicodeNfc.Normalize(new string(text));

        // Code points; unpaired surrogates become U+FFFD, as invalid UTF-8 does in llama.cpp.
        var cps = new int[text.Length];
        int count = 0;
        for (int i = 0; i < text.Length;)
        {
            if (Rune.DecodeFromUtf16(text[i..], out Rune r, out int used) != System.Buffers.OperationStatus.Done) r = Rune.ReplacementChar;
            cps[count++] = r.Value;
            i += used;
        }
        var codepoints = cps.AsSpan(0, count);

        var words = new List<(int Start, int Length)>();
        preTokenizer!.Split(codepoints, words);

        Span<byte> utf8 = stackalloc byte[4];
        char[] buffer = new char[64];
        foreach (var (start, length) in words)
        {
            // Byte-level alphabet: one char per UTF-8 byte of the word.
            if (buffer.Length < length * 4) buffer = new char[length * 4];
            int len = 0;
            for (int i = start; i < start + length; i++)
            {
                int nb = new Rune(codepoints[i]).EncodeToUtf8(utf8);
                for (int k = 0; k < nb; k++) buffer[len++] = ByteLevel.ByteToChar[utf8[k]];
            }
            bytePair!.EncodeWord(buffer.AsSpan(0, len), output);
        }
    }

    /// <summary>Converts token ids back to text (llama_detokenize without removing BOS/EOS).</summary>
    /// <param name="ids">Token ids.</param>
    /// <param name="renderSpecial">Render control tokens (e.g. "&lt;|im_end|&gt;"); otherwise they produce no text.</param>
    /// <returns>The text; bytes that do not form valid UTF-8 become U+FFFD.</returns>
    /// <remarks>Like llama.cpp this removes the SentencePiece prefix space of the first token and, for the
    /// vocabularies where llama.cpp does so (GPT-2, Llama 3), cleans up spaces before punctuation.</remarks>
    public string Decode(ReadOnlySpan<int> ids, bool renderSpecial = false)
    {
        var bytes = new List<byte>(ids.Length * 4);
        bool removeSpace = addSpacePrefix;
        foreach (int id in ids)
        {
            var piece = Piece(id, renderSpecial);
            if (removeSpace && piece.Length > 0 && piece[0] == (byte)' ') piece = piece[1..];
            removeSpace = false;
            bytes.AddRange(piece);
        }
        if (cleanSpaces) CleanUpSpaces(bytes);
        return Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
    }

    /// <summary>The raw bytes token <paramref name="id"/> stands for (control tokens as their text). A copy.</summary>
    public byte[] TokenBytes(int id)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(id, VocabSize);
        return (byte[])pieces[id].Clone();
    }

    /// <summary>Creates a decoder for token-by-token output that only ever returns complete UTF-8 text.</summary>
    /// <param name="renderSpecial">Render control tokens as their text.</param>
    public StreamingDecoder CreateStreamingDecoder(bool renderSpecial = false) => new(this, renderSpecial, addSpacePrefix);

    /// <summary>The bytes of one token as llama_token_to_piece renders it.</summary>
    internal ReadOnlySpan<byte> Piece(int id, bool renderSpecial)
    {
        if ((uint)id >= (uint)texts.Length) throw new ArgumentOutOfRangeException(nameof(id), id, $"token id outside 0..{texts.Length - 1}");
        if (!renderSpecial && (attrs[id] & (TokenAttributes.Control | TokenAttributes.Unknown)) != 0) return default;
        return pieces[id];
    }

    byte[] RenderPiece(int id)
    {
        var attr = attrs[id];
        string text = texts[id];
        if ((attr & (TokenAttributes.Control | TokenAttributes.Unknown | TokenAttributes.UserDefined)) != 0)
            return Encoding.UTF8.GetBytes(text);
        if ((attr & TokenAttributes.Normal) != 0)
        {
            if (IsSentencePiece) return Encoding.UTF8.GetBytes(text.Replace('\u2581', ' '));
            return ByteLevel.TryDecode(text, out var raw) ? raw : Encoding.UTF8.GetBytes(text);
        }
        if ((attr & TokenAttributes.Byte) != 0 && text.Length == 6 && text.StartsWith("<0x", StringComparison.Ordinal)
            && byte.TryParse(text.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out byte value))
            return [value];
        // Unused and undefined tokens render as nothing.
        return [];
    }

    /// <summary>llama.cpp's clean_up_tokenization_spaces: " ?"/" !"/" ."/" ," lose the space, " ' " loses both, " 's"/" 'm"/" 're"/" 've" the space.</summary>
    static void CleanUpSpaces(List<byte> t)
    {
        var s = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(t);
        int total = s.Length;
        if (total == 0) return;

        int n = 1;
        for (int i = 1; i < total; i++)
        {
            byte x = s[i];
            if (s[i - 1] == ' ' && x is (byte)'?' or (byte)'!' or (byte)'.' or (byte)',') n--;
            s[n++] = x;
        }
        total = n;

        n = 1;
        for (int i = 1; i < total; i++)
        {
            byte x = s[i];
            if (x == '\'' && i + 1 < total && s[i - 1] == ' ' && s[i + 1] == ' ')
            {
                n--;
                s[++i] = 0;
            }
            s[n++] = x;
        }
        total = n;

        n = 1;
        for (int i = 1; i < total; i++)
        {
            byte x = s[i];
            if (s[i - 1] == ' ' && x == '\'' && i + 1 < total)
            {
                byte x1 = s[i + 1];
                if (x1 is (byte)'s' or (byte)'m') n--;
                else if (i + 2 < total && ((x1 == 'r' && s[i + 2] == 'e') || (x1 == 'v' && s[i + 2] == 'e'))) n--;
            }
            s[n++] = x;
        }
        t.RemoveRange(n, t.Count - n);
    }
}

namespace SeekSharp.Tokenization;

/// <summary>
/// llama.cpp's text-based special-token detection (llama_vocab::impl::load): converters do not record
/// end-of-turn or fill-in-the-middle roles, so llama.cpp recognises them by spelling, forces them to be
/// control tokens, and stops generation on any of them.
/// </summary>
internal static class EndOfGenerationRules
{
    static readonly HashSet<string> EotTexts =
    [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
        "<EOT>", "_<EOT>", "[EOT]", "<\uFF5Cend\u2581of\u2581sentence\uFF5C>", "<end_of_utterance>",
    ];

    static readonly HashSet<string> EogTexts =
    [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>", "<|endoftext|>",
        "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>",
        "<\uFF5Cend\u2581of\u2581sentence\uFF5C>", "<|flush|>", "<|calls|>", "</s>", "<eos>", "<turn|>",
        "<|tool_response>", "[e~[",
    ];

    static readonly string[][] FimTexts =
    [
        ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\uFF5Cfim\u2581begin\uFF5C>", "<PRE>", "\u2581<PRE>"],
        ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\uFF5Cfim\u2581hole\uFF5C>", "<SUF>", "\u2581<SUF>"],
        ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\uFF5Cfim\u2581end\uFF5C>", "<MID>", "\u2581<MID>"],
    ];
    static readonly string[] FimPadTexts = ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>"];
    static readonly string[] FimRepTexts = ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"];
    static readonly string[] FimSepTexts = ["<|file_sep|>"];

    /// <summary>Marks recognised tokens as control tokens in <paramref name="attrs"/> and returns the end-of-generation set.</summary>
    public static HashSet<int> Apply(string[] texts, TokenAttributes[] attrs, int? eos, int? eot, int? eom)
    {
        var eog = new HashSet<int>();
        void MakeControl(int id) => attrs[id] |= TokenAttributes.Control;

        for (int id = 0; id < texts.Length; id++)
        {
            string t = texts[id];
            if (eot is null && EotTexts.Contains(t)) { eot = id; MakeControl(id); }
            if (eom is null && t == "<|eom_id|>") { eom = id; MakeControl(id); }
            foreach (var set in FimTexts)
                if (Array.IndexOf(set, t) >= 0) MakeControl(id);
            if (Array.IndexOf(FimPadTexts, t) >= 0 || Array.IndexOf(FimRepTexts, t) >= 0 || Array.IndexOf(FimSepTexts, t) >= 0)
            {
                MakeControl(id);
                eog.Add(id);
            }
            if (EogTexts.Contains(t)) { eog.Add(id); MakeControl(id); }
        }
        if (eos is int e) eog.Add(e);
        if (eot is int o) eog.Add(o);
        if (eom is int m) eog.Add(m);

        // Harmony-style vocabularies use <|end|> between messages, not at the end of a reply.
        int end = Array.IndexOf(texts, "<|end|>");
        if (end >= 0 && eog.Contains(end) && Array.IndexOf(texts, "<|return|>") >= 0 && Array.IndexOf(texts, "<|call|>") >= 0)
        {
            eog.Remove(end);
            attrs[end] = TokenAttributes.UserDefined;
        }

        // <|call|>/<|calls|> vocabularies with <|return|> or <|flush|> use <|end|> between messages, not at the end.
        // (Handled above for <|return|>; <|flush|> is the solar-open spelling.)
        if (end >= 0 && eog.Contains(end) && Array.IndexOf(texts, "<|calls|>") >= 0 && Array.IndexOf(texts, "<|flush|>") >= 0)
        {
            eog.Remove(end);
            attrs[end] = TokenAttributes.UserDefined;
        }

        // Vocabularies with <|tool_response> (Gemma 4) use </s> as ordinary text.
        int closeS = Array.IndexOf(texts, "</s>");
        if (closeS >= 0 && eog.Contains(closeS) && Array.IndexOf(texts, "<|tool_response>") >= 0)
        {
            eog.Remove(closeS);
            attrs[closeS] = TokenAttributes.Normal;
        }

        // Control tokens named "unused" are marked unused too (llama.cpp auto-detection).
        for (int id = 0; id < texts.Length; id++)
            if ((attrs[id] & TokenAttributes.Control) != 0 && texts[id].Contains("unused", StringComparison.Ordinal))
                attrs[id] |= TokenAttributes.Unused;
        return eog;
    }
}

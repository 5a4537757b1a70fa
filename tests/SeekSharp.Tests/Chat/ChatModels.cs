using SeekSharp.Conformance.Tests.TinyModels;

namespace SeekSharp.Tests.Chat;

/// <summary>Tiny random-weight models carrying real tokenizers and real chat templates, for chat tests.</summary>
internal static class ChatModels
{
    public static string TemplatePath(string name) => Path.Combine(RealTokenizers.RepoRoot(), "tests", "data", "chat", "templates", name);

    /// <summary>DeepSeek-R1-Distill's template (generation prompt ends inside &lt;think&gt;) on the DeepSeek-V3 tokenizer.</summary>
    public static string R1 => TinyModelBuilder.GetOrBuild(Options(WithTemplate(RealTokenizers.DeepSeekV3, "r1", File.ReadAllText(TemplatePath("deepseek-r1-distill.jinja")))));

    /// <summary>Llama 3.1 with its own template: no reasoning.</summary>
    public static string Llama3 => TinyModelBuilder.GetOrBuild(Options(RealTokenizers.Llama31) with { Architecture = TinyArchitecture.Llama });

    private static TinyTokenizer WithTemplate(TinyTokenizer t, string suffix, string template)
        => Cache.GetOrAdd(t.Name + suffix, _ => new TinyTokenizer($"{t.Name}-{suffix}", t.VocabSize, w => { t.Write(w); w.Set("tokenizer.chat_template", template); }));

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, TinyTokenizer> Cache = new();

    private static TinyModelOptions Options(TinyTokenizer tokenizer) => new()
    {
        Architecture = TinyArchitecture.Qwen2, Dim = 64, Heads = 4, KvHeads = 2, FfnDim = 128, Layers = 2,
        Tokenizer = tokenizer, ContextLength = 512, Seed = 11,
    };
}

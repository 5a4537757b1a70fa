namespace SeekSharp.Training.Tests.Tokenizers;

/// <summary>The repository's tokenizer test corpus (tests/corpus/*.txt) and the repository root.</summary>
internal static class TrainingCorpus
{
    public static string RepoRoot { get; } = FindRepoRoot();

    static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SeekSharp.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"No SeekSharp.slnx above {AppContext.BaseDirectory}.");
    }

    /// <summary>Each corpus file's whole text, in file name order.</summary>
    public static IReadOnlyList<string> Files { get; } =
        [.. Directory.GetFiles(Path.Combine(RepoRoot, "tests", "corpus"), "*.txt").Order(StringComparer.Ordinal).Select(File.ReadAllText)];

    /// <summary>Every non-empty line of every corpus file.</summary>
    public static IReadOnlyList<string> Lines { get; } = [.. Files.SelectMany(f => f.Split('\n')).Where(l => l.Length > 0)];
}

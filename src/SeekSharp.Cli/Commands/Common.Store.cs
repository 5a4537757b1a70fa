using System.CommandLine;
using SeekSharp.Store;

namespace SeekSharp.Cli.Commands;

/// <summary>The model store as every command sees it: <c>--models-dir</c>, else <c>SEEK_MODELS</c>, else the user's data folder.</summary>
internal static partial class Common
{
    public static Option<string?> ModelsDirOption() => new("--models-dir")
    {
        Description = $"Folder of pulled models (default: the {ModelStore.EnvironmentVariable} environment variable, else {ModelStore.DefaultRoot()})",
    };

    public static ModelStore OpenStore(ParseResult r, Option<string?> modelsDir) => ModelStore.Open(r.GetValue(modelsDir));

    /// <summary>Sizes as <c>ollama list</c> prints them: decimal units, one decimal below 10.</summary>
    public static string FormatSize(long bytes)
    {
        string[] units = ["B", "KB", "MB", "GB", "TB"];
        double value = bytes;
        int unit = 0;
        while (value >= 1000 && unit < units.Length - 1)
        {
            value /= 1000;
            unit++;
        }
        return unit == 0 ? $"{bytes} B" : value < 10 ? $"{value:0.0} {units[unit]}" : $"{value:0} {units[unit]}";
    }

    /// <summary>"2 minutes ago", "3 days ago": how <c>ollama list</c> shows when a model changed.</summary>
    public static string Ago(DateTimeOffset time, DateTimeOffset now)
    {
        var span = now - time;
        static string Of(double n, string unit) => $"{(long)n} {unit}{((long)n == 1 ? "" : "s")} ago";
        return span.TotalSeconds < 60 ? "less than a minute ago"
             : span.TotalMinutes < 60 ? Of(span.TotalMinutes, "minute")
             : span.TotalHours < 24 ? Of(span.TotalHours, "hour")
             : span.TotalDays < 30 ? Of(span.TotalDays, "day")
             : span.TotalDays < 365 ? Of(span.TotalDays / 30, "month")
             : Of(span.TotalDays / 365, "year");
    }

    /// <summary>Rows padded to their columns' widths, two spaces apart, trailing spaces trimmed.</summary>
    public static void WriteColumns(TextWriter output, IReadOnlyList<string[]> rows)
    {
        int[] widths = [.. Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(row => row[c].Length))];
        foreach (var row in rows)
            output.WriteLine(string.Join("  ", row.Select((cell, c) => cell.PadRight(widths[c]))).TrimEnd());
    }
}

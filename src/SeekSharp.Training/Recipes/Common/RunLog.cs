using System.Globalization;
using System.Text;

namespace SeekSharp.Training.Recipes.Common;

/// <summary>
/// The CSV log of a run: a header <c>step,&lt;metrics&gt;</c> and one row per optimizer step, flushed as it is written
/// so an interrupted run keeps its curve. A resumed run first drops the rows after the checkpoint's step, so the log
/// reads as one uninterrupted run.
/// </summary>
internal sealed class RunLog : IDisposable
{
    readonly StreamWriter writer;
    readonly int columns;

    /// <summary>Opens (or continues) the log at <paramref name="path"/>.</summary>
    /// <param name="path">CSV file.</param>
    /// <param name="metrics">Column names after <c>step</c>.</param>
    /// <param name="resumeFromStep">Null for a new log; otherwise rows up to this step are kept.</param>
    public RunLog(string path, IReadOnlyList<string> metrics, long? resumeFromStep)
    {
        Path = path;
        columns = metrics.Count;
        string header = "step," + string.Join(',', metrics);
        var kept = new List<string>();
        if (resumeFromStep is long last && File.Exists(path))
        {
            var lines = File.ReadAllLines(path);
            if (lines.Length > 0 && lines[0] != header)
                throw new InvalidDataException($"{path} has columns '{lines[0]}', this run writes '{header}'; resume with the same recipe or choose another outputDir.");
            kept.AddRange(lines.Skip(1).Where(l => long.TryParse(l.AsSpan(0, Math.Max(0, l.IndexOf(','))), NumberStyles.Integer, CultureInfo.InvariantCulture, out long s) && s <= last));
        }
        // The kept rows replace the file whole (temporary file, then rename), so a run killed right after resuming
        // cannot lose the rows it kept; new rows are then appended.
        var text = new StringBuilder(header).Append('\n');
        foreach (string line in kept) text.Append(line).Append('\n');
        SeekSharp.IO.AtomicFile.WriteAllText(path, text.ToString());
        writer = new StreamWriter(path, append: true, new UTF8Encoding(false));
    }

    /// <summary>The CSV file.</summary>
    public string Path { get; }

    /// <summary>Appends the row of <paramref name="step"/>.</summary>
    public void Write(long step, ReadOnlySpan<double> values)
    {
        if (values.Length != columns) throw new ArgumentException($"Expected {columns} values, got {values.Length}.", nameof(values));
        var sb = new StringBuilder();
        sb.Append(step.ToString(CultureInfo.InvariantCulture));
        foreach (double v in values) sb.Append(',').Append(v.ToString("G6", CultureInfo.InvariantCulture));
        // One write call per row: a killed process leaves whole rows (a row cut by a write of its own is dropped on read).
        writer.Write(sb.Append('\n').ToString());
        writer.Flush();
    }

    public void Dispose() => writer.Dispose();

    /// <summary>Reads a log back: the metric names and, per metric, its (step, value) points.</summary>
    public static (string[] Names, double[] Steps, double[][] Values) Read(string path)
    {
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0) throw new InvalidDataException($"{path} is empty; expected a CSV header.");
        string[] names = lines[0].Split(',')[1..];
        // A row without every column is the torn last line of a killed run: not data.
        var rows = lines.Skip(1).Select(l => l.Split(',')).Where(r => r.Length == names.Length + 1).ToArray();
        double[] steps = [.. rows.Select(r => double.Parse(r[0], CultureInfo.InvariantCulture))];
        var values = new double[names.Length][];
        for (int c = 0; c < names.Length; c++)
            values[c] = [.. rows.Select(r => double.Parse(r[c + 1], CultureInfo.InvariantCulture))];
        return (names, steps, values);
    }
}

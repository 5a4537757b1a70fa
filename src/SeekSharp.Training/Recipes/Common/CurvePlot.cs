using ScottPlot;

namespace SeekSharp.Training.Recipes.Common;

/// <summary>Draws a run's curves from its CSV log as one PNG, one panel per metric stacked over a shared step axis.</summary>
internal static class CurvePlot
{
    /// <summary>Writes a PNG of the columns <paramref name="metrics"/> of the log at <paramref name="csvPath"/>.</summary>
    /// <param name="csvPath">A <see cref="RunLog"/> file.</param>
    /// <param name="pngPath">Output image.</param>
    /// <param name="title">Title of the top panel (the recipe and run).</param>
    /// <param name="metrics">Columns to draw, in panel order; names missing from the log are skipped.</param>
    public static void Write(string csvPath, string pngPath, string title, IReadOnlyList<string> metrics)
    {
        var (names, steps, values) = RunLog.Read(csvPath);
        var chosen = metrics.Select(m => Array.IndexOf(names, m)).Where(i => i >= 0).ToArray();
        if (chosen.Length == 0) return;
        var multiplot = new Multiplot();
        multiplot.AddPlots(chosen.Length);
        for (int k = 0; k < chosen.Length; k++)
        {
            var plot = multiplot.GetPlot(k);
            var line = plot.Add.ScatterLine(steps, values[chosen[k]]);
            line.LineWidth = 1.5f;
            plot.YLabel(names[chosen[k]]);
            if (k == 0) plot.Title(title);
            if (k == chosen.Length - 1) plot.XLabel("step");
        }
        // Rendered beside the target and renamed over it, so a killed run never leaves a truncated PNG under the name.
        string temp = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(pngPath))!, $".{Path.GetFileName(pngPath)}.tmp-{Environment.ProcessId}.png");
        multiplot.SavePng(temp, 900, 260 * chosen.Length);
        File.Move(temp, pngPath, overwrite: true);
    }
}

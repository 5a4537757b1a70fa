using SeekSharp.Inference;
using System.Globalization;
using System.Text;

namespace SeekSharp.Conformance.Tests.Trace;

/// <summary>
/// Finds the first layer and named intermediate where SeekSharp parts from llama.cpp on the same GGUF file and prompt.
/// </summary>
/// <remarks>
/// Both implementations evaluate the prompt as one batch (positions 0..n-1, logits for every position). SeekSharp's
/// trace (<see cref="SeekSharp.Models.ITraceSink"/>) says which (name, layer) pairs exist and in which order the data
/// flows; llama.cpp's tensors of the same names are read through ggml's eval callback (<see cref="LlamaCppTrace"/>).
/// Each pair is compared element by element as [T, width]; the first pair, in SeekSharp's order, whose largest absolute
/// difference exceeds the tolerance is the divergence. Everything after it inherits the error, so that is where to look.
/// <para>
/// When llama.cpp names a tensor several times in one layer (Qcur after the matmul, after the bias, after the reshape to
/// heads, after RoPE) the last occurrence is compared: it is the finished value, which is what SeekSharp traces.
/// </para>
/// </remarks>
internal static class TraceDiff
{
    /// <summary>Default largest absolute difference accepted per element: F32 models match llama.cpp to about 1e-6.</summary>
    public const float DefaultTolerance = 1e-4f;

    /// <summary>
    /// Developer entry point: evaluates <paramref name="tokens"/> on <paramref name="ggufPath"/> with both implementations
    /// and returns the per-layer table of largest absolute differences, ending with the first divergence (or none).
    /// </summary>
    /// <example><c>output.WriteLine(TraceDiff.Report("/models/qwen2-0.5b-f32.gguf", [9707, 11, 1879]));</c></example>
    public static string Report(string ggufPath, int[] tokens, float tolerance = DefaultTolerance, MlaAttention mla = MlaAttention.Auto) =>
        Compare(ggufPath, ggufPath, tokens, tolerance, mla).ToTable();

    /// <summary>
    /// Runs SeekSharp on <paramref name="seekSharpPath"/> and llama.cpp on <paramref name="llamaCppPath"/> (normally the
    /// same file; two files let a test plant a difference on one side) and compares every traced pair.
    /// </summary>
    public static TraceComparison Compare(string seekSharpPath, string llamaCppPath, int[] tokens, float tolerance = DefaultTolerance,
        MlaAttention mla = MlaAttention.Auto)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tolerance);
        var ours = SeekSharpTrace.Capture(seekSharpPath, tokens, mla);
        var wantedNames = ours.Tensors.SelectMany(t => LlamaCppNames(t.Name)).ToHashSet();
        var theirs = LlamaCppTrace.Capture(llamaCppPath, tokens, wantedNames.Contains);

        var rows = new List<TraceRow>();
        foreach (var mine in ours.Tensors)
        {
            var occurrences = LlamaCppNames(mine.Name)
                .Select(n => theirs.Occurrences(n, mine.Layer))
                .FirstOrDefault(o => o.Count > 0);
            rows.Add(CompareOne(mine, occurrences is null ? null : occurrences[^1], tolerance));
        }
        return new TraceComparison(seekSharpPath, llamaCppPath, tokens.Length, tolerance, rows);
    }

    /// <summary>
    /// Names llama.cpp may give the tensor SeekSharp traces as <paramref name="name"/>. The embedding rows are
    /// <c>inp_embd</c> in llama.cpp's sources; the build behind LLamaSharp 0.30 names the get_rows node <c>embd</c>.
    /// </summary>
    private static IEnumerable<string> LlamaCppNames(string name) =>
        name == "inp_embd" ? ["inp_embd", "embd"] : [name];

    private static TraceRow CompareOne(TracedTensor mine, TracedTensor? theirs, float tolerance)
    {
        var row = new TraceRow(mine.Layer, mine.Name, mine.ShapeText, theirs?.ShapeText);
        if (theirs is null)
            return row with { Status = TraceStatus.MissingInLlamaCpp };
        if (theirs.Values is null)
            return row with { Status = TraceStatus.Unreadable, Detail = theirs.Note };
        float[] a = mine.Values!, b = theirs.Values;
        if (a.Length != b.Length)
            return row with { Status = TraceStatus.ShapeMismatch };

        long width = mine.Shape[^1];
        float maxDiff = 0, maxRef = 0;
        int worst = 0;
        for (int i = 0; i < a.Length; i++)
        {
            float diff = MathF.Abs(a[i] - b[i]);
            // A NaN on either side must count as the largest difference, not vanish in a comparison.
            if (float.IsNaN(diff) || diff > maxDiff)
            {
                maxDiff = float.IsNaN(diff) ? float.PositiveInfinity : diff;
                worst = i;
            }
            maxRef = MathF.Max(maxRef, MathF.Abs(b[i]));
        }
        return row with
        {
            Status = maxDiff <= tolerance ? TraceStatus.Match : TraceStatus.Diverges,
            MaxAbsDiff = maxDiff,
            MaxAbsLlamaCpp = maxRef,
            WorstToken = (int)(worst / width),
            WorstColumn = (int)(worst % width),
            WorstSeekSharp = a[worst],
            WorstLlamaCpp = b[worst],
        };
    }
}

/// <summary>Outcome of comparing one (layer, name) pair.</summary>
internal enum TraceStatus
{
    /// <summary>Every element within the tolerance.</summary>
    Match,
    /// <summary>Some element differs by more than the tolerance.</summary>
    Diverges,
    /// <summary>Different element counts: the two implementations disagree about the tensor itself.</summary>
    ShapeMismatch,
    /// <summary>llama.cpp's graph has no tensor of that name in that layer (e.g. qwen2 does not name attn_out).</summary>
    MissingInLlamaCpp,
    /// <summary>llama.cpp's tensor exists but could not be read (not F32).</summary>
    Unreadable,
}

/// <summary>One compared (layer, name) pair.</summary>
/// <param name="Layer">Block index, -1 outside the layer loop.</param>
/// <param name="Name">llama.cpp's graph name.</param>
/// <param name="SeekSharpShape">[T, width].</param>
/// <param name="LlamaCppShape">ggml ne[], or null when missing.</param>
internal sealed record TraceRow(int Layer, string Name, string SeekSharpShape, string? LlamaCppShape)
{
    public TraceStatus Status { get; init; }
    /// <summary>Largest |SeekSharp - llama.cpp| over all elements.</summary>
    public float MaxAbsDiff { get; init; }
    /// <summary>Largest |llama.cpp| over all elements: the scale the difference is relative to.</summary>
    public float MaxAbsLlamaCpp { get; init; }
    /// <summary>Token (row) and column of the largest difference.</summary>
    public int WorstToken { get; init; }
    public int WorstColumn { get; init; }
    public float WorstSeekSharp { get; init; }
    public float WorstLlamaCpp { get; init; }
    public string? Detail { get; init; }

    public bool IsDivergence => Status is TraceStatus.Diverges or TraceStatus.ShapeMismatch;

    public string Where => Layer < 0 ? Name : $"layer {Layer} {Name}";

    /// <summary>A sentence describing this row (used for divergences and notes).</summary>
    public string Describe(float tolerance) => Status switch
    {
        TraceStatus.Match or TraceStatus.Diverges => string.Create(CultureInfo.InvariantCulture,
            $"{Where}: max |diff| {MaxAbsDiff:0.0e+00} {(Status == TraceStatus.Match ? "<=" : ">")} tolerance {tolerance:0.0e+00} " +
            $"at token {WorstToken}, column {WorstColumn} (SeekSharp {WorstSeekSharp:G6}, llama.cpp {WorstLlamaCpp:G6}; max |llama.cpp| {MaxAbsLlamaCpp:G4})"),
        TraceStatus.ShapeMismatch => $"{Where}: SeekSharp {SeekSharpShape} and llama.cpp {LlamaCppShape} hold different element counts",
        TraceStatus.MissingInLlamaCpp => $"{Where}: llama.cpp's graph names no such tensor (not compared)",
        _ => $"{Where}: llama.cpp's tensor {LlamaCppShape} could not be read: {Detail} (not compared)",
    };
}

/// <summary>All compared pairs of one prompt, in SeekSharp's (data-flow) order.</summary>
internal sealed record TraceComparison(string SeekSharpPath, string LlamaCppPath, int Tokens, float Tolerance, IReadOnlyList<TraceRow> Rows)
{
    /// <summary>The earliest pair that diverges, or null when all compared pairs match.</summary>
    public TraceRow? FirstDivergence => Rows.FirstOrDefault(r => r.IsDivergence);

    /// <summary>Pairs that could not be compared (missing or unreadable on llama.cpp's side).</summary>
    public IEnumerable<TraceRow> NotCompared => Rows.Where(r => r.Status is TraceStatus.MissingInLlamaCpp or TraceStatus.Unreadable);

    /// <summary>
    /// A table with one line per layer and one column per name, each cell the largest absolute difference
    /// (<c>*</c> above the tolerance, <c>shape</c> for a shape mismatch, <c>-</c> not compared); tensors outside the
    /// layer loop are listed before and after it. Ends with the first divergence.
    /// </summary>
    public string ToTable()
    {
        var sb = new StringBuilder();
        string files = SeekSharpPath == LlamaCppPath
            ? $"on {Path.GetFileName(LlamaCppPath)}"
            : $"(SeekSharp on {Path.GetFileName(SeekSharpPath)}, llama.cpp on {Path.GetFileName(LlamaCppPath)})";
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"SeekSharp vs llama.cpp {files}, {Tokens} tokens in one batch: max |SeekSharp - llama.cpp| per tensor, * above {Tolerance:0.0e+00}"));

        int firstLayered = Rows.ToList().FindIndex(r => r.Layer >= 0);
        var before = Rows.Where((r, i) => r.Layer < 0 && (firstLayered < 0 || i < firstLayered)).ToList();
        var after = Rows.Where((r, i) => r.Layer < 0 && firstLayered >= 0 && i > firstLayered).ToList();
        var layered = Rows.Where(r => r.Layer >= 0).ToList();
        var columns = layered.Select(r => r.Name).Distinct().ToList();
        int nameWidth = Math.Max(13, Rows.Where(r => r.Layer < 0).Select(r => r.Name.Length).DefaultIfEmpty(0).Max());
        int cellWidth = Math.Max(9, columns.Select(c => c.Length).DefaultIfEmpty(0).Max() + 1);

        foreach (var r in before)
            sb.Append(r.Name.PadRight(nameWidth)).AppendLine(Cell(r).PadLeft(cellWidth));
        if (columns.Count > 0)
        {
            sb.Append("layer".PadRight(nameWidth));
            foreach (var c in columns)
                sb.Append(c.PadLeft(cellWidth));
            sb.AppendLine();
            foreach (var layer in layered.Select(r => r.Layer).Distinct())
            {
                sb.Append(layer.ToString(CultureInfo.InvariantCulture).PadRight(nameWidth));
                foreach (var c in columns)
                {
                    var row = layered.FirstOrDefault(r => r.Layer == layer && r.Name == c);
                    sb.Append((row is null ? "" : Cell(row)).PadLeft(cellWidth));
                }
                sb.AppendLine();
            }
        }
        foreach (var r in after)
            sb.Append(r.Name.PadRight(nameWidth)).AppendLine(Cell(r).PadLeft(cellWidth));

        foreach (var r in NotCompared)
            sb.AppendLine("note: " + r.Describe(Tolerance));
        sb.AppendLine(FirstDivergence is { } first
            ? "first divergence: " + first.Describe(Tolerance)
            : $"no divergence: {Rows.Count(r => r.Status == TraceStatus.Match)} tensors within tolerance");
        return sb.ToString();
    }

    private static string Cell(TraceRow r) => r.Status switch
    {
        TraceStatus.Match => r.MaxAbsDiff.ToString("0.0e+00", CultureInfo.InvariantCulture),
        TraceStatus.Diverges => r.MaxAbsDiff.ToString("0.0e+00", CultureInfo.InvariantCulture) + "*",
        TraceStatus.ShapeMismatch => "shape*",
        _ => "-",
    };
}

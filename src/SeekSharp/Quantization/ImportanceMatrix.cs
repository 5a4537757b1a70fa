using System.Runtime.InteropServices;
using System.Text;
using SeekSharp.Gguf;
using SeekSharp.Kernels;

namespace SeekSharp.Quantization;

/// <summary>
/// The statistics of one weight in an importance matrix: per input column the sum of the squared activations that met
/// it, and how many activation rows were summed. A 3-D weight (routed experts) has one block of columns and one count
/// per matrix.
/// </summary>
/// <param name="SumSquares">[Matrices × Columns]: Σx² per column (llama.cpp's <c>in_sum2</c>).</param>
/// <param name="Counts">[Matrices]: activation rows summed per matrix (llama.cpp's <c>counts</c>).</param>
/// <param name="Sums">[Matrices × Columns]: Σx per column (llama.cpp's optional <c>in_sum</c>), or null.</param>
public sealed record ImportanceEntry(float[] SumSquares, float[] Counts, float[]? Sums = null)
{
    /// <summary>Input columns of the weight (its rows' length).</summary>
    public int Columns => SumSquares.Length / Counts.Length;
}

/// <summary>
/// An importance matrix as llama.cpp's llama-imatrix writes it and llama-quantize reads it: per weight the mean square
/// of each input column's activations over a calibration text, so a quantizer can spend its precision where the
/// activations are large (the per-column weights of ggml's quantize_row_*_impl).
/// </summary>
/// <remarks>
/// Two file formats, both read and written:
/// <list type="bullet">
/// <item>GGUF (llama.cpp's default): <c>general.type = "imatrix"</c>, <c>imatrix.datasets</c> (string array),
/// <c>imatrix.chunk_count</c> and <c>imatrix.chunk_size</c> (uint32), and per weight, in name order, the F32 tensors
/// <c>NAME.in_sum2</c> [columns, matrices] and <c>NAME.counts</c> [1, matrices] (and <c>NAME.in_sum</c> when present).</item>
/// <item>The legacy binary <c>.dat</c>: int32 entry count; per entry int32 name length, the name, int32 ncall, int32
/// value count and that many floats, each the column's mean square times ncall; then int32 chunk count, int32 length
/// and the dataset name. Counts are not stored, only ncall (the chunks, rounded up).</item>
/// </list>
/// </remarks>
public sealed class ImportanceMatrix
{
    private const string TypeKey = "general.type", DatasetsKey = "imatrix.datasets", ChunkCountKey = "imatrix.chunk_count", ChunkSizeKey = "imatrix.chunk_size";

    /// <summary>The statistics, by weight name (e.g. <c>blk.0.attn_q.weight</c>).</summary>
    public SortedDictionary<string, ImportanceEntry> Entries { get; } = new(StringComparer.Ordinal);

    /// <summary>The calibration texts the statistics came from.</summary>
    public List<string> Datasets { get; } = [];

    /// <summary>Chunks of <see cref="ChunkSize"/> tokens evaluated.</summary>
    public int ChunkCount { get; set; }

    /// <summary>Tokens per chunk.</summary>
    public int ChunkSize { get; set; }

    /// <summary>Whether this was read from a legacy <c>.dat</c> file, whose counts are chunk counts (ncall) rather than rows.</summary>
    public bool IsLegacy { get; private init; }

    /// <summary>
    /// The per-column weights llama-quantize passes to the quantizer for <paramref name="name"/>: [Matrices × Columns],
    /// each column's Σx² divided by its matrix's count (1 for a matrix no activation reached); for a legacy file, the
    /// stored values divided by ncall. Null when the matrix has no entry for the weight.
    /// </summary>
    public float[]? ColumnWeights(string name)
    {
        if (!Entries.TryGetValue(name, out var e)) return null;
        int cols = e.Columns;
        var values = new float[e.SumSquares.Length];
        for (int m = 0; m < e.Counts.Length; m++)
        {
            float count = e.Counts[m];
            for (int i = 0; i < cols; i++)
            {
                float s = e.SumSquares[m * cols + i];
                values[m * cols + i] = IsLegacy ? (count > 0 ? s / count : s) : (count > 0 ? s / count : 1f);
            }
        }
        return values;
    }

    /// <summary>Reads a GGUF or legacy <c>.dat</c> importance matrix (told apart by the GGUF magic).</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="GgufFormatException">A GGUF file is truncated or malformed, or not an importance matrix.</exception>
    /// <exception cref="InvalidDataException">A legacy file is truncated or malformed; the message names the file, the field and the offset.</exception>
    public static ImportanceMatrix Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"importance matrix '{path}' does not exist", path);
        Span<byte> magic = stackalloc byte[4];
        using (var probe = File.OpenRead(path))
        {
            if (probe.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic.SequenceEqual("GGUF"u8))
                return ReadGguf(path);
        }
        return ReadLegacy(path);
    }

    private static ImportanceMatrix ReadGguf(string path)
    {
        using var file = GgufFile.Open(path);
        if (file.GetStringOrNull(TypeKey) is { } type && type != "imatrix")
            throw new GgufFormatException(path, -1, $"'{TypeKey}' is '{type}', not 'imatrix': this is not an importance matrix (a model?)");
        var matrix = new ImportanceMatrix
        {
            ChunkCount = (int)file.GetUInt32OrDefault(ChunkCountKey, 0),
            ChunkSize = (int)file.GetUInt32OrDefault(ChunkSizeKey, 0),
        };
        matrix.Datasets.AddRange(file.GetStringArrayOrNull(DatasetsKey) ?? []);
        if (!file.Metadata.ContainsKey(ChunkCountKey) && !file.Metadata.ContainsKey(DatasetsKey))
            throw new GgufFormatException(path, -1, $"no '{ChunkCountKey}' or '{DatasetsKey}' metadata: not an importance matrix");

        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var t in file.Tensors)
        {
            if (t.Name.EndsWith(".in_sum2", StringComparison.Ordinal)) names.Add(t.Name[..^".in_sum2".Length]);
            else if (t.Name.EndsWith(".counts", StringComparison.Ordinal)) names.Add(t.Name[..^".counts".Length]);
        }
        if (names.Count == 0) throw new GgufFormatException(path, -1, "no '<weight>.in_sum2' tensors: the importance matrix is empty");
        foreach (string name in names)
        {
            var sum2 = file.FindTensor(name + ".in_sum2") ?? throw new GgufFormatException(path, -1, $"'{name}.counts' has no '{name}.in_sum2' beside it");
            var counts = file.FindTensor(name + ".counts") ?? throw new GgufFormatException(path, -1, $"'{name}.in_sum2' has no '{name}.counts' beside it");
            var sums = file.FindTensor(name + ".in_sum");
            float[] sumSquares = Floats(file, sum2), countValues = Floats(file, counts);
            if (countValues.Length == 0 || sumSquares.Length % countValues.Length != 0)
                throw new GgufFormatException(path, -1, $"'{name}.in_sum2' has {sumSquares.Length} values, not a whole number of columns for the {countValues.Length} matrices of '{name}.counts'");
            float[]? sumValues = sums is null ? null : Floats(file, sums);
            if (sumValues is not null && sumValues.Length != sumSquares.Length)
                throw new GgufFormatException(path, -1, $"'{name}.in_sum' has {sumValues.Length} values but '{name}.in_sum2' has {sumSquares.Length}");
            // llama.cpp's loader rounds the counts to integers.
            for (int i = 0; i < countValues.Length; i++) countValues[i] = MathF.Round(countValues[i], MidpointRounding.AwayFromZero);
            matrix.Entries[name] = new ImportanceEntry(sumSquares, countValues, sumValues);
        }
        return matrix;
    }

    private static float[] Floats(GgufFile file, GgufTensorInfo t)
    {
        if (t.Type != GgmlType.F32)
            throw new GgufFormatException(file.Path, -1, $"tensor '{t.Name}' is {t.Type}; an importance matrix stores F32");
        return MemoryMarshal.Cast<byte, float>(file.GetTensorBytes(t)).ToArray();
    }

    private static ImportanceMatrix ReadLegacy(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        int offset = 0;
        int Int32(string field)
        {
            if (offset + 4 > bytes.Length)
                throw Corrupt(path, offset, $"truncated: {field} needs 4 bytes but the file ends after {bytes.Length}");
            int v = BitConverter.ToInt32(bytes, offset);
            offset += 4;
            return v;
        }
        ReadOnlySpan<byte> Bytes(int n, string field)
        {
            if (n < 0 || offset + (long)n > bytes.Length)
                throw Corrupt(path, offset, $"truncated or corrupt: {field} needs {n} bytes but {bytes.Length - offset} remain");
            var span = bytes.AsSpan(offset, n);
            offset += n;
            return span;
        }

        var matrix = new ImportanceMatrix { IsLegacy = true };
        int entries = Int32("the entry count");
        if (entries < 1) throw Corrupt(path, 0, $"{entries} entries: neither GGUF nor a valid legacy .dat file");
        for (int i = 0; i < entries; i++)
        {
            int nameLength = Int32($"entry {i + 1}'s name length");
            string name = Encoding.UTF8.GetString(Bytes(nameLength, $"entry {i + 1}'s name"));
            int ncall = Int32($"'{name}'s ncall");
            int count = Int32($"'{name}'s value count");
            if (count < 1) throw Corrupt(path, offset - 4, $"'{name}' has {count} values");
            float[] values = MemoryMarshal.Cast<byte, float>(Bytes(checked(count * 4), $"'{name}'s {count} values")).ToArray();
            matrix.Entries[name] = new ImportanceEntry(values, [ncall]);
        }
        // The trailer (chunk count, dataset name) is optional: old files end here.
        if (offset + 4 <= bytes.Length) matrix.ChunkCount = Int32("the chunk count");
        if (offset + 4 <= bytes.Length)
        {
            int length = Int32("the dataset name's length");
            matrix.Datasets.Add(Encoding.UTF8.GetString(Bytes(length, "the dataset name")));
        }
        return matrix;
    }

    private static InvalidDataException Corrupt(string path, long offset, string message) =>
        new($"legacy importance matrix '{path}', byte offset {offset}: {message}");

    /// <summary>Writes the matrix as GGUF, or in the legacy format when <paramref name="path"/> ends with <c>.dat</c>,
    /// replacing the file whole.</summary>
    public void Write(string path)
    {
        if (path.EndsWith(".dat", StringComparison.OrdinalIgnoreCase))
        {
            IO.AtomicFile.Write(path, WriteLegacy);
            return;
        }
        var writer = new GgufWriter();
        writer.Set(TypeKey, "imatrix");
        writer.Set(DatasetsKey, Datasets.ToArray());
        writer.Set(ChunkCountKey, (uint)ChunkCount);
        writer.Set(ChunkSizeKey, (uint)ChunkSize);
        foreach (var (name, e) in Entries)
        {
            writer.AddTensor(name + ".in_sum2", GgmlType.F32, [e.Columns, e.Counts.Length], e.SumSquares);
            writer.AddTensor(name + ".counts", GgmlType.F32, [1, e.Counts.Length], e.Counts);
            if (e.Sums is not null) writer.AddTensor(name + ".in_sum", GgmlType.F32, [e.Columns, e.Counts.Length], e.Sums);
        }
        writer.Write(path);
    }

    // llama-imatrix's save_imatrix_legacy: each value is the column's mean square times ncall, the chunks its rows
    // fill (rounded up), so that a reader dividing by ncall gets the mean square back.
    private void WriteLegacy(Stream stream)
    {
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        int chunkSize = Math.Max(1, ChunkSize);
        var stored = Entries.Where(kv => kv.Value.Counts.Any(c => c > 0)).ToList();
        w.Write(stored.Count);
        foreach (var (name, e) in stored)
        {
            byte[] utf8 = Encoding.UTF8.GetBytes(name);
            w.Write(utf8.Length);
            w.Write(utf8);
            int ncall = (int)((e.Counts.Max() + (chunkSize - 1)) / chunkSize);
            w.Write(ncall);
            w.Write(e.SumSquares.Length);
            int cols = e.Columns;
            for (int i = 0; i < e.SumSquares.Length; i++)
            {
                float count = e.Counts[i / cols], value = e.SumSquares[i];
                if (count == 0f)
                {
                    value = 1f;
                    count = 1f;
                }
                w.Write(value / count * ncall);
            }
        }
        w.Write(ChunkCount);
        byte[] dataset = Encoding.UTF8.GetBytes(Datasets.Count > 0 ? Datasets[^1] : "");
        w.Write(dataset.Length);
        w.Write(dataset);
    }
}

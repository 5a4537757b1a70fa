using System.Text;
using SeekSharp.Gguf;
using SeekSharp.Kernels;
using SeekSharp.Quantization;

namespace SeekSharp.Tests.Quantization;

/// <summary>The importance matrix files: llama-imatrix's GGUF layout and its legacy .dat, both ways, and loud errors.</summary>
public sealed class ImportanceMatrixTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("seek-imatrix-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ImportanceMatrix Sample()
    {
        var m = new ImportanceMatrix { ChunkCount = 3, ChunkSize = 64 };
        m.Datasets.Add("calibration.txt");
        // A dense weight of 4 columns seen by 192 rows, and a 3-expert weight of 2 columns whose second expert saw nothing.
        m.Entries["blk.0.attn_q.weight"] = new ImportanceEntry([192f, 96f, 19.2f, 0f], [192f], [1f, -2f, 3f, 0f]);
        m.Entries["blk.0.ffn_down_exps.weight"] = new ImportanceEntry([10f, 20f, 0f, 0f, 4.5f, 9f], [5f, 0f, 3f]);
        return m;
    }

    [Fact]
    public void GgufRoundTripKeepsEverything()
    {
        string path = Path.Combine(_dir, "m.gguf");
        Sample().Write(path);
        var back = ImportanceMatrix.Read(path);
        Assert.False(back.IsLegacy);
        Assert.Equal(["calibration.txt"], back.Datasets);
        Assert.Equal(3, back.ChunkCount);
        Assert.Equal(64, back.ChunkSize);
        Assert.Equal(Sample().Entries.Keys, back.Entries.Keys);
        foreach (var (name, e) in Sample().Entries)
        {
            Assert.Equal(e.SumSquares, back.Entries[name].SumSquares);
            Assert.Equal(e.Counts, back.Entries[name].Counts);
            Assert.Equal(e.Sums, back.Entries[name].Sums);
        }
    }

    [Fact]
    public void GgufIsWrittenInLlamaCppsLayout()
    {
        string path = Path.Combine(_dir, "m.gguf");
        Sample().Write(path);
        using var f = GgufFile.Open(path);
        Assert.Equal("imatrix", f.GetString("general.type"));
        Assert.Equal(["calibration.txt"], f.GetStringArrayOrNull("imatrix.datasets")!);
        Assert.Equal(3u, f.GetUInt32("imatrix.chunk_count"));
        Assert.Equal(64u, f.GetUInt32("imatrix.chunk_size"));
        // Names in sorted order, each weight's in_sum2 then counts then in_sum, all F32: [columns, matrices] and [1, matrices].
        Assert.Equal(
            ["blk.0.attn_q.weight.in_sum2", "blk.0.attn_q.weight.counts", "blk.0.attn_q.weight.in_sum",
             "blk.0.ffn_down_exps.weight.in_sum2", "blk.0.ffn_down_exps.weight.counts"],
            f.Tensors.Select(t => t.Name));
        Assert.All(f.Tensors, t => Assert.Equal(GgmlType.F32, t.Type));
        Assert.Equal([4L, 1L], f.GetTensor("blk.0.attn_q.weight.in_sum2").Shape);
        Assert.Equal([1L, 1L], f.GetTensor("blk.0.attn_q.weight.counts").Shape);
        Assert.Equal([2L, 3L], f.GetTensor("blk.0.ffn_down_exps.weight.in_sum2").Shape);
        Assert.Equal([1L, 3L], f.GetTensor("blk.0.ffn_down_exps.weight.counts").Shape);
    }

    [Fact]
    public void ColumnWeightsAreMeanSquaresAsLlamaQuantizeComputesThem()
    {
        var m = Sample();
        Assert.Equal([1f, 0.5f, 0.1f, 0f], m.ColumnWeights("blk.0.attn_q.weight")!);
        // Per expert: divided by that expert's count; an expert no token reached gets 1 (llama-quantize's choice).
        Assert.Equal([2f, 4f, 1f, 1f, 1.5f, 3f], m.ColumnWeights("blk.0.ffn_down_exps.weight")!);
        Assert.Null(m.ColumnWeights("output.weight"));
    }

    [Fact]
    public void LegacyDatRoundTripGivesTheSameColumnWeights()
    {
        string path = Path.Combine(_dir, "m.dat");
        var m = Sample();
        m.Write(path);
        var back = ImportanceMatrix.Read(path);
        Assert.True(back.IsLegacy);
        Assert.Equal(["calibration.txt"], back.Datasets);
        Assert.Equal(3, back.ChunkCount);
        foreach (string name in m.Entries.Keys)
        {
            float[] expected = m.ColumnWeights(name)!, actual = back.ColumnWeights(name)!;
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++)
                Assert.Equal(expected[i], actual[i], 1e-6f);
        }
    }

    [Fact]
    public void ReadsAHandWrittenLegacyFile()
    {
        // save_imatrix_legacy's bytes for one entry of 3 values (mean squares 0.5, 2, 0 over ncall 4), 4 chunks, "wiki.txt".
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(1);
            w.Write(19);
            w.Write("blk.3.ffn_up.weight"u8);
            w.Write(4);
            w.Write(3);
            w.Write(2f);
            w.Write(8f);
            w.Write(0f);
            w.Write(4);
            w.Write(8);
            w.Write("wiki.txt"u8);
        }
        string path = Path.Combine(_dir, "hand.dat");
        File.WriteAllBytes(path, ms.ToArray());
        var m = ImportanceMatrix.Read(path);
        Assert.Equal(["blk.3.ffn_up.weight"], m.Entries.Keys);
        Assert.Equal([0.5f, 2f, 0f], m.ColumnWeights("blk.3.ffn_up.weight")!);
        Assert.Equal(4, m.ChunkCount);
        Assert.Equal(["wiki.txt"], m.Datasets);
    }

    [Fact]
    public void TruncatedLegacyFileNamesTheFileAndTheField()
    {
        string full = Path.Combine(_dir, "m.dat");
        Sample().Write(full);
        byte[] bytes = File.ReadAllBytes(full);
        string path = Path.Combine(_dir, "cut.dat");
        File.WriteAllBytes(path, bytes[..40]);
        var e = Assert.Throws<InvalidDataException>(() => ImportanceMatrix.Read(path));
        Assert.Contains("cut.dat", e.Message);
        Assert.Contains("blk.0.attn_q.weight", e.Message);
        Assert.Contains("values", e.Message);
    }

    [Fact]
    public void TruncatedGgufNamesTheFile()
    {
        string full = Path.Combine(_dir, "m.gguf");
        Sample().Write(full);
        byte[] bytes = File.ReadAllBytes(full);
        string path = Path.Combine(_dir, "cut.gguf");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<GgufFormatException>(() => ImportanceMatrix.Read(path));
        Assert.Contains("cut.gguf", e.Message);
    }

    [Fact]
    public void AModelIsNotAnImportanceMatrix()
    {
        string path = Path.Combine(_dir, "model.gguf");
        var w = new GgufWriter();
        w.Set("general.architecture", "llama");
        w.AddTensor("blk.0.attn_q.weight", GgmlType.F32, [4, 2], new float[8]);
        w.Write(path);
        var e = Assert.Throws<GgufFormatException>(() => ImportanceMatrix.Read(path));
        Assert.Contains("model.gguf", e.Message);
        Assert.Contains("not an importance matrix", e.Message);
    }

    [Fact]
    public void CountsWithoutSumsAreAnError()
    {
        string path = Path.Combine(_dir, "half.gguf");
        var w = new GgufWriter();
        w.Set("general.type", "imatrix");
        w.Set("imatrix.chunk_count", 1u);
        w.AddTensor("blk.0.attn_q.weight.counts", GgmlType.F32, [1, 1], [5f]);
        w.Write(path);
        var e = Assert.Throws<GgufFormatException>(() => ImportanceMatrix.Read(path));
        Assert.Contains("blk.0.attn_q.weight.in_sum2", e.Message);
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        var e = Assert.Throws<FileNotFoundException>(() => ImportanceMatrix.Read(Path.Combine(_dir, "nope.gguf")));
        Assert.Contains("nope.gguf", e.Message);
    }
}

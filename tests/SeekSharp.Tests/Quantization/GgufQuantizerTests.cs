using SeekSharp.Gguf;
using SeekSharp.Kernels;
using SeekSharp.Quantization;

namespace SeekSharp.Tests.Quantization;

/// <summary>
/// <see cref="GgufQuantizer"/> refuses weights that are NaN or ±Inf before writing anything, naming the file, the
/// tensor and the first bad element; an importance matrix with such a value is refused the same way.
/// </summary>
public sealed class GgufQuantizerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("seek-quantizer-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Output => Path.Combine(_dir, "out.gguf");

    /// <summary>
    /// A one-layer llama of F32 weights, each [cols, rows] in ggml order, with <paramref name="bad"/> written into
    /// <paramref name="tensor"/> at each (row, column); that tensor is stored as <paramref name="type"/>.
    /// </summary>
    private string Model(string tensor, GgmlType type, long[] shape, params (long Row, long Column, float Value)[] bad)
    {
        var w = new GgufWriter();
        w.Set("general.architecture", "llama");
        w.Set("llama.block_count", 1u);
        w.Set("llama.attention.head_count", 4u);
        var rng = new Random(7);
        float[] Values(long count) => Enumerable.Range(0, (int)count).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var tensors = new (string Name, long[] Shape)[]
        {
            ("token_embd.weight", [64, 8]), ("blk.0.attn_norm.weight", [64]), ("blk.0.attn_q.weight", [64, 64]),
            ("blk.0.ffn_down.weight", [64, 32]), ("output_norm.weight", [64]),
        };
        foreach (var (name, defaultShape) in tensors)
        {
            long[] s = name == tensor ? shape : defaultShape;
            float[] values = Values(s.Aggregate(1L, (a, d) => a * d));
            if (name == tensor)
            {
                foreach (var (row, column, value) in bad)
                    values[row * s[0] + column] = value;
            }
            w.AddTensor(name, name == tensor ? type : GgmlType.F32, s, values);
        }
        string path = Path.Combine(_dir, "model.gguf");
        w.Write(path);
        return path;
    }

    public static TheoryData<GgmlType, float, string> NonFinite() => new()
    {
        { GgmlType.F32, float.NaN, "NaN" }, { GgmlType.F32, float.PositiveInfinity, "+Inf" }, { GgmlType.F32, float.NegativeInfinity, "-Inf" },
        { GgmlType.F16, float.NaN, "NaN" }, { GgmlType.F16, float.PositiveInfinity, "+Inf" }, { GgmlType.F16, float.NegativeInfinity, "-Inf" },
    };

    [Theory, MemberData(nameof(NonFinite))]
    public void NonFiniteWeightIsRefusedAndNothingIsWritten(GgmlType type, float value, string shown)
    {
        string model = Model("blk.0.ffn_down.weight", type, [64, 32], (17, 40, value), (30, 2, value));
        var e = Assert.Throws<NonFiniteWeightException>(() => GgufQuantizer.Quantize(model, Output, LlamaFileType.MostlyQ8_0));
        Assert.Equal($"{model}: tensor 'blk.0.ffn_down.weight' holds {shown} at row 17, column 40; a model with non-finite weights cannot be quantized", e.Message);
        Assert.Equal((model, "blk.0.ffn_down.weight", 17L, 40L), (e.Path, e.Tensor, e.Row, e.Column));
        Assert.Equal(float.IsNaN(value), float.IsNaN(e.Value));
        if (!float.IsNaN(value)) Assert.Equal(value, e.Value);
        Assert.False(File.Exists(Output));
        Assert.Equal(["model.gguf"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void AnExistingOutputIsLeftAsItWas()
    {
        string model = Model("blk.0.attn_q.weight", GgmlType.F32, [64, 64], (0, 0, float.NaN));
        File.WriteAllText(Output, "previous");
        Assert.Throws<NonFiniteWeightException>(() => GgufQuantizer.Quantize(model, Output, LlamaFileType.MostlyQ8_0));
        Assert.Equal("previous", File.ReadAllText(Output));
    }

    /// <summary>
    /// Chunks are checked in parallel: with bad weights in the second (two), third and last chunk of a tensor (1024
    /// rows of 256 per chunk), the one reported is still the first in the tensor, whichever chunk finishes first.
    /// </summary>
    [Fact]
    public void TheFirstBadElementIsReportedAcrossChunks()
    {
        string model = Model("blk.0.attn_q.weight", GgmlType.F32, [256, 4096],
            (4095, 0, float.NaN), (2100, 3, float.PositiveInfinity), (1900, 9, float.NaN), (1500, 255, float.NegativeInfinity));
        var e = Assert.Throws<NonFiniteWeightException>(() => GgufQuantizer.Quantize(model, Output, LlamaFileType.MostlyQ8_0));
        Assert.Equal((1500L, 255L, float.NegativeInfinity), (e.Row, e.Column, e.Value));
        Assert.False(File.Exists(Output));
    }

    [Fact]
    public void FiniteExtremesAreQuantized()
    {
        // The largest finite float and a subnormal are weights like any other; only NaN and ±Inf are refused.
        string model = Model("blk.0.ffn_down.weight", GgmlType.F32, [64, 32], (3, 4, float.MaxValue), (5, 6, -float.Epsilon));
        GgufQuantizer.Quantize(model, Output, LlamaFileType.MostlyQ8_0);
        using var f = GgufFile.Open(Output);
        Assert.Equal(GgmlType.Q8_0, f.GetTensor("blk.0.ffn_down.weight").Type);
    }

    [Fact]
    public void ImportanceMatrixWithANonFiniteValueIsRefused()
    {
        string model = Model("blk.0.ffn_down.weight", GgmlType.F32, [64, 32]);
        var importance = new ImportanceMatrix();
        float[] sumSquares = Enumerable.Repeat(1f, 64).ToArray();
        sumSquares[9] = float.PositiveInfinity;
        importance.Entries["blk.0.ffn_down.weight"] = new ImportanceEntry(sumSquares, [1f]);
        var e = Assert.Throws<ImportanceMatrixMismatchException>(() => GgufQuantizer.Quantize(model, Output, LlamaFileType.MostlyQ4_0, importance: importance));
        Assert.Contains("non-finite", e.Message);
        Assert.Contains("'blk.0.ffn_down.weight'", e.Message);
        Assert.False(File.Exists(Output));
    }
}

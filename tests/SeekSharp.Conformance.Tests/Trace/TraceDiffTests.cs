using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Gguf;
using SeekSharp.Kernels;
using Xunit.Abstractions;

namespace SeekSharp.Conformance.Tests.Trace;

/// <summary>
/// The layer-by-layer diff against llama.cpp: every named intermediate of a tiny F32 model matches, and a weight
/// planted in one copy of the file is found at the right layer and tensor.
/// </summary>
public class TraceDiffTests(ITestOutputHelper output)
{
    /// <summary>Names SeekSharp traces in every layer, in data-flow order.</summary>
    private static readonly string[] LayerNames =
        ["attn_norm", "Qcur", "Kcur", "Vcur", "kqv_out", "attn_out", "ffn_inp", "ffn_norm", "ffn_out", "l_out"];

    private static readonly string[] GlobalNames = ["inp_embd", "result_norm", "result_output"];

    private static TinyModelOptions Options(TinyArchitecture arch) => new()
    {
        Architecture = arch,
        WeightType = GgmlType.F32,
        Dim = 64,
        Heads = 4,
        KvHeads = 2,
        FfnDim = 96,
        Layers = 3,
        Seed = 7,
    };

    /// <summary>Seventeen ids spread over the synthetic vocab, starting with BOS as a tokenizer would.</summary>
    private static int[] Prompt()
    {
        int vocab = SyntheticBpeVocab.VocabSize;
        return [SyntheticBpeVocab.BosId, .. Enumerable.Range(1, 16).Select(i => i * 37 % (vocab - 2))];
    }

    [Theory]
    [InlineData(TinyArchitecture.Llama)]
    [InlineData(TinyArchitecture.Qwen2)]
    public void EveryIntermediateMatchesLlamaCppInEveryLayer(TinyArchitecture arch)
    {
        var options = Options(arch);
        string path = TinyModelBuilder.GetOrBuild(options);

        var comparison = TraceDiff.Compare(path, path, Prompt());
        output.WriteLine(comparison.ToTable());

        Assert.Null(comparison.FirstDivergence);
        // qwen2's graph in llama.cpp leaves the attention output projection unnamed; everything else must be compared.
        var expectedMissing = arch == TinyArchitecture.Qwen2 ? new HashSet<string> { "attn_out" } : [];
        foreach (var name in GlobalNames)
            AssertStatus(comparison, name, -1, TraceStatus.Match);
        for (int layer = 0; layer < options.Layers; layer++)
            foreach (var name in LayerNames)
                AssertStatus(comparison, name, layer, expectedMissing.Contains(name) ? TraceStatus.MissingInLlamaCpp : TraceStatus.Match);
    }

    /// <summary>
    /// SeekSharp reads a copy of the model with one weight of block 1 changed, llama.cpp the original: the first
    /// divergence must be the tensor that weight produces, in block 1, with everything before it still matching.
    /// </summary>
    [Theory]
    [InlineData("blk.1.attn_norm.weight", 5, "attn_norm")]
    [InlineData("blk.1.attn_v.weight", 100, "Vcur")]
    [InlineData("blk.1.ffn_norm.weight", 9, "ffn_norm")]
    [InlineData("blk.1.ffn_down.weight", 42, "ffn_out")]
    public void FindsAPlantedDivergenceAtItsLayerAndTensor(string weight, int element, string expectedName)
    {
        string original = TinyModelBuilder.GetOrBuild(Options(TinyArchitecture.Llama));
        string planted = Path.Combine(Path.GetTempPath(), $"seeksharp-trace-planted-{Guid.NewGuid():N}.gguf");
        try
        {
            CopyWithPerturbedWeight(original, planted, weight, element, delta: 0.5f);

            var comparison = TraceDiff.Compare(planted, original, Prompt());
            output.WriteLine($"{weight}[{element}] += 0.5 in SeekSharp's copy only:");
            output.WriteLine(comparison.ToTable());

            var first = comparison.FirstDivergence;
            Assert.NotNull(first);
            Assert.Equal((1, expectedName), (first.Layer, first.Name));
            Assert.Equal(TraceStatus.Diverges, first.Status);
            int firstIndex = comparison.Rows.ToList().IndexOf(first);
            Assert.All(comparison.Rows.Take(firstIndex), r => Assert.Equal(TraceStatus.Match, r.Status));
            Assert.True(comparison.Rows.Count(r => r.Status == TraceStatus.Match) >= 1 + LayerNames.Length,
                "block 0 should match entirely before the planted block 1");
            // The error propagates: the logits differ too.
            Assert.Equal(TraceStatus.Diverges, comparison.Rows.Single(r => r.Name == "result_output").Status);
        }
        finally
        {
            File.Delete(planted);
        }
    }

    [Fact]
    public void ReportIsATableEndingWithTheVerdict()
    {
        string path = TinyModelBuilder.GetOrBuild(Options(TinyArchitecture.Llama));
        string report = TraceDiff.Report(path, Prompt());
        output.WriteLine(report);

        string[] lines = report.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.StartsWith("SeekSharp vs llama.cpp", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("layer") && LayerNames.All(l.Contains));
        Assert.Contains(lines, l => l.StartsWith("2 "));
        Assert.StartsWith("no divergence:", lines[^1]);
    }

    private static void AssertStatus(TraceComparison comparison, string name, int layer, TraceStatus expected)
    {
        var row = comparison.Rows.SingleOrDefault(r => r.Name == name && r.Layer == layer);
        Assert.True(row is not null, $"SeekSharp traced no {name} in layer {layer}");
        Assert.True(row.Status == expected, $"{row.Describe(comparison.Tolerance)}: expected {expected}, got {row.Status}");
    }

    /// <summary>Copies a GGUF file byte for byte, then adds <paramref name="delta"/> to one element of an F32 tensor.</summary>
    private static void CopyWithPerturbedWeight(string source, string destination, string tensorName, int element, float delta)
    {
        long offset;
        using (var file = GgufFile.Open(source))
        {
            var tensor = file.GetTensor(tensorName);
            Assert.Equal(GgmlType.F32, tensor.Type);
            Assert.InRange(element, 0, tensor.ElementCount - 1);
            offset = file.DataOffset + tensor.Offset + element * sizeof(float);
        }
        File.Copy(source, destination);
        using var stream = new FileStream(destination, FileMode.Open, FileAccess.ReadWrite);
        var bytes = new byte[sizeof(float)];
        stream.Position = offset;
        stream.ReadExactly(bytes);
        float value = BitConverter.ToSingle(bytes) + delta;
        stream.Position = offset;
        stream.Write(BitConverter.GetBytes(value));
    }
}

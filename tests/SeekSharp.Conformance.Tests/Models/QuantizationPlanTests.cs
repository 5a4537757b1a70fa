using LLama.Native;
using SeekSharp.Conformance.Tests.Oracle;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Gguf;
using SeekSharp.Kernels;
using SeekSharp.Quantization;
using Xunit.Abstractions;

namespace SeekSharp.Conformance.Tests.Models;

/// <summary>
/// Every mix <c>seek quantize</c> offers chooses, tensor by tensor, the type llama.cpp's quantizer chooses for the same
/// F32 model: on a model with grouped-query attention of 2 and 8 layers, and on one with groups of 4, 16 layers (so the
/// first sixteenth and eighth are whole layers) and an FFN width of 704, whose ffn_down rows are not whole 256-blocks
/// and take llama.cpp's fallbacks. Without an importance matrix this checks the plan alone (and that both refuse the
/// mixes that need one); with one, every tensor's type and bytes against llama.cpp's own output.
/// </summary>
public class QuantizationPlanTests(ITestOutputHelper output)
{
    private static readonly TinyModelOptions Groups2 = new()
    {
        Architecture = TinyArchitecture.Qwen2, Dim = 256, Heads = 4, KvHeads = 2, FfnDim = 512, Layers = 8, ContextLength = 128, Seed = 31,
    };

    private static readonly TinyModelOptions Groups4Ffn704 = new()
    {
        Architecture = TinyArchitecture.Llama, Dim = 256, Heads = 8, KvHeads = 2, FfnDim = 704, Layers = 16, ContextLength = 128, Seed = 32,
    };

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string mix in QuantizationRecipe.Names.Keys)
        {
            data.Add("groups2", mix);
            data.Add("groups4-ffn704", mix);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PlanChoosesLlamaCppsTypes(string model, string mix)
    {
        string source = TinyModelBuilder.GetOrBuild(model == "groups2" ? Groups2 : Groups4Ffn704);
        LlamaFileType fileType = QuantizationRecipe.Parse(mix);
        using var input = GgufFile.Open(source);
        var plan = QuantizationRecipe.Plan(input, fileType);
        string ftype = ((LLamaFtype)(uint)fileType).ToString();
        if (plan.Any(p => p.Target != p.Source.Type && QuantizationRecipe.RequiresImportance(p.Source.Name, p.Target)))
        {
            // Both refuse the mix without an importance matrix (WithAnImportanceMatrixEveryTensorEqualsLlamaCpp covers it with one).
            string refused = Path.Combine(Path.GetTempPath(), $"seek-plan-{Environment.ProcessId}-{model}-{mix}.gguf");
            Assert.False(LlamaQuantized.TryQuantize(source, refused, ftype, null), $"llama.cpp wrote {mix} without an importance matrix");
            File.Delete(refused);
            Assert.Throws<ImportanceMatrixRequiredException>(() => GgufQuantizer.Quantize(source, refused, fileType));
            Assert.False(File.Exists(refused));
            return;
        }
        string theirsPath = LlamaQuantized.GetOrQuantize(source, ftype);
        using var theirs = GgufFile.Open(theirsPath);
        Assert.Equal(theirs.Tensors.Select(t => t.Name), plan.Select(p => p.Source.Name));
        var differences = plan.Where(p => p.Target != theirs.GetTensor(p.Source.Name).Type)
            .Select(p => $"{p.Source.Name}: ours {p.Target}, llama.cpp {theirs.GetTensor(p.Source.Name).Type}").ToList();
        output.WriteLine($"{model} {mix}: {string.Join(", ", plan.GroupBy(p => p.Target).OrderBy(g => g.Key).Select(g => $"{g.Key} x{g.Count()}"))}");
        Assert.True(differences.Count == 0, string.Join("; ", differences));
    }

    /// <summary>
    /// Every mix with an importance matrix, against llama.cpp's own quantizer given the same per-column weights
    /// (llama_model_quantize with llama_model_imatrix_data, as llama-quantize calls it): the same type for every tensor
    /// (the mixes change with an importance matrix) and the same bytes. The weights are seeded pseudo-random positive
    /// values for every weight but the token embedding, as a calibration run gives.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void WithAnImportanceMatrixEveryTensorEqualsLlamaCpp(string model, string mix)
    {
        string source = TinyModelBuilder.GetOrBuild(model == "groups2" ? Groups2 : Groups4Ffn704);
        LlamaFileType fileType = QuantizationRecipe.Parse(mix);
        var matrix = new ImportanceMatrix { ChunkCount = 1, ChunkSize = 1 };
        var rng = new Random(41);
        using (var input = GgufFile.Open(source))
        {
            foreach (var t in input.Tensors.Where(t => t.Shape.Count(d => d > 1) >= 2 && t.Name != "token_embd.weight"))
            {
                long matrices = t.Shape.Length > 2 ? t.Shape[2] : 1;
                float[] sums = Enumerable.Range(0, (int)(t.Shape[0] * matrices)).Select(_ => 0.05f + 2f * (float)rng.NextDouble()).ToArray();
                matrix.Entries[t.Name] = new ImportanceEntry(sums, Enumerable.Repeat(1f, (int)matrices).ToArray());
            }
        }
        var weights = matrix.Entries.Keys.ToDictionary(n => n, n => matrix.ColumnWeights(n)!);
        string dir = Directory.CreateTempSubdirectory("seek-imatrix-plan-").FullName;
        try
        {
            string theirsPath = Path.Combine(dir, "theirs.gguf"), oursPath = Path.Combine(dir, "ours.gguf");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            Assert.True(LlamaQuantized.TryQuantize(source, theirsPath, ((LLamaFtype)(uint)fileType).ToString(), weights),
                        $"llama.cpp failed to quantize {mix} with an importance matrix.{LlamaCpp.NativeLog.RecentErrors()}");
            double theirSeconds = clock.Elapsed.TotalSeconds;
            clock.Restart();
            var plan = GgufQuantizer.Quantize(source, oursPath, fileType, importance: matrix);
            double ourSeconds = clock.Elapsed.TotalSeconds;
            using var theirs = GgufFile.Open(theirsPath);
            using var ours = GgufFile.Open(oursPath);
            Assert.Equal(theirs.Tensors.Select(t => t.Name), ours.Tensors.Select(t => t.Name));
            var differences = new List<string>();
            foreach (var t in ours.Tensors)
            {
                var other = theirs.GetTensor(t.Name);
                if (t.Type != other.Type)
                    differences.Add($"{t.Name}: ours {t.Type}, llama.cpp {other.Type}");
                else if (!ours.GetTensorBytes(t).SequenceEqual(theirs.GetTensorBytes(other)))
                    differences.Add($"{t.Name} ({t.Type}): bytes differ at {ours.GetTensorBytes(t).CommonPrefixLength(theirs.GetTensorBytes(other))}");
            }
            output.WriteLine($"{model} {mix} with an imatrix: {string.Join(", ", plan.GroupBy(p => p.Target).OrderBy(g => g.Key).Select(g => $"{g.Key} x{g.Count()}"))}" +
                             $" (llama.cpp {theirSeconds:F1} s, SeekSharp {ourSeconds:F1} s)");
            Assert.True(differences.Count == 0, string.Join("; ", differences));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

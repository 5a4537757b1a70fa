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
/// and take llama.cpp's fallbacks. Byte-identical data is checked where SeekSharp can encode the types
/// (BenchQuantizeCliTests); this checks the plan alone, so it covers the mixes of read-only types too.
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
        string theirsPath = LlamaQuantized.GetOrQuantize(source, ((LLamaFtype)(uint)fileType).ToString());

        using var input = GgufFile.Open(source);
        using var theirs = GgufFile.Open(theirsPath);
        var plan = QuantizationRecipe.Plan(input, fileType);
        Assert.Equal(theirs.Tensors.Select(t => t.Name), plan.Select(p => p.Source.Name));
        var differences = plan.Where(p => p.Target != theirs.GetTensor(p.Source.Name).Type)
            .Select(p => $"{p.Source.Name}: ours {p.Target}, llama.cpp {theirs.GetTensor(p.Source.Name).Type}").ToList();
        output.WriteLine($"{model} {mix}: {string.Join(", ", plan.GroupBy(p => p.Target).OrderBy(g => g.Key).Select(g => $"{g.Key} x{g.Count()}"))}");
        Assert.True(differences.Count == 0, string.Join("; ", differences));
    }
}

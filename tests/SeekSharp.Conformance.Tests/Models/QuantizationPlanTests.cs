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

/// <summary>
/// The IQ2_XXS mix, which llama.cpp writes only with an importance matrix (so LLamaSharp's quantizer cannot show its
/// plan): the types of llama-quant.cpp's rules for the 2-bit IQ mixes, tensor by tensor.
/// </summary>
public class Iq2XxsPlanTests
{
    [Theory]
    [InlineData(2, 8, 512)]    // few query heads per key/value head: attn_v in Q2_K
    [InlineData(4, 16, 704)]   // four per key/value head: attn_v in Q4_K; ffn_down rows of 704 take the fallbacks
    public void PlanFollowsLlamaCppsRules(int groupSize, int layers, int ffn)
    {
        var options = new TinyModelOptions
        {
            Architecture = TinyArchitecture.Qwen2, Dim = 256, Heads = 2 * groupSize, KvHeads = 2, FfnDim = ffn, Layers = layers, ContextLength = 128, Seed = 33,
        };
        using var input = GgufFile.Open(TinyModelBuilder.GetOrBuild(options));
        var plan = QuantizationRecipe.Plan(input, LlamaFileType.MostlyIQ2_XXS).ToDictionary(p => p.Source.Name, p => p.Target);
        bool tied = !plan.ContainsKey("output.weight");
        Assert.Equal(tied ? GgmlType.Q5_K : GgmlType.Q2_K, plan["token_embd.weight"]);
        if (!tied) Assert.Equal(GgmlType.Q5_K, plan["output.weight"]);
        for (int l = 0; l < layers; l++)
        {
            Assert.Equal(groupSize >= 4 ? GgmlType.Q4_K : GgmlType.Q2_K, plan[$"blk.{l}.attn_v.weight"]);
            // The first eighth of ffn_down in Q2_K, the rest IQ2_XXS; rows that are not whole 256-blocks fall back to
            // Q4_0 and IQ4_NL.
            GgmlType down = l < layers / 8 ? GgmlType.Q2_K : GgmlType.IQ2_XXS;
            if (ffn % 256 != 0) down = down == GgmlType.Q2_K ? GgmlType.Q4_0 : GgmlType.IQ4_NL;
            Assert.Equal(down, plan[$"blk.{l}.ffn_down.weight"]);
            foreach (string name in new[] { "attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up" })
                Assert.Equal(GgmlType.IQ2_XXS, plan[$"blk.{l}.{name}.weight"]);
            Assert.Equal(GgmlType.F32, plan[$"blk.{l}.attn_norm.weight"]);
        }
    }
}

using SeekSharp.Conformance.Tests.Oracle;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Gguf;
using SeekSharp.Kernels;
using Xunit.Abstractions;

namespace SeekSharp.Conformance.Tests.Models;

/// <summary>
/// The IQ4_NL and IQ4_XS tensors llama.cpp's own quantizer (llama_model_quantize, no importance matrix) wrote into the
/// MOSTLY_IQ4_NL / MOSTLY_IQ4_XS files of <see cref="ReadOnlyQuantConformanceTests"/> equal our encoding of the same
/// F32 values byte for byte. This pins the whole-file path, which for IQ4_NL is quantize_iq4_nl (7 scale tries), not
/// ggml's quantize_row_iq4_nl_ref.
/// </summary>
public class IQ4QuantizerConformanceTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("llama", "MOSTLY_IQ4_NL")]
    [InlineData("qwen2", "MOSTLY_IQ4_XS")]
    public void QuantizerIsBitExactWithLlamaCpp(string arch, string ftype)
    {
        string source = TinyModelBuilder.GetOrBuild(ReadOnlyQuantConformanceTests.Source(arch));
        string quantized = LlamaQuantized.GetOrQuantize(source, ftype);
        using var f32 = GgufFile.Open(source);
        using var theirs = GgufFile.Open(quantized);
        var compared = new Dictionary<GgmlType, int>();
        foreach (GgufTensorInfo t in theirs.Tensors)
        {
            if (t.Type is not (GgmlType.IQ4_NL or GgmlType.IQ4_XS))
                continue;
            GgufTensorInfo src = f32.GetTensor(t.Name);
            Assert.Equal(GgmlType.F32, src.Type);
            float[] values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(f32.GetTensorBytes(src)).ToArray();
            byte[] ours = new byte[t.ByteSize];
            TensorTypes.Quantize(t.Type, values, ours);
            ReadOnlySpan<byte> expected = theirs.GetTensorBytes(t);
            int common = expected.CommonPrefixLength(ours);
            int blockBytes = TensorTypes.BlockBytes(t.Type);
            Assert.True(common == expected.Length && expected.Length == ours.Length,
                $"{t.Name} ({t.Type}): first difference at byte {common} (block {common / blockBytes}, byte {common % blockBytes} within it) of {ours.Length}");
            compared[t.Type] = compared.GetValueOrDefault(t.Type) + 1;
        }
        output.WriteLine($"{arch} {ftype}: identical tensors {string.Join(", ", compared.Select(kv => $"{kv.Key} x{kv.Value}"))}");
        Assert.NotEmpty(compared);
    }
}

using SeekSharp.Kernels;
using Xunit.Abstractions;

namespace SeekSharp.Conformance.Tests.Models;

/// <summary>
/// Every type SeekSharp writes encodes as ggml's reference quantizer does (quantize_row_*_ref, what llama-quantize
/// runs without an importance matrix), byte for byte, on rows of several kinds: smooth, with outliers, with zeros and
/// constants, tiny and huge magnitudes.
/// </summary>
public unsafe class GgmlQuantizeTests(ITestOutputHelper output)
{
    public static TheoryData<string> Types()
    {
        var data = new TheoryData<string>();
        foreach (GgmlType type in Enum.GetValues<GgmlType>())
        {
            if (TensorTypes.CanEncode(type) && type is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16))
            {
                data.Add(type.ToString());
            }
        }
        return data;
    }

    /// <summary>Rows of 512 values (two 256-blocks, sixteen 32-blocks) of the kinds quantizers branch on.</summary>
    private static IEnumerable<(string Kind, float[] Row)> Rows()
    {
        var rng = new Random(77);
        float Gaussian() => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        yield return ("gaussian", Enumerable.Range(0, 512).Select(_ => Gaussian()).ToArray());
        yield return ("outliers", Enumerable.Range(0, 512).Select(i => Gaussian() * (i % 97 == 0 ? 40f : 1f)).ToArray());
        yield return ("positive", Enumerable.Range(0, 512).Select(_ => Math.Abs(Gaussian()) + 0.1f).ToArray());
        yield return ("zeros and a constant", Enumerable.Range(0, 512).Select(i => i < 256 ? 0f : 0.75f).ToArray());
        yield return ("tiny", Enumerable.Range(0, 512).Select(_ => Gaussian() * 1e-6f).ToArray());
        yield return ("huge", Enumerable.Range(0, 512).Select(_ => Gaussian() * 1e4f).ToArray());
        yield return ("sparse", Enumerable.Range(0, 512).Select(i => i % 29 == 3 ? Gaussian() : 0f).ToArray());
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void QuantizeEqualsGgmlReference(string typeName)
    {
        var type = Enum.Parse<GgmlType>(typeName);
        var quantize = (delegate* unmanaged<float*, byte*, long, void>)GgmlDequantizeTests.GgmlExport($"quantize_row_{GgmlDequantizeTests.GgmlName(type)}_ref");
        int blockBytes = TensorTypes.BlockBytes(type);
        foreach (var (kind, row) in Rows())
        {
            byte[] ours = new byte[TensorTypes.RowBytes(type, row.Length)], theirs = new byte[ours.Length];
            TensorTypes.Quantize(type, row, ours);
            fixed (float* px = row)
            fixed (byte* pt = theirs)
            {
                quantize(px, pt, row.Length);
            }
            int common = ours.AsSpan().CommonPrefixLength(theirs);
            Assert.True(common == ours.Length, $"{type}, {kind} row: first difference at byte {common} (block {common / blockBytes}, byte {common % blockBytes} within it)");
        }
        output.WriteLine($"{type}: {Rows().Count()} rows identical");
    }
}

using SeekSharp.Kernels;
using SeekSharp.Kernels.Quants;
using Xunit.Abstractions;

namespace SeekSharp.Conformance.Tests.Models;

/// <summary>
/// Every type SeekSharp writes encodes as llama-quantize does without an importance matrix, byte for byte, on rows of
/// several kinds: smooth, with outliers, with zeros and constants, tiny and huge magnitudes. For most types that is
/// ggml's quantize_row_*_ref; for IQ4_NL it is quantize_iq4_nl, since ggml's quantize_row_iq4_nl_ref runs a cheaper
/// fit (pinned separately against <see cref="IQ4_NL.QuantizeRowReference"/>).
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

    /// <summary>
    /// <paramref name="count"/> rows of 512 values, each of one distribution picked at random (gaussian, uniform,
    /// heavy-tailed, sparse, one-signed) at a random magnitude, for the encoders whose fit searches over scales.
    /// </summary>
    private static IEnumerable<(string Kind, float[] Row)> RandomRows(int count)
    {
        var rng = new Random(2026);
        float Gaussian() => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        for (int r = 0; r < count; r++)
        {
            int kind = rng.Next(5);
            float scale = (float)Math.Pow(10, rng.NextDouble() * 8 - 5);
            float[] row = new float[512];
            for (int i = 0; i < row.Length; i++)
            {
                float v = kind switch
                {
                    0 => Gaussian(),
                    1 => (float)(rng.NextDouble() * 2 - 1),
                    2 => Gaussian() / MathF.Max(0.05f, MathF.Abs(Gaussian())),
                    3 => rng.Next(8) == 0 ? Gaussian() : 0f,
                    _ => MathF.Abs(Gaussian()) * (r % 2 == 0 ? 1 : -1),
                };
                row[i] = v * scale;
            }
            yield return ($"random {r} (kind {kind})", row);
        }
    }

    /// <summary>
    /// Runs ggml's encoder that llama-quantize uses for <paramref name="type"/> without an importance matrix
    /// (ggml_quantize_chunk's choice): quantize_iq4_nl for IQ4_NL, quantize_row_*_ref, which those entry points reduce
    /// to, for the rest.
    /// </summary>
    private static void GgmlQuantize(GgmlType type, float[] row, byte[] dst)
    {
        fixed (float* px = row)
        fixed (byte* pd = dst)
        {
            if (type == GgmlType.IQ4_NL)
            {
                var quantize = (delegate* unmanaged<float*, byte*, long, long, float*, nuint>)GgmlDequantizeTests.GgmlExport("quantize_iq4_nl");
                quantize(px, pd, 1, row.Length, null);
            }
            else
            {
                var quantize = (delegate* unmanaged<float*, byte*, long, void>)GgmlDequantizeTests.GgmlExport($"quantize_row_{GgmlDequantizeTests.GgmlName(type)}_ref");
                quantize(px, pd, row.Length);
            }
        }
    }

    private static void AssertIdentical(GgmlType type, string kind, byte[] ours, byte[] theirs)
    {
        int blockBytes = TensorTypes.BlockBytes(type);
        int common = ours.AsSpan().CommonPrefixLength(theirs);
        Assert.True(common == ours.Length, $"{type}, {kind} row: first difference at byte {common} (block {common / blockBytes}, byte {common % blockBytes} within it)");
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void QuantizeEqualsGgmlReference(string typeName)
    {
        var type = Enum.Parse<GgmlType>(typeName);
        foreach (var (kind, row) in Rows())
        {
            byte[] ours = new byte[TensorTypes.RowBytes(type, row.Length)], theirs = new byte[ours.Length];
            TensorTypes.Quantize(type, row, ours);
            GgmlQuantize(type, row, theirs);
            AssertIdentical(type, kind, ours, theirs);
        }
        output.WriteLine($"{type}: {Rows().Count()} rows identical");
    }

    [Theory]
    [InlineData("IQ4_NL")]
    [InlineData("IQ4_XS")]
    public void ScaleSearchingQuantizersEqualGgmlOnRandomRows(string typeName)
    {
        var type = Enum.Parse<GgmlType>(typeName);
        int rows = 0;
        foreach (var (kind, row) in RandomRows(200))
        {
            byte[] ours = new byte[TensorTypes.RowBytes(type, row.Length)], theirs = new byte[ours.Length];
            TensorTypes.Quantize(type, row, ours);
            GgmlQuantize(type, row, theirs);
            AssertIdentical(type, kind, ours, theirs);
            rows++;
        }
        output.WriteLine($"{type}: {rows} random rows identical");
    }

    /// <summary>
    /// IQ4_NL.QuantizeRowReference against ggml's quantize_row_iq4_nl_ref. The nibbles of a block below GROUP_MAX_EPS
    /// are not compared: the libggml-base.so under test leaves that block's levels unset, so it writes whatever its
    /// stack held (current ggml clears them, as QuantizeRowReference does); its scale, 0, is compared.
    /// </summary>
    [Fact]
    public void IQ4_NLRowReferenceEqualsGgml()
    {
        var quantize = (delegate* unmanaged<float*, byte*, long, void>)GgmlDequantizeTests.GgmlExport("quantize_row_iq4_nl_ref");
        int rows = 0, skipped = 0;
        foreach (var (kind, row) in Rows().Concat(RandomRows(200)))
        {
            byte[] ours = new byte[TensorTypes.RowBytes(GgmlType.IQ4_NL, row.Length)], theirs = new byte[ours.Length];
            IQ4_NL.QuantizeRowReference(row, ours);
            fixed (float* px = row)
            fixed (byte* pt = theirs)
            {
                quantize(px, pt, row.Length);
            }
            for (int b = 0; b < row.Length / IQ4_NL.BlockSize; b++)
            {
                if (row.AsSpan(b * IQ4_NL.BlockSize, IQ4_NL.BlockSize).ToArray().All(v => MathF.Abs(v) < 1e-15f))
                {
                    theirs.AsSpan(b * IQ4_NL.BlockBytes + 2, 16).Clear();
                    skipped++;
                }
            }
            AssertIdentical(GgmlType.IQ4_NL, kind, ours, theirs);
            rows++;
        }
        output.WriteLine($"{rows} rows identical ({skipped} blocks below GROUP_MAX_EPS compared by scale only)");
    }
}

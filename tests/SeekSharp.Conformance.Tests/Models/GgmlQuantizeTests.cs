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

    /// <summary>
    /// 200 seeded rows of 512, each of a random kind and magnitude (10^−6 .. 10^6): Gaussian, uniform, Laplace,
    /// one-signed, heavy outliers, small integers and halves (exact ties for nearest_int and equal maxima), whole
    /// 16-groups of zeros or of one constant, and a few values just above and below GROUP_MAX_EPS.
    /// </summary>
    private static IEnumerable<(string Kind, float[] Row)> RandomRows()
    {
        var rng = new Random(2026);
        float Gaussian() => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        for (int r = 0; r < 200; r++)
        {
            int kind = rng.Next(9);
            float scale = MathF.Pow(10f, (float)(rng.NextDouble() * 12 - 6));
            var row = new float[512];
            for (int i = 0; i < row.Length; i++)
            {
                row[i] = kind switch
                {
                    0 => Gaussian(),
                    1 => (float)(rng.NextDouble() * 2 - 1),
                    2 => (float)(Math.Log(1 - rng.NextDouble()) * (rng.Next(2) == 0 ? -1 : 1)),
                    3 => MathF.Abs(Gaussian()),
                    4 => -MathF.Abs(Gaussian()) - 0.5f,
                    5 => Gaussian() * (rng.Next(40) == 0 ? 50f : 1f),
                    6 => rng.Next(-8, 9),
                    7 => rng.Next(-6, 7) * 0.5f,
                    _ => Gaussian() * (rng.Next(3) == 0 ? 1e-16f : 1f),
                } * scale;
            }
            if (rng.Next(3) == 0)
            {
                // A whole group of 16 set to zero or to one constant: the fits' degenerate branches.
                int g = rng.Next(32);
                float c = rng.Next(2) == 0 ? 0f : Gaussian() * scale;
                row.AsSpan(16 * g, 16).Fill(c);
            }
            yield return ($"random #{r} (kind {kind}, scale {scale:G3})", row);
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void QuantizeEqualsGgmlReference(string typeName) => AssertEqualsGgmlReference(typeName, Rows());

    [Theory]
    [MemberData(nameof(Types))]
    public void QuantizeEqualsGgmlReferenceOnRandomRows(string typeName) => AssertEqualsGgmlReference(typeName, RandomRows());

    private void AssertEqualsGgmlReference(string typeName, IEnumerable<(string Kind, float[] Row)> rows)
    {
        var type = Enum.Parse<GgmlType>(typeName);
        var quantize = (delegate* unmanaged<float*, byte*, long, void>)GgmlDequantizeTests.GgmlExport($"quantize_row_{GgmlDequantizeTests.GgmlName(type)}_ref");
        int blockBytes = TensorTypes.BlockBytes(type);
        int count = 0;
        foreach (var (kind, row) in rows)
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
            count++;
        }
        output.WriteLine($"{type}: {count} rows identical");
    }
}

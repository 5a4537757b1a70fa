using SeekSharp.Kernels;
using SeekSharp.Kernels.Quants;
using Xunit.Abstractions;

namespace SeekSharp.Conformance.Tests.Models;

/// <summary>
/// Every type SeekSharp writes encodes as llama-quantize does without an importance matrix, byte for byte, on rows of
/// several kinds: smooth, with outliers, with zeros and constants, tiny and huge magnitudes. For most types that is
/// ggml's quantize_row_*_ref; for IQ4_NL it is quantize_iq4_nl, since ggml's quantize_row_iq4_nl_ref runs a cheaper
/// fit (pinned separately against <see cref="IQ4_NL.QuantizeRowReference"/>); for the codebook types (IQ3, IQ2_S,
/// IQ1_M) ggml_quantize_chunk without an importance matrix.
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
        // Whole sub-blocks of 32 at zero between non-zero ones: IQ3_S's writer then shifts the next sub-blocks' bytes.
        yield return ("zero sub-blocks", Enumerable.Range(0, 512).Select(i => i / 32 % 3 == 1 ? 0f : Gaussian()).ToArray());
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

    /// <summary>
    /// Runs ggml's encoder that llama-quantize uses for <paramref name="type"/> without an importance matrix
    /// (ggml_quantize_chunk's choice): ggml_quantize_chunk itself for the codebook types, quantize_iq4_nl for IQ4_NL,
    /// quantize_row_*_ref, which those entry points reduce to, for the rest.
    /// </summary>
    private static void GgmlQuantize(GgmlType type, float[] row, byte[] dst)
    {
        fixed (float* px = row)
        fixed (byte* pd = dst)
        {
            if (IsGridType(type))
            {
                // quantize_iq3_xxs and the other codebook types need ggml_quantize_init's tables, which
                // ggml_quantize_chunk builds first: it is llama-quantize's call, with no importance matrix here.
                var chunk = (delegate* unmanaged<int, float*, byte*, long, long, long, float*, nuint>)GgmlDequantizeTests.GgmlExport("ggml_quantize_chunk");
                chunk((int)type, px, pd, 0, 1, row.Length, null);
            }
            else if (type == GgmlType.IQ4_NL)
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

    /// <summary>The codebook types, whose ggml quantizers search a grid built by ggml_quantize_init.</summary>
    private static bool IsGridType(GgmlType type) =>
        type is GgmlType.IQ3_XXS or GgmlType.IQ3_S or GgmlType.IQ2_XXS or GgmlType.IQ2_XS or GgmlType.IQ2_S or GgmlType.IQ1_S or GgmlType.IQ1_M;

    private static void AssertIdentical(GgmlType type, string kind, byte[] ours, byte[] theirs)
    {
        int blockBytes = TensorTypes.BlockBytes(type);
        int common = ours.AsSpan().CommonPrefixLength(theirs);
        Assert.True(common == ours.Length, $"{type}, {kind} row: first difference at byte {common} (block {common / blockBytes}, byte {common % blockBytes} within it)");
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void QuantizeEqualsGgmlReference(string typeName) => AssertEqualsGgml(typeName, Rows());

    [Theory]
    [MemberData(nameof(Types))]
    public void QuantizeEqualsGgmlReferenceOnRandomRows(string typeName) => AssertEqualsGgml(typeName, RandomRows());

    private void AssertEqualsGgml(string typeName, IEnumerable<(string Kind, float[] Row)> rows)
    {
        var type = Enum.Parse<GgmlType>(typeName);
        int count = 0;
        foreach (var (kind, row) in rows)
        {
            byte[] ours = new byte[TensorTypes.RowBytes(type, row.Length)], theirs = new byte[ours.Length];
            TensorTypes.Quantize(type, row, ours);
            GgmlQuantize(type, row, theirs);
            AssertIdentical(type, kind, ours, theirs);
            count++;
        }
        output.WriteLine($"{type}: {count} rows identical");
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
        foreach (var (kind, row) in Rows().Concat(RandomRows()))
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

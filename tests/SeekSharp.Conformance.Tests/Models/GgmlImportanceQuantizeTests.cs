using SeekSharp.Kernels;
using Xunit.Abstractions;

namespace SeekSharp.Conformance.Tests.Models;

/// <summary>
/// Every type SeekSharp writes with an importance matrix encodes as llama-quantize does with one, byte for byte:
/// against ggml_quantize_chunk (the entry point llama-quantize calls, per tensor and expert, with the imatrix row of
/// that tensor) on several rows of several kinds, each with several importance vectors: random, spiky, all equal,
/// with zero columns, and mean squares of real-looking activations.
/// </summary>
public unsafe class GgmlImportanceQuantizeTests(ITestOutputHelper output)
{
    private const int Columns = 512;

    public static TheoryData<string> Types()
    {
        var data = new TheoryData<string>();
        foreach (GgmlType type in Enum.GetValues<GgmlType>())
        {
            if (TensorTypes.CanEncodeWithImportance(type) && type is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 or GgmlType.Q8_0))
            {
                data.Add(type.ToString());
            }
        }
        return data;
    }

    /// <summary>Three rows of <see cref="Columns"/> of one kind per case, the kinds the fits branch on.</summary>
    private static IEnumerable<(string Kind, float[] Rows)> Matrices()
    {
        var rng = new Random(31);
        float Gaussian() => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        float[] Make(Func<int, float> f) => Enumerable.Range(0, 3 * Columns).Select(f).ToArray();
        yield return ("gaussian", Make(_ => Gaussian()));
        yield return ("outliers", Make(i => Gaussian() * (i % 97 == 0 ? 40f : 1f)));
        yield return ("positive", Make(_ => Math.Abs(Gaussian()) + 0.1f));
        yield return ("zeros and a constant", Make(i => i % Columns < 256 ? 0f : 0.75f));
        yield return ("tiny", Make(_ => Gaussian() * 1e-6f));
        yield return ("huge", Make(_ => Gaussian() * 1e4f));
        yield return ("sparse", Make(i => i % 29 == 3 ? Gaussian() : 0f));
        yield return ("zero sub-blocks", Make(i => i / 32 % 3 == 1 ? 0f : Gaussian()));
        yield return ("small integers", Make(_ => rng.Next(-8, 9)));
        for (int r = 0; r < 12; r++)
        {
            float scale = MathF.Pow(10f, (float)(rng.NextDouble() * 8 - 4));
            yield return ($"random #{r} (scale {scale:G3})", Make(_ => Gaussian() * scale * (rng.Next(50) == 0 ? 20f : 1f)));
        }
    }

    private static IEnumerable<(string Kind, float[] Importance)> Importances()
    {
        var rng = new Random(5);
        float Gaussian() => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        float[] Make(Func<int, float> f) => Enumerable.Range(0, Columns).Select(f).ToArray();
        yield return ("uniform random", Make(_ => (float)rng.NextDouble()));
        yield return ("all equal", Make(_ => 1f));
        yield return ("mean squares", Make(_ => Enumerable.Range(0, 8).Select(_ => Gaussian()).Sum(v => v * v) / 8));
        yield return ("spiky", Make(i => i % 41 == 0 ? 500f : 0.01f));
        yield return ("some zero columns", Make(i => i % 5 == 0 ? 0f : (float)rng.NextDouble() * 3));
        yield return ("huge range", Make(_ => MathF.Pow(10f, (float)(rng.NextDouble() * 10 - 5))));
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void QuantizeWithImportanceEqualsGgml(string typeName)
    {
        var type = Enum.Parse<GgmlType>(typeName);
        var chunk = (delegate* unmanaged<int, float*, byte*, long, long, long, float*, nuint>)GgmlDequantizeTests.GgmlExport("ggml_quantize_chunk");
        int count = 0;
        foreach (var (rowsKind, rows) in Matrices())
        {
            foreach (var (importanceKind, importance) in Importances())
            {
                byte[] ours = new byte[TensorTypes.RowBytes(type, rows.Length)], theirs = new byte[ours.Length];
                TensorTypes.Quantize(type, rows, ours, importance);
                fixed (float* px = rows)
                fixed (float* pw = importance)
                fixed (byte* pd = theirs)
                {
                    nuint written = chunk((int)type, px, pd, 0, rows.Length / Columns, Columns, pw);
                    Assert.Equal((nuint)theirs.Length, written);
                }
                int common = ours.AsSpan().CommonPrefixLength(theirs);
                int blockBytes = TensorTypes.BlockBytes(type);
                Assert.True(common == ours.Length,
                    $"{type}, {rowsKind} rows, {importanceKind} importance: first difference at byte {common} (block {common / blockBytes}, byte {common % blockBytes} within it)");
                count++;
            }
        }
        output.WriteLine($"{type}: {count} matrices of 3 × {Columns} identical to ggml_quantize_chunk with an imatrix");
    }

    /// <summary>The importance matrix changes the bytes: a test of identity that would also pass if it were ignored proves less.
    /// Types that need one (IQ2_XXS, IQ2_XS, IQ1_S) compare a spiky matrix with a flat one.</summary>
    [Theory]
    [MemberData(nameof(Types))]
    public void ImportanceChangesTheEncoding(string typeName)
    {
        var type = Enum.Parse<GgmlType>(typeName);
        var rng = new Random(9);
        float[] rows = Enumerable.Range(0, 3 * Columns).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        float[] spiky = Enumerable.Range(0, Columns).Select(i => i % 7 == 0 ? 100f : 0.01f).ToArray();
        byte[] plain = new byte[TensorTypes.RowBytes(type, rows.Length)], weighted = new byte[plain.Length];
        if (TensorTypes.CanEncode(type))
        {
            TensorTypes.Quantize(type, rows, plain);
        }
        else
        {
            TensorTypes.Quantize(type, rows, plain, Enumerable.Repeat(1f, Columns).ToArray());
        }
        TensorTypes.Quantize(type, rows, weighted, spiky);
        Assert.False(plain.AsSpan().SequenceEqual(weighted), $"{type}: the importance matrix did not change a single byte");
    }
}

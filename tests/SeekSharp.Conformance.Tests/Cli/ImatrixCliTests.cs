using System.Runtime.InteropServices;
using SeekSharp.Conformance.Tests.Models;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Gguf;
using SeekSharp.Kernels;
using SeekSharp.Quantization;

namespace SeekSharp.Conformance.Tests.Cli;

/// <summary><c>seek imatrix</c> and <c>seek quantize --imatrix</c> end to end, and their errors.</summary>
public sealed unsafe class ImatrixCliTests : IDisposable
{
    // Rows of 256 are whole K blocks, so the K types apply without fallbacks; 4 query heads per key/value head.
    private static readonly TinyModelOptions KBlocks = new()
    {
        Architecture = TinyArchitecture.Llama, Dim = 256, Heads = 8, KvHeads = 2, FfnDim = 512, Layers = 2, ContextLength = 128, Seed = 31,
    };

    private static string Text => Path.Combine(RealTokenizers.RepoRoot(), "tests", "data", "perplexity.txt");

    private readonly string _dir = Directory.CreateTempSubdirectory("seek-imatrix-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Imatrix(string model, string name = "imatrix.gguf")
    {
        string path = Path.Combine(_dir, name);
        var r = SeekProcess.Run("imatrix", "-m", model, "-f", Text, "-o", path, "--ctx", "64", "--chunks", "3");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("3 chunks of 64 tokens", r.Stderr);
        return path;
    }

    [Fact]
    public void ImatrixWritesGgufAndDat()
    {
        string model = TinyModelBuilder.GetOrBuild(KBlocks);
        var gguf = ImportanceMatrix.Read(Imatrix(model));
        var dat = ImportanceMatrix.Read(Imatrix(model, "imatrix.dat"));
        Assert.Equal(3, gguf.ChunkCount);
        Assert.Equal(64, gguf.ChunkSize);
        Assert.Equal([Text], gguf.Datasets);
        Assert.Equal(7 * KBlocks.Layers, gguf.Entries.Count);
        Assert.All(gguf.Entries.Values, e => Assert.Equal([3 * 64], e.Counts));
        Assert.True(dat.IsLegacy);
        Assert.Equal(gguf.Entries.Keys, dat.Entries.Keys);
        foreach (string name in gguf.Entries.Keys)
        {
            float[] a = gguf.ColumnWeights(name)!, b = dat.ColumnWeights(name)!;
            for (int i = 0; i < a.Length; i++)
                Assert.True(Math.Abs(a[i] - b[i]) <= 1e-6f * Math.Abs(a[i]), $"{name}[{i}]: {a[i]} (gguf) vs {b[i]} (dat)");
        }
    }

    /// <summary>
    /// Every tensor of <c>seek quantize --imatrix</c> equals ggml_quantize_chunk, llama-quantize's call, given the
    /// column weights llama-quantize derives from the same file (and no weights for the tensors the matrix lacks).
    /// The mixes that put tensors in IQ1, IQ2 or IQ3_XXS types need an importance matrix and are refused without one, with one line that says
    /// how to make it; for the others the matrix must change every weighted tensor's bytes.
    /// </summary>
    [Theory]
    [InlineData("Q2_K")]
    [InlineData("Q3_K_S")]
    [InlineData("Q4_K_M")]
    [InlineData("Q5_K_S")]
    [InlineData("Q6_K")]
    [InlineData("IQ4_XS")]
    [InlineData("Q4_0")]
    [InlineData("IQ3_M")]
    [InlineData("IQ3_S")]
    [InlineData("IQ3_XS")]
    [InlineData("IQ3_XXS")]
    [InlineData("IQ2_M")]
    [InlineData("IQ2_S")]
    [InlineData("IQ2_XS")]
    [InlineData("IQ2_XXS")]
    [InlineData("IQ1_M")]
    [InlineData("IQ1_S")]
    public void QuantizeWithImatrixEqualsGgmlQuantizeChunk(string mix)
    {
        string model = TinyModelBuilder.GetOrBuild(KBlocks);
        string imatrix = Imatrix(model), output = Path.Combine(_dir, "q.gguf"), plain = Path.Combine(_dir, "plain.gguf");
        var r = SeekProcess.Run("quantize", model, output, mix, "--imatrix", imatrix);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains($"{7 * KBlocks.Layers} with importance weights", r.Stderr);
        var withoutRun = SeekProcess.Run("quantize", model, plain, mix);
        bool needsImatrix = mix is "IQ3_XS" or "IQ3_XXS" or "IQ2_M" or "IQ2_S" or "IQ2_XS" or "IQ2_XXS" or "IQ1_M" or "IQ1_S";
        if (needsImatrix)
        {
            Assert.Equal(1, withoutRun.ExitCode);
            Assert.Contains("importance matrix", withoutRun.Stderr);
            Assert.Contains("seek imatrix", withoutRun.Stderr);
            Assert.Single(withoutRun.Stderr.Trim().Split('\n'));
            Assert.False(File.Exists(plain));
        }
        else
        {
            Assert.True(withoutRun.ExitCode == 0, withoutRun.Stderr);
        }

        var matrix = ImportanceMatrix.Read(imatrix);
        var chunk = (delegate* unmanaged<int, float*, byte*, long, long, long, float*, nuint>)GgmlDequantizeTests.GgmlExport("ggml_quantize_chunk");
        using var source = GgufFile.Open(model);
        using var quantized = GgufFile.Open(output);
        using var withoutImatrix = needsImatrix ? null : GgufFile.Open(plain);
        int weighted = 0;
        foreach (var t in quantized.Tensors)
        {
            var src = source.GetTensor(t.Name);
            if (t.Type == src.Type) continue;
            float[] values = MemoryMarshal.Cast<byte, float>(source.GetTensorBytes(src)).ToArray();
            float[]? weights = matrix.ColumnWeights(t.Name);
            byte[] expected = new byte[quantized.GetTensorBytes(t).Length];
            fixed (float* px = values)
            fixed (float* pw = weights)
            fixed (byte* pd = expected)
                chunk((int)t.Type, px, pd, 0, values.Length / t.Shape[0], t.Shape[0], pw);
            Assert.True(quantized.GetTensorBytes(t).SequenceEqual(expected), $"{mix}: tensor '{t.Name}' ({t.Type}, imatrix {(weights is null ? "none" : "yes")}) differs from ggml_quantize_chunk");
            if (weights is not null)
            {
                weighted++;
                // Without the matrix: the other run's tensor, or (when that run was refused) ggml's encoding without
                // weights, where ggml has one (IQ2_XXS, IQ2_XS and IQ1_S have none).
                byte[]? unweighted = withoutImatrix?.GetTensorBytes(withoutImatrix.GetTensor(t.Name)).ToArray();
                if (unweighted is null && TensorTypes.CanEncode(t.Type))
                {
                    unweighted = new byte[expected.Length];
                    fixed (float* px = values)
                    fixed (byte* pd = unweighted)
                        chunk((int)t.Type, px, pd, 0, values.Length / t.Shape[0], t.Shape[0], null);
                }
                if (unweighted is not null)
                    Assert.False(quantized.GetTensorBytes(t).SequenceEqual(unweighted), $"{mix}: tensor '{t.Name}' is the same with and without the importance matrix");
            }
        }
        Assert.Equal(7 * KBlocks.Layers, weighted);
    }

    [Fact]
    public void IQ4MixesKeepFfnDownInIQ4WithAnImatrix()
    {
        // llama.cpp gives the first eighth of ffn_down Q5_K in the IQ4 mixes only without an importance matrix.
        var options = KBlocks with { Layers = 8 };
        string model = TinyModelBuilder.GetOrBuild(options);
        string imatrix = Imatrix(model), with = Path.Combine(_dir, "with.gguf"), without = Path.Combine(_dir, "without.gguf");
        Assert.Equal(0, SeekProcess.Run("quantize", model, with, "IQ4_XS", "--imatrix", imatrix).ExitCode);
        Assert.Equal(0, SeekProcess.Run("quantize", model, without, "IQ4_XS").ExitCode);
        using var w = GgufFile.Open(with);
        using var wo = GgufFile.Open(without);
        Assert.Equal(GgmlType.IQ4_XS, w.GetTensor("blk.0.ffn_down.weight").Type);
        Assert.Equal(GgmlType.Q5_K, wo.GetTensor("blk.0.ffn_down.weight").Type);
    }

    [Fact]
    public void ImatrixErrorsAreOneLineWithTheCause()
    {
        string model = TinyModelBuilder.GetOrBuild(KBlocks);
        var missing = SeekProcess.Run("imatrix", "-m", model, "-f", Path.Combine(_dir, "absent.txt"), "-o", Path.Combine(_dir, "x.gguf"));
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("absent.txt", missing.Stderr);

        string shortText = Path.Combine(_dir, "short.txt");
        File.WriteAllText(shortText, "A few words only.");
        var tooShort = SeekProcess.Run("imatrix", "-m", model, "-f", shortText, "-o", Path.Combine(_dir, "x.gguf"), "--ctx", "64");
        Assert.Equal(1, tooShort.ExitCode);
        Assert.Contains("at least 2 × ctx = 128", tooShort.Stderr);
        Assert.False(File.Exists(Path.Combine(_dir, "x.gguf")));
    }

    [Fact]
    public void QuantizeRefusesAnImatrixThatLacksATensorTheMixNeedsWeightsFor()
    {
        // llama.cpp stops at a tensor it would put in IQ2_XXS without weights; seek refuses before writing anything.
        string model = TinyModelBuilder.GetOrBuild(KBlocks);
        var matrix = ImportanceMatrix.Read(Imatrix(model));
        Assert.True(matrix.Entries.Remove("blk.1.ffn_up.weight"));
        string partial = Path.Combine(_dir, "partial.gguf"), output = Path.Combine(_dir, "q.gguf");
        matrix.Write(partial);
        var r = SeekProcess.Run("quantize", model, output, "IQ2_XXS", "--imatrix", partial);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("blk.1.ffn_up.weight", r.Stderr);
        Assert.Contains("IQ2_XXS", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void QuantizeRefusesAnImatrixOfAnotherModel()
    {
        string model = TinyModelBuilder.GetOrBuild(KBlocks);
        string other = TinyModelBuilder.GetOrBuild(KBlocks with { FfnDim = 768, Seed = 32 });
        string imatrix = Imatrix(other), output = Path.Combine(_dir, "q.gguf");
        var r = SeekProcess.Run("quantize", model, output, "Q4_K_M", "--imatrix", imatrix);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("blk.0.ffn_down.weight", r.Stderr);
        Assert.Contains("768", r.Stderr);
        Assert.Contains("512", r.Stderr);
        Assert.False(File.Exists(output));

        var corrupt = Path.Combine(_dir, "corrupt.dat");
        File.WriteAllBytes(corrupt, [1, 0, 0, 0, 200, 0, 0, 0, (byte)'b']);
        var c = SeekProcess.Run("quantize", model, output, "Q4_K_M", "--imatrix", corrupt);
        Assert.Equal(1, c.ExitCode);
        Assert.Contains("corrupt.dat", c.Stderr);
        Assert.Contains("name", c.Stderr);
    }
}

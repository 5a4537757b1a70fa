using System.Text.Json;
using LLama;
using LLama.Native;
using SeekSharp.Conformance.Tests.Oracle;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Gguf;
using SeekSharp.Kernels;
using SeekSharp.Models;

namespace SeekSharp.Conformance.Tests.Cli;

/// <summary><c>seek bench</c> and <c>seek quantize</c> end to end; quantized files are checked against llama.cpp's own quantizer.</summary>
public class BenchQuantizeCliTests
{
    // Rows of 128 are whole blocks of the 32-element types but not of the 256-element K types, so llama.cpp's
    // output-projection rule picks Q8_0 (not Q6_K) here: the legacy mixes are testable with the legacy kernels alone.
    private static readonly TinyModelOptions Legacy = new()
    {
        Architecture = TinyArchitecture.Qwen2, Dim = 128, Heads = 4, KvHeads = 2, FfnDim = 256, Layers = 2, ContextLength = 128, Seed = 11,
    };

    [Fact]
    public void BenchJsonPrintsTheFourKeysWithPositiveValues()
    {
        var r = SeekProcess.Run("bench", "-m", TinyModelBuilder.GetOrBuild(Legacy), "-p", "32", "-n", "8", "-r", "2", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var keys = doc.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(["n_depth", "pp_tps", "tg_tps", "load_s", "rss_mb"], keys);
        Assert.Equal(0, doc.RootElement.GetProperty("n_depth").GetInt32());
        foreach (var p in doc.RootElement.EnumerateObject().Skip(1))
            Assert.True(p.Value.GetDouble() > 0, $"{p.Name} = {p.Value}");
        // The RSS is the process's own peak, which includes at least the runtime and the mapped weights it touched.
        Assert.InRange(doc.RootElement.GetProperty("rss_mb").GetDouble(), 10, 4096);
    }

    [Fact]
    public void BenchWithDepthsPrintsOneJsonLinePerDepth()
    {
        var r = SeekProcess.Run("bench", "-m", TinyModelBuilder.GetOrBuild(Legacy), "-p", "16", "-n", "4", "-r", "1", "-d", "0,40", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var lines = r.Stdout.Trim().Split('\n');
        Assert.Equal(2, lines.Length);
        for (int i = 0; i < 2; i++)
        {
            using var doc = JsonDocument.Parse(lines[i]);
            Assert.Equal(i == 0 ? 0 : 40, doc.RootElement.GetProperty("n_depth").GetInt32());
            Assert.True(doc.RootElement.GetProperty("pp_tps").GetDouble() > 0);
            Assert.True(doc.RootElement.GetProperty("tg_tps").GetDouble() > 0);
        }

        var bad = SeekProcess.Run("bench", "-m", TinyModelBuilder.GetOrBuild(Legacy), "-d", "0,-5", "--json");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("-d", bad.Stderr);
    }

    [Theory]
    [InlineData(GgmlType.F32, "Q8_0", LLamaFtype.MOSTLY_Q8_0)]
    [InlineData(GgmlType.F32, "Q4_0", LLamaFtype.MOSTLY_Q4_0)]
    [InlineData(GgmlType.F16, "Q8_0", LLamaFtype.MOSTLY_Q8_0)]
    [InlineData(GgmlType.F32, "F16", LLamaFtype.MOSTLY_F16)]
    public void QuantizeWritesLlamaCppsTypesAndData(GgmlType inputType, string type, LLamaFtype ftype) =>
        CompareWithLlamaCpp(Legacy with { WeightType = inputType }, type, ftype);

    // Rows of 256 are whole K blocks, so the output projection takes Q6_K; 8 layers make use_more_bits choose
    // layers 0, 3, 6 and 7 (first and last eighth, every third between) for attn_v / ffn_down in the _M mixes.
    private static readonly TinyModelOptions KBlocks = new()
    {
        Architecture = TinyArchitecture.Qwen2, Dim = 256, Heads = 4, KvHeads = 2, FfnDim = 512, Layers = 8, ContextLength = 128, Seed = 12,
    };

    [Theory]
    [InlineData(GgmlType.F32, "Q4_K_M", LLamaFtype.MOSTLY_Q4_K_M)]
    [InlineData(GgmlType.F16, "Q5_K_M", LLamaFtype.MOSTLY_Q5_K_M)]
    [InlineData(GgmlType.F32, "Q6_K", LLamaFtype.MOSTLY_Q6_K)]
    [InlineData(GgmlType.F32, "Q4_0", LLamaFtype.MOSTLY_Q4_0)]
    [InlineData(GgmlType.F32, "Q2_K", LLamaFtype.MOSTLY_Q2_K)]
    [InlineData(GgmlType.F16, "Q3_K_S", LLamaFtype.MOSTLY_Q3_K_S)]
    [InlineData(GgmlType.F32, "Q3_K_M", LLamaFtype.MOSTLY_Q3_K_M)]
    [InlineData(GgmlType.F32, "Q3_K_L", LLamaFtype.MOSTLY_Q3_K_L)]
    [InlineData(GgmlType.F32, "Q4_K_S", LLamaFtype.MOSTLY_Q4_K_S)]
    [InlineData(GgmlType.F16, "Q5_K_S", LLamaFtype.MOSTLY_Q5_K_S)]
    [InlineData(GgmlType.F32, "IQ4_NL", LLamaFtype.MOSTLY_IQ4_NL)]
    [InlineData(GgmlType.F16, "IQ4_XS", LLamaFtype.MOSTLY_IQ4_XS)]
    [InlineData(GgmlType.F32, "IQ3_S", LLamaFtype.MOSTLY_IQ3_S)]
    [InlineData(GgmlType.F16, "IQ3_M", LLamaFtype.MOSTLY_IQ3_M)]
    public void QuantizeKMixesWritesLlamaCppsTypesAndData(GgmlType inputType, string type, LLamaFtype ftype) =>
        CompareWithLlamaCpp(KBlocks with { WeightType = inputType }, type, ftype);

    // Groups of 4 query heads per key/value head (attn_v gets more bits in the low-bit mixes), 16 layers (the first
    // sixteenth and eighth are whole layers) and an FFN width of 704, whose ffn_down rows are not whole 256-blocks, so
    // llama.cpp falls back there (Q2_K/Q3_K → Q4_0, Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, IQ4_XS and IQ3_S → IQ4_NL).
    private static readonly TinyModelOptions Ffn704 = new()
    {
        Architecture = TinyArchitecture.Llama, Dim = 256, Heads = 8, KvHeads = 2, FfnDim = 704, Layers = 16, ContextLength = 128, Seed = 13,
    };

    [Theory]
    [InlineData(GgmlType.F32, "Q2_K", LLamaFtype.MOSTLY_Q2_K)]
    [InlineData(GgmlType.F16, "Q3_K_M", LLamaFtype.MOSTLY_Q3_K_M)]
    [InlineData(GgmlType.F32, "Q4_K_M", LLamaFtype.MOSTLY_Q4_K_M)]
    [InlineData(GgmlType.F32, "Q5_K_S", LLamaFtype.MOSTLY_Q5_K_S)]
    [InlineData(GgmlType.F16, "IQ4_XS", LLamaFtype.MOSTLY_IQ4_XS)]
    [InlineData(GgmlType.F16, "IQ3_S", LLamaFtype.MOSTLY_IQ3_S)]
    [InlineData(GgmlType.F32, "IQ3_M", LLamaFtype.MOSTLY_IQ3_M)]
    public void QuantizeMixesWithFallbacksWritesLlamaCppsTypesAndData(GgmlType inputType, string type, LLamaFtype ftype) =>
        CompareWithLlamaCpp(Ffn704 with { WeightType = inputType }, type, ftype);

    [Fact]
    public void Q4KMGivesQ6KToTheMoreBitsLayers()
    {
        string dir = Directory.CreateTempSubdirectory("seek-quantize-").FullName;
        try
        {
            string output = Path.Combine(dir, "q4km.gguf");
            var r = SeekProcess.Run("quantize", TinyModelBuilder.GetOrBuild(KBlocks), output, "q4_k_m");
            Assert.True(r.ExitCode == 0, r.Stderr);
            using var f = GgufFile.Open(output);
            int[] moreBits = [0, 3, 6, 7];
            for (int layer = 0; layer < KBlocks.Layers; layer++)
            {
                var expected = moreBits.Contains(layer) ? GgmlType.Q6_K : GgmlType.Q4_K;
                Assert.Equal(expected, f.GetTensor($"blk.{layer}.attn_v.weight").Type);
                Assert.Equal(expected, f.GetTensor($"blk.{layer}.ffn_down.weight").Type);
                Assert.Equal(GgmlType.Q4_K, f.GetTensor($"blk.{layer}.attn_q.weight").Type);
                Assert.Equal(GgmlType.F32, f.GetTensor($"blk.{layer}.attn_norm.weight").Type);
            }
            Assert.Equal(GgmlType.Q6_K, f.GetTensor("output.weight").Type);
            Assert.Equal(GgmlType.Q4_K, f.GetTensor("token_embd.weight").Type);
            Assert.Equal(15u, f.GetUInt32("general.file_type"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void BadTypeIsOneClearLine()
    {
        string output = Path.Combine(Path.GetTempPath(), $"seek-q-{Guid.NewGuid():N}.gguf");
        var r = SeekProcess.Run("quantize", TinyModelBuilder.GetOrBuild(Legacy), output, "Q3_X");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("seek: error: unknown quantization type 'Q3_X'; expected one of Q8_0, Q4_0, Q2_K, Q3_K_S, Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M, IQ4_NL, IQ4_XS, IQ3_M, IQ3_S, IQ3_XS, IQ3_XXS, IQ2_M, IQ2_S, IQ2_XS, IQ2_XXS, IQ1_M, IQ1_S, Q6_K, F16", r.Stderr.TrimEnd());
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void MissingInputIsOneClearLine()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"seek-missing-{Guid.NewGuid():N}.gguf");
        var q = SeekProcess.Run("quantize", missing, missing + ".out", "Q8_0");
        var b = SeekProcess.Run("bench", "-m", missing, "--json");
        foreach (var r in new[] { q, b })
        {
            Assert.Equal(1, r.ExitCode);
            Assert.Single(r.Stderr.TrimEnd().Split('\n'));
            Assert.StartsWith("seek: error:", r.Stderr);
            Assert.Contains(missing, r.Stderr);
            Assert.Equal("", r.Stdout);
        }
    }

    /// <summary>The tiny model with one F32 weight of blk.1.ffn_down.weight (row 3, column 5) set to NaN, copied into a file of its own.</summary>
    [Fact]
    public void NonFiniteWeightIsOneClearLineAndNoOutput()
    {
        string dir = Directory.CreateTempSubdirectory("seek-quantize-nan-").FullName;
        try
        {
            string input = Path.Combine(dir, "nan.gguf"), output = Path.Combine(dir, "q.gguf");
            using (var source = GgufFile.Open(TinyModelBuilder.GetOrBuild(Legacy)))
            {
                var w = new GgufWriter(source.Version);
                foreach (var (key, value) in source.Metadata)
                    w.Set(key, value);
                foreach (var t in source.Tensors)
                {
                    byte[] bytes = source.GetTensorBytes(t).ToArray();
                    if (t.Name == "blk.1.ffn_down.weight")
                    {
                        Assert.Equal(GgmlType.F32, t.Type);
                        BitConverter.TryWriteBytes(bytes.AsSpan((int)(3 * t.Shape[0] + 5) * sizeof(float)), float.NaN);
                    }
                    w.AddTensor(t.Name, t.Type, t.Shape, bytes);
                }
                w.Write(input);
            }
            var r = SeekProcess.Run("quantize", input, output, "Q4_0");
            Assert.Equal(1, r.ExitCode);
            Assert.Equal($"seek: error: {input}: tensor 'blk.1.ffn_down.weight' holds NaN at row 3, column 5; a model with non-finite weights cannot be quantized",
                         r.Stderr.TrimEnd());
            Assert.Equal(["nan.gguf"], Directory.GetFiles(dir).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>
    /// Quantizes the model with seek and with llama.cpp (LLamaSharp's LLamaQuantizer, llama-quantize's defaults: output
    /// tensor quantized, no importance matrix), then requires the same tensors in the same order with the same types,
    /// byte-identical data (both use ggml's reference encoders), llama.cpp loading ours, and its perplexity within 1%.
    /// </summary>
    private static void CompareWithLlamaCpp(TinyModelOptions options, string type, LLamaFtype ftype)
    {
        string input = TinyModelBuilder.GetOrBuild(options);
        string dir = Directory.CreateTempSubdirectory("seek-quantize-").FullName;
        try
        {
            string ours = Path.Combine(dir, "ours.gguf"), theirs = Path.Combine(dir, "llama.gguf");
            var r = SeekProcess.Run("quantize", input, ours, type);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal("", r.Stdout);

            LlamaCpp.NativeLog.EnsureInitialized();
            Assert.True(LLamaQuantizer.Quantize(input, theirs, ftype, nthread: 1, allowRequantize: true, quantizeOutputTensor: true),
                $"llama.cpp could not quantize {input}{LlamaCpp.NativeLog.RecentErrors()}");

            using (var a = GgufFile.Open(ours))
            using (var b = GgufFile.Open(theirs))
            {
                Assert.Equal(b.Tensors.Select(t => (t.Name, t.Type)), a.Tensors.Select(t => (t.Name, t.Type)));
                Assert.Equal((uint)ftype, a.GetUInt32("general.file_type"));
                Assert.Equal(b.GetUInt32("general.file_type"), a.GetUInt32("general.file_type"));
                Assert.Equal(b.GetUInt32("general.quantization_version"), a.GetUInt32("general.quantization_version"));
                foreach (var t in a.Tensors)
                    Assert.True(a.GetTensorBytes(t).SequenceEqual(b.GetTensorBytes(b.GetTensor(t.Name))), $"tensor {t.Name} ({t.Type}) differs from llama.cpp's");
                Assert.Contains(a.Tensors, t => t.Type == QuantizationDefault(ftype)); // the mix did quantize something
            }

            string text = File.ReadAllText(Path.Combine(RealTokenizers.RepoRoot(), "tests", "data", "perplexity.txt"));
            double Ppl(string path)
            {
                using var m = LlamaCpp.Load(path, 128);
                return m.Perplexity(m.Tokenize(text, addSpecial: true, parseSpecial: false), 64).Value;
            }
            double pplOurs = Ppl(ours), pplTheirs = Ppl(theirs);
            Assert.InRange(pplOurs / pplTheirs, 0.99, 1.01);

            using var model = Model.Load(ours); // and SeekSharp runs it
            Assert.Equal(options.Layers, model.Config.BlockCount);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static GgmlType QuantizationDefault(LLamaFtype f) => f switch
    {
        LLamaFtype.MOSTLY_Q8_0 => GgmlType.Q8_0,
        LLamaFtype.MOSTLY_Q4_0 => GgmlType.Q4_0,
        LLamaFtype.MOSTLY_F16 => GgmlType.F16,
        LLamaFtype.MOSTLY_Q4_K_M => GgmlType.Q4_K,
        LLamaFtype.MOSTLY_Q5_K_M => GgmlType.Q5_K,
        LLamaFtype.MOSTLY_Q6_K => GgmlType.Q6_K,
        LLamaFtype.MOSTLY_Q2_K => GgmlType.Q2_K,
        LLamaFtype.MOSTLY_Q3_K_S or LLamaFtype.MOSTLY_Q3_K_M or LLamaFtype.MOSTLY_Q3_K_L => GgmlType.Q3_K,
        LLamaFtype.MOSTLY_Q4_K_S => GgmlType.Q4_K,
        LLamaFtype.MOSTLY_Q5_K_S => GgmlType.Q5_K,
        LLamaFtype.MOSTLY_IQ4_NL => GgmlType.IQ4_NL,
        LLamaFtype.MOSTLY_IQ4_XS => GgmlType.IQ4_XS,
        LLamaFtype.MOSTLY_IQ3_S or LLamaFtype.MOSTLY_IQ3_M => GgmlType.IQ3_S,
        _ => throw new ArgumentOutOfRangeException(nameof(f)),
    };
}

using System.Text;
using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.Kernels;

namespace SeekSharp.Conformance.Tests.Oracle;

/// <summary>
/// The oracle's own checks: llama.cpp accepts every tiny model the builder writes, reads back the shape it was
/// given, and the wrapper's evaluations are deterministic and consistent with each other.
/// </summary>
public sealed class LlamaCppTinyModelTests
{
    private const string Text =
        "the cat sat on the mat, and then there were more cats in the theatre. " +
        "Another sentence: numbers 12345, symbols <>&, and a newline\nat the end.";

    public static TheoryData<TinyArchitecture, GgmlType> ArchitecturesAndTypes()
    {
        var data = new TheoryData<TinyArchitecture, GgmlType>();
        foreach (var arch in new[] { TinyArchitecture.Llama, TinyArchitecture.Qwen2 })
            foreach (var type in new[] { GgmlType.F32, GgmlType.F16, GgmlType.Q8_0 })
                data.Add(arch, type);
        return data;
    }

    [Theory]
    [MemberData(nameof(ArchitecturesAndTypes))]
    public void LoadsWithTheShapeItWasBuiltWith(TinyArchitecture arch, GgmlType type)
    {
        var options = new TinyModelOptions { Architecture = arch, WeightType = type, Layers = 3, Heads = 4, KvHeads = 1, ContextLength = 320 };
        using var llama = LlamaCpp.Load(TinyModelBuilder.GetOrBuild(options));

        Assert.Equal(options.Layers, llama.LayerCount);
        Assert.Equal(options.Dim, llama.EmbeddingSize);
        Assert.Equal(options.Heads, llama.HeadCount);
        Assert.Equal(options.KvHeads, llama.KvHeadCount);
        Assert.Equal(options.ContextLength, llama.TrainContextLength);
        Assert.Equal(options.Tokenizer.VocabSize, llama.VocabSize);
        Assert.Equal(SyntheticBpeVocab.BosId, llama.BosId);
        Assert.Equal(SyntheticBpeVocab.EosId, llama.EosId);
        Assert.True(llama.AddBos);
    }

    [Theory]
    [InlineData(TinyArchitecture.Llama, 0)] // LLAMA_ROPE_TYPE_NORM: adjacent pairs
    [InlineData(TinyArchitecture.Qwen2, 2)] // LLAMA_ROPE_TYPE_NEOX: halves
    public void RopeModeIsTheOneSeekSharpMustMatch(TinyArchitecture arch, int expectedRopeType)
    {
        using var llama = LlamaCpp.Load(TinyModelBuilder.GetOrBuild(new TinyModelOptions { Architecture = arch }));
        Assert.Equal(expectedRopeType, llama.RopeTypeId);
    }

    [Theory]
    [MemberData(nameof(ArchitecturesAndTypes))]
    public void LogitsAreFiniteAndSpread(TinyArchitecture arch, GgmlType type)
    {
        using var llama = LlamaCpp.Load(TinyModelBuilder.GetOrBuild(new TinyModelOptions { Architecture = arch, WeightType = type }));
        var logits = llama.LastLogits(llama.Tokenize(Text, addSpecial: true, parseSpecial: false));

        Assert.Equal(llama.VocabSize, logits.Length);
        Assert.All(logits, v => Assert.True(float.IsFinite(v)));
        float min = logits.Min(), max = logits.Max();
        Assert.True(max - min > 1f, $"logits span only [{min}, {max}]");
    }

    [Theory]
    [MemberData(nameof(ArchitecturesAndTypes))]
    public void GreedyIsDeterministicAndNotConstant(TinyArchitecture arch, GgmlType type)
    {
        using var llama = LlamaCpp.Load(TinyModelBuilder.GetOrBuild(new TinyModelOptions { Architecture = arch, WeightType = type }));
        var prompt = llama.Tokenize(Text, addSpecial: true, parseSpecial: false);

        var first = llama.Greedy(prompt, 24);
        var second = llama.Greedy(prompt, 24);

        Assert.Equal(24, first.Length);
        Assert.Equal(first, second);
        Assert.True(first.Distinct().Count() > 3, $"greedy output barely varies: {string.Join(",", first)}");
        Assert.All(first, id => Assert.InRange(id, 0, llama.VocabSize - 1));
    }

    [Theory]
    [InlineData(TinyArchitecture.Llama, GgmlType.BF16)]
    [InlineData(TinyArchitecture.Llama, GgmlType.Q4_0)]
    [InlineData(TinyArchitecture.Qwen2, GgmlType.BF16)]
    [InlineData(TinyArchitecture.Qwen2, GgmlType.Q4_0)]
    public void OtherWeightTypesLoadAndEvaluate(TinyArchitecture arch, GgmlType type)
    {
        using var llama = LlamaCpp.Load(TinyModelBuilder.GetOrBuild(new TinyModelOptions { Architecture = arch, WeightType = type }));
        var logits = llama.LastLogits(llama.Tokenize(Text, addSpecial: true, parseSpecial: false));

        Assert.All(logits, v => Assert.True(float.IsFinite(v)));
        Assert.True(logits.Max() - logits.Min() > 1f);
    }

    [Fact]
    public void RealisticVocabWidthLoadsAndEvaluates()
    {
        var options = new TinyModelOptions
        {
            Architecture = TinyArchitecture.Qwen2, WeightType = GgmlType.Q8_0, TiedOutput = true,
            Tokenizer = TinyTokenizer.SyntheticPadded(151_936),
        };
        using var llama = LlamaCpp.Load(TinyModelBuilder.GetOrBuild(options));
        var prompt = llama.Tokenize(Text, addSpecial: true, parseSpecial: false)[..64];

        var logits = llama.LastLogits(prompt);

        Assert.Equal(151_936, llama.VocabSize);
        Assert.Equal(151_936, logits.Length);
        Assert.All(logits, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void GreedyFirstTokenIsTheArgMaxOfTheLastLogits()
    {
        using var llama = LlamaCpp.Load(TinyModelBuilder.GetOrBuild(new TinyModelOptions()));
        var prompt = llama.Tokenize(Text, addSpecial: true, parseSpecial: false);

        int expected = LlamaCpp.ArgMax(llama.LastLogits(prompt));

        Assert.Equal(expected, llama.Greedy(prompt, 1)[0]);
    }

    [Theory]
    [MemberData(nameof(ArchitecturesAndTypes))]
    public void PerplexityIsFiniteAndAboveOne(TinyArchitecture arch, GgmlType type)
    {
        using var llama = LlamaCpp.Load(TinyModelBuilder.GetOrBuild(new TinyModelOptions { Architecture = arch, WeightType = type }));
        var tokens = Repeat(llama.Tokenize(Text, addSpecial: true, parseSpecial: false), 200);

        var result = llama.Perplexity(tokens, nCtx: 64);

        Assert.Equal(tokens.Length / 64, result.Chunks);
        Assert.Equal(result.Chunks * (64 - 1 - 32), result.TokensScored);
        Assert.True(double.IsFinite(result.Value) && result.Value > 1, $"ppl = {result.Value}");
    }

    [Fact]
    public void PerplexityScoresTheSecondHalfOfEachChunkWithBosFirst()
    {
        // Recomputes llama-perplexity's definition from full-chunk logits: a wrong chunk start, a missing BOS
        // substitution or an off-by-one in the scored range changes a random model's perplexity by far more than
        // the tolerance, which only absorbs llama.cpp computing fewer output rows in the perplexity pass.
        const int nCtx = 32;
        using var llama = LlamaCpp.Load(TinyModelBuilder.GetOrBuild(new TinyModelOptions { Architecture = TinyArchitecture.Qwen2 }));
        var tokens = Repeat(llama.Tokenize(Text, addSpecial: true, parseSpecial: false), 3 * nCtx + 7);

        double nll = 0;
        int count = 0;
        for (int start = 0; start + nCtx <= tokens.Length; start += nCtx)
        {
            var chunk = tokens[start..(start + nCtx)];
            chunk[0] = llama.BosId!.Value;
            var rows = llama.AllLogits(chunk);
            for (int k = nCtx / 2; k < nCtx - 1; k++)
            {
                nll += LogSumExpMinusTarget(rows[k], tokens[start + k + 1]);
                count++;
            }
        }
        double expected = Math.Exp(nll / count);

        var actual = llama.Perplexity(tokens, nCtx);

        Assert.Equal(3, actual.Chunks);
        Assert.Equal(count, actual.TokensScored);
        Assert.Equal(expected, actual.Value, expected * 1e-4);
    }

    [Fact]
    public void TwoLoadsGiveBitIdenticalLogits()
    {
        string path = TinyModelBuilder.GetOrBuild(new TinyModelOptions { WeightType = GgmlType.Q8_0 });
        float[] first, second;
        int[] prompt;
        using (var llama = LlamaCpp.Load(path))
        {
            prompt = llama.Tokenize(Text, addSpecial: true, parseSpecial: false);
            first = llama.LastLogits(prompt);
        }
        using (var llama = LlamaCpp.Load(path))
            second = llama.LastLogits(prompt);

        Assert.Equal(first, second);
    }

    [Theory]
    [InlineData(GgmlType.F32)]
    [InlineData(GgmlType.Q8_0)]
    public void ThreadCountDoesNotChangeLogits(GgmlType type)
    {
        string path = TinyModelBuilder.GetOrBuild(new TinyModelOptions { Architecture = TinyArchitecture.Qwen2, WeightType = type });
        using var one = LlamaCpp.Load(path, threads: 1);
        using var two = LlamaCpp.Load(path, threads: 2);
        var prompt = one.Tokenize(Text, addSpecial: true, parseSpecial: false);

        Assert.Equal(one.LastLogits(prompt), two.LastLogits(prompt));
        Assert.Equal(one.LastLogits(prompt[..1]), two.LastLogits(prompt[..1])); // single-token batch: the decode-step shape
    }

    [Fact]
    public void SameOptionsWriteTheSameBytesAndASeedChangesThem()
    {
        var options = new TinyModelOptions { Architecture = TinyArchitecture.Qwen2, WeightType = GgmlType.F16 };
        using var a = new MemoryStream();
        using var b = new MemoryStream();
        using var c = new MemoryStream();
        TinyModelBuilder.CreateWriter(options).Write(a);
        TinyModelBuilder.CreateWriter(options).Write(b);
        TinyModelBuilder.CreateWriter(options with { Seed = 2 }).Write(c);

        Assert.Equal(a.ToArray(), b.ToArray());
        Assert.NotEqual(a.ToArray(), c.ToArray());
    }

    [Fact]
    public void TiedOutputLoadsAndDiffersFromUntied()
    {
        using var tied = LlamaCpp.Load(TinyModelBuilder.GetOrBuild(new TinyModelOptions { TiedOutput = true }));
        using var untied = LlamaCpp.Load(TinyModelBuilder.GetOrBuild(new TinyModelOptions()));
        var prompt = tied.Tokenize(Text, addSpecial: true, parseSpecial: false);

        var logits = tied.LastLogits(prompt);
        // A random tied model may settle into repeating one token during greedy decoding, so variety is checked
        // on the next-token prediction across prompt prefixes instead.
        var predictions = Enumerable.Range(1, 24).Select(n => LlamaCpp.ArgMax(tied.LastLogits(prompt[..n]))).ToArray();

        Assert.All(logits, v => Assert.True(float.IsFinite(v)));
        Assert.NotEqual(untied.LastLogits(prompt), logits);
        Assert.True(predictions.Distinct().Count() > 3, $"predictions barely vary: {string.Join(",", predictions)}");
    }

    [Fact]
    public void Llama3RopeFreqsTensorIsUsedByLlamaCpp()
    {
        var plain = new TinyModelOptions();
        var scaled = plain with { Llama3Scaling = new Llama3RopeScaling(Factor: 8, OriginalContextLength: 64) };
        using var a = LlamaCpp.Load(TinyModelBuilder.GetOrBuild(plain));
        using var b = LlamaCpp.Load(TinyModelBuilder.GetOrBuild(scaled));
        var prompt = a.Tokenize(Text, addSpecial: true, parseSpecial: false);

        var withoutScaling = a.LastLogits(prompt);
        var withScaling = b.LastLogits(prompt);

        // Same seed, so only the rotary frequencies differ; position 0 is not rotated, so only later positions can differ.
        Assert.All(withScaling, v => Assert.True(float.IsFinite(v)));
        Assert.NotEqual(withoutScaling, withScaling);
        Assert.Equal(a.LastLogits(prompt[..1]), b.LastLogits(prompt[..1]));
    }

    [Fact]
    public void Llama3RopeFactorsRunFromOneToTheFactor()
    {
        var factors = TinyModelBuilder.Llama3RopeFactors(new Llama3RopeScaling(Factor: 8, OriginalContextLength: 64), 10000f, headDim: 16);

        Assert.Equal(8, factors.Length);
        Assert.Equal(1f, factors[0]);   // wavelength 2*pi, shorter than 64/4
        Assert.Equal(8f, factors[^1]);  // wavelength ~2e4, longer than 64/1
        Assert.Contains(factors, f => f > 1f && f < 8f);
        for (int i = 1; i < factors.Length; i++)
            Assert.True(factors[i] >= factors[i - 1], "factors grow with the wavelength");
    }

    [Fact]
    public void Qwen2WithoutBiasesLoadsAndDiffers()
    {
        using var withBias = LlamaCpp.Load(TinyModelBuilder.GetOrBuild(new TinyModelOptions { Architecture = TinyArchitecture.Qwen2 }));
        using var noBias = LlamaCpp.Load(TinyModelBuilder.GetOrBuild(new TinyModelOptions { Architecture = TinyArchitecture.Qwen2, QkvBias = false }));
        var prompt = withBias.Tokenize(Text, addSpecial: true, parseSpecial: false);

        Assert.NotEqual(withBias.LastLogits(prompt), noBias.LastLogits(prompt));
    }

    [Fact]
    public void VocabOnlyLoadTokenizesLikeTheFullLoadAndRoundTrips()
    {
        string path = TinyModelBuilder.GetOrBuild(new TinyModelOptions());
        using var vocab = LlamaCpp.LoadVocabOnly(path);
        using var full = LlamaCpp.Load(path);

        var ids = vocab.Tokenize(Text, addSpecial: true, parseSpecial: false);

        Assert.Equal(full.Tokenize(Text, addSpecial: true, parseSpecial: false), ids);
        Assert.Equal(SyntheticBpeVocab.BosId, ids[0]);
        Assert.True(ids.Length < Encoding.UTF8.GetByteCount(Text), "the merges should shorten the byte sequence");
        var bytes = ids.Skip(1).SelectMany(id => vocab.TokenBytes(id)).ToArray();
        Assert.Equal(Text, Encoding.UTF8.GetString(bytes));
        Assert.Equal("<|bos|>", vocab.TokenToPiece(SyntheticBpeVocab.BosId));
        Assert.Equal([SyntheticBpeVocab.EosId], vocab.Tokenize("<|eos|>", addSpecial: false, parseSpecial: true));
        Assert.Throws<InvalidOperationException>(() => vocab.LastLogits(ids));
    }

    [Fact]
    public void PromptLongerThanTheContextIsRejected()
    {
        using var llama = LlamaCpp.Load(TinyModelBuilder.GetOrBuild(new TinyModelOptions()), contextSize: 256);
        Assert.Throws<ArgumentException>(() => llama.LastLogits(new int[llama.ContextSize + 1]));
    }

    private static int[] Repeat(int[] tokens, int length)
    {
        var result = new int[length];
        for (int i = 0; i < length; i++)
            result[i] = tokens[i % tokens.Length];
        return result;
    }

    // Independent of the oracle's NLL helper: log-softmax in double throughout.
    private static double LogSumExpMinusTarget(float[] logits, int target)
    {
        double max = logits.Max();
        double sum = 0;
        foreach (float v in logits)
            sum += Math.Exp(v - max);
        return max + Math.Log(sum) - logits[target];
    }
}

using SeekSharp.Gguf;
using SeekSharp.Kernels;
using SeekSharp.Models;

namespace SeekSharp.Tests.Models;

/// <summary>Issue 16: ModelConfig range-checks metadata where it reads it, naming the key, the accepted range and the value.</summary>
public class ModelConfigValidationTests
{
    private static ModelConfig Read(Action<GgufWriter> edit)
    {
        var w = new GgufWriter();
        w.Set("general.architecture", "llama");
        w.Set("llama.context_length", 256u);
        w.Set("llama.embedding_length", 64u);
        w.Set("llama.block_count", 2u);
        w.Set("llama.feed_forward_length", 128u);
        w.Set("llama.attention.head_count", 4u);
        w.Set("llama.attention.head_count_kv", 2u);
        w.Set("llama.attention.layer_norm_rms_epsilon", 1e-5f);
        w.AddTensor("token_embd.weight", GgmlType.F32, [64, 10], new float[640]);
        edit(w);
        string path = Path.Combine(Path.GetTempPath(), $"seek-config-{Guid.NewGuid():N}.gguf");
        try
        {
            w.Write(path);
            using var file = GgufFile.Open(path);
            return ModelConfig.FromGguf(file);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void AValidHeaderReads()
    {
        var c = Read(_ => { });
        Assert.Equal(256, c.ContextLength);
        Assert.Equal(16, c.HeadDim);
        Assert.Equal(10, c.VocabSize);
        Assert.Equal(16, c.RopeDimensionCount);
    }

    [Theory]
    [InlineData("llama.context_length", 0xFFFFFFFFu, "llama.context_length is 4294967295; expected 1 to 16777216")]
    [InlineData("llama.context_length", 0u, "llama.context_length is 0; expected 1 to 16777216")]
    [InlineData("llama.embedding_length", 0x80000000u, "llama.embedding_length is 2147483648; expected 1 to 1048576")]
    [InlineData("llama.block_count", 0u, "llama.block_count is 0; expected 1 to 65536")]
    [InlineData("llama.attention.head_count", 0u, "llama.attention.head_count is 0; expected 1 to 65536")]
    [InlineData("llama.attention.head_count_kv", 8u, "llama.attention.head_count_kv is 8; expected 1 to 4")]
    [InlineData("llama.attention.head_count_kv", 3u, "head_count (4) must be a multiple of head_count_kv (3)")]
    [InlineData("llama.attention.key_length", 0xFFFFFFFFu, "llama.attention.key_length is 4294967295; expected 1 to 1048576")]
    [InlineData("llama.vocab_size", 0xFFFFFFFFu, "llama.vocab_size is 4294967295; expected 1 to 16777216")]
    [InlineData("llama.rope.dimension_count", 18u, "llama.rope.dimension_count is 18; expected 0 to 16")]
    [InlineData("llama.rope.dimension_count", 5u, "rope.dimension_count (5) must be even")]
    public void OutOfRangeValuesAreModelLoadErrorsNamingKeyRangeAndValue(string key, uint value, string expected)
    {
        var e = Assert.Throws<ModelLoadException>(() => Read(w => w.Set(key, value)));
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("llama.attention.layer_norm_rms_epsilon", float.NaN)]
    [InlineData("llama.attention.layer_norm_rms_epsilon", 0f)]
    [InlineData("llama.rope.freq_base", float.PositiveInfinity)]
    [InlineData("llama.rope.freq_base", -1f)]
    public void NonPositiveOrNonFiniteFloatsAreRefused(string key, float value)
    {
        var e = Assert.Throws<ModelLoadException>(() => Read(w => w.Set(key, value)));
        Assert.Contains($"{key} is", e.Message);
        Assert.Contains("expected a finite number more than 0", e.Message);
    }

    [Fact]
    public void ZeroLinearRopeScalingFactorIsRefused()
    {
        var e = Assert.Throws<ModelLoadException>(() => Read(w =>
        {
            w.Set("llama.rope.scaling.type", "linear");
            w.Set("llama.rope.scaling.factor", 0f);
        }));
        Assert.Contains("llama.rope.scaling.factor is 0", e.Message);
    }
}

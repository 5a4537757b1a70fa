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

    // A deepseek2 header as llama.cpp's converter writes V3's (split k_b/v_b widths in the *_mla keys), scaled down.
    private static ModelConfig ReadDeepSeek2(Action<GgufWriter> edit) => Read(w =>
    {
        w.Set("general.architecture", "deepseek2");
        foreach (var (key, value) in new (string, object)[]
        {
            ("context_length", 256u), ("embedding_length", 64u), ("block_count", 3u), ("feed_forward_length", 128u),
            ("attention.head_count", 4u), ("attention.head_count_kv", 1u), ("attention.key_length", 80u), ("attention.value_length", 64u),
            ("attention.key_length_mla", 48u), ("attention.value_length_mla", 32u), ("attention.q_lora_rank", 32u), ("attention.kv_lora_rank", 64u),
            ("attention.layer_norm_rms_epsilon", 1e-6f), ("rope.dimension_count", 16u), ("rope.scaling.type", "yarn"),
            ("rope.scaling.factor", 40f), ("rope.scaling.original_context_length", 64u), ("rope.scaling.yarn_log_multiplier", 0.0707f),
            ("leading_dense_block_count", 1u), ("expert_count", 8u), ("expert_used_count", 3u), ("expert_shared_count", 1u),
            ("expert_feed_forward_length", 32u), ("expert_weights_scale", 2.5f), ("expert_weights_norm", true), ("expert_gating_func", 2u),
            ("expert_group_count", 4u), ("expert_group_used_count", 2u),
        })
            w.Set("deepseek2." + key, value);
        edit(w);
    });

    [Fact]
    public void ADeepSeek2HeaderReadsItsMlaExpertsAndYarn()
    {
        var c = ReadDeepSeek2(_ => { });
        Assert.Equal(new MlaConfig(32, 64, 32, 16, 32, SplitKvB: false), c.Mla);
        Assert.Equal((48, 32, 4), (c.HeadDim, c.ValueHeadDim, c.HeadCountKv));
        Assert.Equal(new KvLayout(80, 64, ValuesInKeys: true), c.CacheLayout);
        Assert.Equal(new MoeConfig(8, 3, 1, 32, 1, ExpertGating.Sigmoid, true, 2.5f, 4, 2, HasCorrectionBias: false), c.Moe);
        Assert.Equal(0.707f, c.Yarn!.MscaleAllDim, 4);
        Assert.Equal(1f / 40, c.RopeFreqScale);
    }

    [Theory]
    [InlineData("expert_used_count", 9u, "deepseek2.expert_used_count is 9; expected 1 to 8")]
    [InlineData("expert_group_count", 3u, "mixture of experts")]
    [InlineData("expert_group_used_count", 5u, "deepseek2.expert_group_used_count is 5; expected 1 to 4")]
    [InlineData("attention.key_length_mla", 8u, "deepseek2.rope.dimension_count is 16; expected 0 to 8")]
    [InlineData("leading_dense_block_count", 4u, "deepseek2.leading_dense_block_count is 4; expected 0 to 3")]
    public void InconsistentDeepSeek2HeadersNameTheProblem(string key, uint value, string expected)
    {
        var e = Assert.Throws<ModelLoadException>(() => ReadDeepSeek2(w => w.Set("deepseek2." + key, value)));
        Assert.Contains(expected, e.Message);
    }
}

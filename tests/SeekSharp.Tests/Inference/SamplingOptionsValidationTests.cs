using SeekSharp.Inference.Sampling;

namespace SeekSharp.Tests.Inference;

/// <summary>Issue 16: sampling settings are validated once, in <see cref="SamplingOptions.Validate"/>, and by every <see cref="Sampler"/>.</summary>
public class SamplingOptionsValidationTests
{
    public static TheoryData<SamplingOptions, string> Invalid => new()
    {
        { new SamplingOptions { Temperature = float.NaN }, "Temperature must be a finite number of 0 or more (0 is greedy), got NaN" },
        { new SamplingOptions { Temperature = -1f }, "Temperature must be a finite number of 0 or more (0 is greedy), got -1" },
        { new SamplingOptions { Temperature = float.PositiveInfinity }, "got Infinity" },
        { new SamplingOptions { TopP = float.NaN }, "TopP must be between 0 and 1 (1 disables it; 0 keeps only the most likely token), got NaN" },
        { new SamplingOptions { TopP = -0.1f }, "TopP must be between 0 and 1" },
        { new SamplingOptions { TopP = 2f }, "got 2" },
        { new SamplingOptions { TopK = -3 }, "TopK must be 0 or more (0 disables it), got -3" },
        { new SamplingOptions { MinP = -0.1f }, "MinP must be between 0 and 1" },
        { new SamplingOptions { MinP = float.NaN }, "MinP must be between 0 and 1" },
        { new SamplingOptions { RepeatPenalty = 0f }, "RepeatPenalty must be a finite number more than 0 (1 disables it), got 0" },
        { new SamplingOptions { RepeatPenalty = float.NaN }, "RepeatPenalty must be a finite number more than 0" },
        { new SamplingOptions { RepeatPenalty = -1f }, "got -1" },
        { new SamplingOptions { PresencePenalty = float.NaN }, "PresencePenalty must be a finite number" },
        { new SamplingOptions { FrequencyPenalty = float.NegativeInfinity }, "FrequencyPenalty must be a finite number" },
        { new SamplingOptions { PenaltyLastN = -1 }, "PenaltyLastN must be 0 or more" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void OutOfRangeSettingsAreRefusedWithNameAndValue(SamplingOptions options, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => options.Validate());
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain("(Parameter", e.Message);
        Assert.Throws<ArgumentException>(() => new Sampler(options, 8));
    }

    [Fact]
    public void TheNameMapperNamesTheFlag()
    {
        var e = Assert.Throws<ArgumentException>(() => new SamplingOptions { TopK = -3 }.Validate(p => p == "TopK" ? "--top-k" : p));
        Assert.Equal("--top-k must be 0 or more (0 disables it), got -3", e.Message);
    }

    [Fact]
    public void DefaultsGreedyAndEdgesAreValid()
    {
        new SamplingOptions().Validate();
        SamplingOptions.Greedy.Validate();
        new SamplingOptions { Temperature = 0f, TopK = 0, TopP = 1f, MinP = 0f, RepeatPenalty = 0.5f, PresencePenalty = -2f, FrequencyPenalty = 2f, PenaltyLastN = 0 }.Validate();
        new SamplingOptions { MinP = 1f, TopP = 1e-6f }.Validate();
        new SamplingOptions { TopP = 0f }.Validate(); // OpenAI's API accepts 0: the most likely token alone
    }
}

using SeekSharp.Models;
using SeekSharp.Training.Recipes.Common;

namespace SeekSharp.Training.Tests.Recipes.Common;

public class TrainConfigTests
{
    static TrainConfig Parse(string json)
    {
        string path = Path.Combine(Path.GetTempPath(), $"config-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        try { return TrainConfig.Load(path); }
        finally { File.Delete(path); }
    }

    [Fact]
    public void OmittedFieldsKeepTheirDefaultsAndCommentsAreAllowed()
    {
        var c = Parse("// a run\n{ \"steps\": 7, \"model\": { \"embeddingLength\": 64, \"headCount\": 4, \"headCountKv\": 2 }, }");
        Assert.Equal(7, c.Steps);
        Assert.Equal(64, c.Model.EmbeddingLength);
        Assert.Equal(16, c.Model.HeadDim);
        Assert.Equal(new TrainConfig().Model.BlockCount, c.Model.BlockCount);
        Assert.Equal(new TrainConfig().LearningRate, c.LearningRate);
        Assert.Equal("addition", Assert.Single(c.Tasks).Name);
    }

    [Fact]
    public void TheModelIsAModelConfigUnderItsOwnNames_AndTheOldNamesSayTheNewOnes()
    {
        var c = Parse("{ \"model\": { \"contextLength\": 128, \"embeddingLength\": 32, \"blockCount\": 2, \"headCount\": 4, " +
            "\"headCountKv\": 2, \"feedForwardLength\": 48, \"normEpsilon\": 1e-6, \"ropeFreqBase\": 500, \"tiedEmbeddings\": true }, \"seqLen\": 64 }");
        Assert.Equal(ModelConfig.Llama(1, 128, 32, 2, 4, 2, 48, 1e-6f, 500f, tiedEmbeddings: true), c.Model);
        // What a run saves beside its outputs reads back to the same config.
        string path = Path.Combine(Path.GetTempPath(), $"seek-config-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, c.ToJson());
        try { Assert.Equal(c.Model, TrainConfig.Load(path).Model); }
        finally { File.Delete(path); }

        Assert.Contains("model.embeddingLength", Assert.Throws<ArgumentException>(() => Parse("{ \"model\": { \"dim\": 64 } }")).Message);
        Assert.Contains("top-level", Assert.Throws<ArgumentException>(() => Parse("{ \"model\": { \"initStd\": 0.1 } }")).Message);
        Assert.Contains("into 3 heads", Assert.Throws<ArgumentException>(() => Parse("{ \"model\": { \"headCount\": 3 } }")).Message);
        Assert.Contains("integer", Assert.Throws<ArgumentException>(() => Parse("{ \"model\": { \"blockCount\": \"four\" } }")).Message);
    }

    [Fact]
    public void ATypoedKeyIsAnErrorInsteadOfASilentDefault()
    {
        var e = Assert.Throws<ArgumentException>(() => Parse("{ \"steps\": 3, \"stepz\": 3 }"));
        Assert.Contains("stepz", e.Message);
    }

    [Theory]
    [InlineData("{ \"steps\": 0 }", "steps")]
    [InlineData("{ \"tasks\": [{ \"name\": \"poetry\" }] }", "poetry")]
    [InlineData("{ \"seqLen\": 512 }", "contextLength")]
    [InlineData("{ \"grpo\": { \"groupSize\": 1 } }", "groupSize")]
    [InlineData("{ \"maxHistoryTurns\": -1 }", "maxHistoryTurns")]
    [InlineData("{ \"promptNoise\": 1.5 }", "promptNoise")]
    public void OutOfRangeValuesNameTheField(string json, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => Parse(json));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void TheSavedConfigReadsBackEqual()
    {
        var c = Parse("{ \"steps\": 5, \"tasks\": [{ \"name\": \"countdown\", \"weight\": 2 }] }");
        var again = Parse(c.ToJson());
        Assert.Equal(c.Steps, again.Steps);
        Assert.Equal(c.Tasks, again.Tasks);
        Assert.Equal(c.Model, again.Model);
        Assert.Equal(c.Grpo, again.Grpo);
    }
}

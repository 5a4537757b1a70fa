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
        var c = Parse("// a run\n{ \"steps\": 7, \"model\": { \"dim\": 64, \"heads\": 4, \"kvHeads\": 2 }, }");
        Assert.Equal(7, c.Steps);
        Assert.Equal(64, c.Model.Dim);
        Assert.Equal(new ModelShape().Layers, c.Model.Layers);
        Assert.Equal(new TrainConfig().LearningRate, c.LearningRate);
        Assert.Equal("addition", Assert.Single(c.Tasks).Name);
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

using SeekSharp.Training.Recipes.Common;

namespace SeekSharp.Training.Tests.Recipes.Common;

public class RunLogTests
{
    [Fact]
    public void AResumedLogDropsRowsAfterTheCheckpointStepAndRejectsOtherColumns()
    {
        string path = Path.Combine(Path.GetTempPath(), $"log-{Guid.NewGuid():N}.csv");
        try
        {
            using (var log = new RunLog(path, ["loss"], null))
                for (int s = 1; s <= 5; s++) log.Write(s, [s * 0.5]);
            using (var log = new RunLog(path, ["loss"], 3))
                log.Write(4, [9]);
            var (names, steps, values) = RunLog.Read(path);
            Assert.Equal(["loss"], names);
            Assert.Equal([1.0, 2, 3, 4], steps);
            Assert.Equal([0.5, 1, 1.5, 9], values[0]);
            Assert.Throws<InvalidDataException>(() => new RunLog(path, ["reward"], 2));
        }
        finally
        {
            File.Delete(path);
        }
    }
}

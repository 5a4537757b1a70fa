using SeekSharp.Gguf;
using SeekSharp.Kernels;

namespace SeekSharp.Tests.Gguf;

/// <summary>
/// A tensor the model has copied (a part-major matrix) gives its file pages back to the system: reading it afterwards
/// must still give the file's bytes, mapped back in from the file.
/// </summary>
public class GgufReleasePagesTests
{
    [Fact]
    public unsafe void ATensorReadsTheSameAfterItsPagesAreReleased()
    {
        var rng = new Random(9);
        var data = new float[3 * 16384 + 250];   // several whole pages, and parts of the pages at either end
        var before = new float[1250];
        for (int i = 0; i < data.Length; i++) data[i] = (float)rng.NextDouble();
        for (int i = 0; i < before.Length; i++) before[i] = (float)rng.NextDouble();
        var w = new GgufWriter();
        w.AddTensor("before", GgmlType.F32, [before.Length], before);
        w.AddTensor("t", GgmlType.F32, [data.Length], data);
        string path = Path.Combine(Path.GetTempPath(), $"seeksharp-release-{Guid.NewGuid():N}.gguf");
        try
        {
            w.Write(path);
            using var file = GgufFile.Open(path);
            var t = file.FindTensor("t")!;
            byte* p = file.GetTensorPointer(t);
            Assert.Equal(data, new ReadOnlySpan<float>(p, data.Length).ToArray());   // pages now in the process
            file.ReleaseTensorPages(t);
            Assert.Equal(data, new ReadOnlySpan<float>(p, data.Length).ToArray());
            var b = file.FindTensor("before")!;
            Assert.Equal(before, new ReadOnlySpan<float>(file.GetTensorPointer(b), before.Length).ToArray());   // a neighbour's shared page intact
        }
        finally
        {
            File.Delete(path);
        }
    }
}

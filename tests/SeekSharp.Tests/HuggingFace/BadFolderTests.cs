using SeekSharp.Conformance.Tests.TinyModels;
using SeekSharp.HuggingFace;
using SeekSharp.Models;
using SeekSharp.Safetensors;

namespace SeekSharp.Tests.HuggingFace;

/// <summary>Damaged folders: a typed error naming the file and the tensor (or key), and no output file left behind.</summary>
public sealed class BadFolderTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("seek-hf-bad-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("truncated shard", typeof(SafetensorsFormatException), "model-00002-of-00003.safetensors")]
    [InlineData("missing tensor", typeof(ModelLoadException), "config.json")]
    [InlineData("shape mismatch", typeof(SafetensorsFormatException), "model.safetensors")]
    [InlineData("shard outside", typeof(SafetensorsFormatException), "model.safetensors.index.json")]
    [InlineData("overlapping offsets", typeof(SafetensorsFormatException), "model.safetensors")]
    [InlineData("unknown architecture", typeof(ModelLoadException), "config.json")]
    [InlineData("missing key", typeof(ModelLoadException), "config.json")]
    public void Convert_and_load_fail_naming_file_and_tensor_and_write_nothing(string problem, Type exceptionType, string file)
    {
        string folder = Path.Combine(_dir, "model");
        var o = problem is "truncated shard" or "shard outside"
            ? new TinyHfOptions { ModelType = "llama", Tokenizer = "llama3_1", Shards = 3, Layers = 1 }
            : new TinyHfOptions { ModelType = "llama", Tokenizer = "llama3_1", Layers = 1 };
        TinyHfFolder.Build(o, folder);
        string expected = BadFolderCases.Break(problem, folder);
        string output = Path.Combine(_dir, "out.gguf");

        var e = Assert.Throws(exceptionType, () => HuggingFaceFolder.Convert(folder, output, HfWeightType.F32));
        Assert.Contains(file, e.Message);
        Assert.Contains(expected, e.Message);
        Assert.False(File.Exists(output));
        Assert.Empty(Directory.EnumerateFiles(_dir, ".out.gguf.tmp-*"));

        var load = Assert.Throws(exceptionType, () => Model.Load(folder));
        Assert.Contains(expected, load.Message);
    }

    [Fact]
    public void A_conversion_cancelled_midway_leaves_no_file_and_keeps_an_existing_one()
    {
        string folder = TinyHfFolder.Build(new TinyHfOptions { ModelType = "llama", Tokenizer = "llama3_1", Layers = 1 }, Path.Combine(_dir, "model"));
        string output = Path.Combine(_dir, "out.gguf");
        File.WriteAllText(output, "previous");
        using var cts = new CancellationTokenSource();
        var progress = new CancelAfter(3, cts);
        Assert.ThrowsAny<OperationCanceledException>(() => HuggingFaceFolder.Convert(folder, output, HfWeightType.F32, progress: progress, cancellationToken: cts.Token));
        Assert.Equal("previous", File.ReadAllText(output));
        Assert.Empty(Directory.EnumerateFiles(_dir, ".out.gguf.tmp-*"));
        Assert.True(progress.Reports >= 3);
    }

    sealed class CancelAfter(int n, CancellationTokenSource cts) : IProgress<ConvertProgress>
    {
        public int Reports;

        public void Report(ConvertProgress value)
        {
            if (++Reports == n) cts.Cancel();
        }
    }
}

using System.Text.Json;
using SeekSharp.Safetensors;

namespace SeekSharp.Tests.Safetensors;

public sealed class SafetensorsCheckpointTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("seek-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    void Shard(string name, params string[] tensors)
    {
        var w = new SafetensorsWriter();
        foreach (var t in tensors) w.Add(t, [2], [1f, 2f]);
        w.Write(Path.Combine(_dir, name));
    }

    void Index(params (string Tensor, string Shard)[] map) =>
        File.WriteAllText(Path.Combine(_dir, SafetensorsCheckpoint.IndexFileName),
            JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = map.ToDictionary(m => m.Tensor, m => m.Shard) }));

    [Fact]
    public void Sharded_folder_maps_every_tensor_to_its_shard()
    {
        Shard("model-00001-of-00002.safetensors", "a", "b");
        Shard("model-00002-of-00002.safetensors", "c");
        Index(("a", "model-00001-of-00002.safetensors"), ("b", "model-00001-of-00002.safetensors"), ("c", "model-00002-of-00002.safetensors"));
        using var ckpt = SafetensorsCheckpoint.Open(_dir);
        Assert.Equal(2, ckpt.Files.Count);
        Assert.Equal(["a", "b", "c"], ckpt.TensorNames);
        Assert.EndsWith("model-00002-of-00002.safetensors", ckpt.Find("c")!.Value.File.Path);
    }

    [Fact]
    public void Unindexed_folder_reads_model_safetensors()
    {
        Shard("model.safetensors", "a");
        using var ckpt = SafetensorsCheckpoint.Open(_dir);
        Assert.True(ckpt.Contains("a"));
    }

    [Fact]
    public void Shard_outside_the_folder_is_refused()
    {
        Shard("model.safetensors", "a");
        Index(("a", "../model.safetensors"));
        var e = Assert.Throws<SafetensorsFormatException>(() => SafetensorsCheckpoint.Open(_dir));
        Assert.Equal("a", e.TensorName);
        Assert.Contains("lies outside the model folder", e.Message);
        Index(("a", "/etc/passwd"));
        Assert.Contains("lies outside the model folder", Assert.Throws<SafetensorsFormatException>(() => SafetensorsCheckpoint.Open(_dir)).Message);
    }

    [Fact]
    public void Missing_shard_is_named()
    {
        Shard("model-00001-of-00002.safetensors", "a");
        Index(("a", "model-00001-of-00002.safetensors"), ("b", "model-00002-of-00002.safetensors"));
        var e = Assert.Throws<SafetensorsFormatException>(() => SafetensorsCheckpoint.Open(_dir));
        Assert.Equal("b", e.TensorName);
        Assert.Contains("shard 'model-00002-of-00002.safetensors' does not exist", e.Message);
    }

    [Fact]
    public void Tensor_missing_from_its_shard_is_named_with_the_shard()
    {
        Shard("model-00001-of-00001.safetensors", "a");
        Index(("a", "model-00001-of-00001.safetensors"), ("b", "model-00001-of-00001.safetensors"));
        var e = Assert.Throws<SafetensorsFormatException>(() => SafetensorsCheckpoint.Open(_dir));
        Assert.Equal("b", e.TensorName);
        Assert.EndsWith("model-00001-of-00001.safetensors", e.FilePath);
        Assert.Contains("the shard does not hold it", e.Message);
    }

    [Fact]
    public void Tensor_the_index_does_not_list_is_refused()
    {
        Shard("model-00001-of-00001.safetensors", "a", "stray");
        Index(("a", "model-00001-of-00001.safetensors"));
        var e = Assert.Throws<SafetensorsFormatException>(() => SafetensorsCheckpoint.Open(_dir));
        Assert.Equal("stray", e.TensorName);
    }

    [Fact]
    public void Folder_without_weights_is_a_file_not_found()
    {
        Assert.Throws<FileNotFoundException>(() => SafetensorsCheckpoint.Open(_dir));
    }
}

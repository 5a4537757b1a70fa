using System.Runtime.InteropServices;
using SeekSharp.Safetensors;

namespace SeekSharp.Tests.Safetensors;

public sealed class SafetensorsFileTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("seek-st-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Written_file_reads_back_with_the_same_tensors_bytes_and_metadata()
    {
        var w = new SafetensorsWriter();
        w.SetMetadata("format", "pt");
        var a = Enumerable.Range(0, 6).Select(i => i * 0.5f - 1f).ToArray();
        w.Add("a.weight", [2, 3], a);
        var b = new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 };
        w.Add("b", SafetensorsDType.BF16, [4], b);
        w.Add("scalar", SafetensorsDType.F8E4M3, [], new byte[] { 0x38 });
        w.Add("empty", SafetensorsDType.F16, [0, 5], ReadOnlyMemory<byte>.Empty);
        string path = Path.Combine(_dir, "model.safetensors");
        w.Write(path);

        using var f = SafetensorsFile.Open(path);
        Assert.Equal("pt", f.Metadata["format"]);
        Assert.Equal(["a.weight", "b", "scalar", "empty"], f.Tensors.Select(t => t.Name));
        Assert.Equal(0, f.DataOffset % 8);
        var ta = f.Find("a.weight")!;
        Assert.Equal(SafetensorsDType.F32, ta.DType);
        Assert.Equal([2L, 3L], ta.Shape);
        Assert.Equal(a, MemoryMarshal.Cast<byte, float>(f.GetBytes(ta)).ToArray());
        Assert.Equal(b, f.GetBytes(f.Find("b")!).ToArray());
        Assert.Equal([(byte)0x38], f.GetBytes(f.Find("scalar")!).ToArray());
        Assert.Equal(0, f.Find("empty")!.ByteSize);
        Assert.Null(f.Find("missing"));
    }

    public static TheoryData<string, string, int, string> BadHeaders() => new()
    {
        // label, header JSON, data bytes, expected message fragment
        { "not an object", "[1, 2]", 0, "start with '{'" },
        { "bad json", "{\"a\": {\"dtype\": \"F32\", ", 0, "not valid JSON" },
        { "unknown dtype", "{\"a\":{\"dtype\":\"F12\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "dtype 'F12' is not a safetensors type" },
        { "missing dtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'a': the entry has no 'dtype'" },
        { "missing shape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "tensor 'a': the entry has no 'shape'" },
        { "missing offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "tensor 'a': the entry has no 'data_offsets'" },
        { "negative dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "'shape' must hold non-negative integers, found -1" },
        { "fractional dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, "'shape' must hold non-negative integers, found 1.5" },
        { "three offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8, "'data_offsets' has more than 2 values" },
        { "end before begin", "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,0]}}", 4, "data_offsets [4, 0] end before they begin" },
        { "past the end", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, "tensor 'a': data_offsets [0, 16] run past the end of the data section (8 bytes)" },
        { "shape vs bytes", "{\"a\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[0,8]}}", 8, "tensor 'a': shape [2, 3] of BF16 needs 12 bytes but data_offsets [0, 8] hold 8" },
        { "overflowing shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4, "has more elements than a file can hold" },
        { "overflowing bytes", "{\"a\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,4]}}", 4, "needs" },
        { "overlap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "tensor 'b': data_offsets [4, 12] overlap tensor 'a' at [0, 8]" },
        { "duplicate", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2, "tensor 'a': the tensor is listed twice" },
        { "extra field", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":1}}", 1, "unexpected field 'x'" },
        { "metadata not strings", "{\"__metadata__\":{\"format\":1}}", 0, "'__metadata__.format' must be a string" },
        { "entry not object", "{\"a\":5}", 0, "tensor 'a': expected an object" },
        { "trailing garbage", "{} x", 0, "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(BadHeaders))]
    public void Invalid_headers_are_refused_naming_the_problem(string label, string json, int dataBytes, string fragment)
    {
        var e = Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.FromBytes(RawSafetensors.Build(json, dataBytes), label));
        Assert.Contains(fragment, e.Message);
        Assert.StartsWith($"safetensors file '{label}'", e.Message);
    }

    [Fact]
    public void Header_length_beyond_the_file_or_the_limit_is_refused()
    {
        var header = "{}"u8.ToArray();
        var e = Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.FromBytes(RawSafetensors.Build(header, [], declaredLength: 1000), "f"));
        Assert.Contains("header length 1000 runs past the end of the file (10 bytes", e.Message);
        e = Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.FromBytes(RawSafetensors.Build(header, [], declaredLength: ulong.MaxValue), "f"));
        Assert.Contains("larger than the 100000000-byte limit", e.Message);
        e = Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.FromBytes(new byte[5], "f"));
        Assert.Contains("only 5 bytes long", e.Message);
    }

    [Fact]
    public void A_truncated_file_names_the_first_tensor_that_no_longer_fits()
    {
        var w = new SafetensorsWriter();
        w.Add("first", [4], new float[4]);
        w.Add("second", [4], new float[4]);
        byte[] whole = w.ToBytes();
        string path = Path.Combine(_dir, "cut.safetensors");
        File.WriteAllBytes(path, whole[..^5]);
        var e = Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.Open(path));
        Assert.Equal(path, e.FilePath);
        Assert.Equal("second", e.TensorName);
        Assert.Contains("the file is truncated", e.Message);
    }

    [Fact]
    public void A_pointer_is_only_given_for_the_files_own_tensors()
    {
        var w = new SafetensorsWriter();
        w.Add("a", [1], new float[1]);
        using var f = SafetensorsFile.FromBytes(w.ToBytes(), "f");
        var foreign = f.Find("a")! with { End = 1 << 30 };
        Assert.Throws<ArgumentException>(() => f.GetBytes(foreign));
    }
}

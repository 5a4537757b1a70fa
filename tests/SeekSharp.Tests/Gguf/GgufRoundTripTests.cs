using System.Runtime.InteropServices;
using SeekSharp.Gguf;
using SeekSharp.Kernels;

namespace SeekSharp.Tests.Gguf;

public sealed class GgufRoundTripTests
{
    [Fact]
    public void Every_value_type_round_trips_with_type_and_order()
    {
        var writer = GgufTestData.WithEveryValueType(new GgufWriter());
        using var file = GgufFile.FromBytes(writer.ToBytes(), "mem.gguf");
        var expected = writer.Metadata;

        Assert.Equal(expected.Select(kv => kv.Key), file.Metadata.Keys);
        foreach (var (key, value) in expected)
            AssertSameValue(value, file.Metadata[key], key);
        Assert.Equal(3u, file.Version);
        Assert.Empty(file.Tensors);

        // Independent of the writer's own bookkeeping: the GGUF type each .NET input must map to.
        Assert.Equal((sbyte)-100, file.Metadata["test.i8"]);
        Assert.Equal("héllo wörld ✓ 🦙", file.Metadata["test.string"]);
        Assert.Equal(ulong.MaxValue, file.Metadata["test.u64"]);
        (string Key, GgufValueType Type)[] arrays =
        [
            ("test.arr.u8", GgufValueType.UInt8), ("test.arr.i8", GgufValueType.Int8), ("test.arr.u16", GgufValueType.UInt16),
            ("test.arr.i16", GgufValueType.Int16), ("test.arr.u32", GgufValueType.UInt32), ("test.arr.i32", GgufValueType.Int32),
            ("test.arr.f32", GgufValueType.Float32), ("test.arr.bool", GgufValueType.Bool), ("test.arr.string", GgufValueType.String),
            ("test.arr.u64", GgufValueType.UInt64), ("test.arr.i64", GgufValueType.Int64), ("test.arr.f64", GgufValueType.Float64),
            ("test.arr.nested", GgufValueType.Array),
        ];
        foreach (var (key, type) in arrays)
            Assert.Equal(type, ((GgufArray)file.Metadata[key]).ElementType);
        Assert.Equal(new sbyte[] { -128, 0, 127 }, ((GgufArray)file.Metadata["test.arr.i8"]).Values);
        Assert.Equal(["a", "", "ß", "<|endoftext|>", "Ġthe"], file.GetStringArrayOrNull("test.arr.string")!);
        var nested = (GgufArray[])((GgufArray)file.Metadata["test.arr.nested"]).Values;
        Assert.Equal(new[] { "x", "yz" }, nested[1].Values);
        Assert.Equal(new[] { 0.5 }, ((GgufArray[])nested[2].Values)[0].Values);
    }

    [Fact]
    public void Tensors_round_trip_through_a_memory_mapped_file()
    {
        var writer = GgufTestData.SampleWriter();
        string path = TempPath();
        try
        {
            writer.Write(path);
            using var file = GgufFile.Open(path);
            Assert.Equal(path, file.Path);
            Assert.Equal(32, file.Alignment);
            Assert.Equal(0, file.DataOffset % 32);
            Assert.Equal(new FileInfo(path).Length, file.Length);

            string[] names = ["token_embd.weight", "blk.0.attn_q.weight", "blk.0.ffn_up.weight", "blk.0.ffn_down.weight", "output_norm.weight"];
            Assert.Equal(names, file.Tensors.Select(t => t.Name));

            var embd = file.GetTensor("token_embd.weight");
            Assert.Equal(GgmlType.F32, embd.Type);
            Assert.Equal([4L, 3L], embd.Shape);
            Assert.Equal(12, embd.ElementCount);
            Assert.Equal(3, embd.RowCount);
            Assert.Equal(48, embd.ByteSize);
            Assert.Equal(Enumerable.Range(0, 12).Select(i => i * 0.5f - 2f), MemoryMarshal.Cast<byte, float>(file.GetTensorBytes(embd)).ToArray());

            AssertTensor(file, "blk.0.attn_q.weight", GgmlType.F16, [8, 2], GgufTestData.RandomBytes(1, 32));
            AssertTensor(file, "blk.0.ffn_up.weight", GgmlType.Q8_0, [64, 3], GgufTestData.RandomBytes(2, 204));
            AssertTensor(file, "blk.0.ffn_down.weight", GgmlType.Q4_0, [32, 2, 2], GgufTestData.RandomBytes(3, 72));
            AssertTensor(file, "output_norm.weight", GgmlType.BF16, [5], GgufTestData.RandomBytes(4, 10));

            foreach (var t in file.Tensors)
                Assert.Equal(0, t.Offset % file.Alignment);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(1u)]
    [InlineData(64u)]
    [InlineData(4096u)]
    public void Custom_alignment_places_every_tensor_on_a_boundary(uint alignment)
    {
        using var file = GgufFile.FromBytes(GgufTestData.SampleWriter(alignment: alignment).ToBytes(), "mem.gguf");
        Assert.Equal(alignment, file.Alignment);
        Assert.Equal(0, file.DataOffset % alignment);
        Assert.All(file.Tensors, t => Assert.Equal(0, t.Offset % alignment));
        AssertTensor(file, "blk.0.ffn_up.weight", GgmlType.Q8_0, [64, 3], GgufTestData.RandomBytes(2, 204));
    }

    [Fact]
    public void Version_2_is_written_and_read()
    {
        using var file = GgufFile.FromBytes(GgufTestData.SampleWriter(version: 2).ToBytes(), "v2.gguf");
        Assert.Equal(2u, file.Version);
        Assert.Equal(5, file.Tensors.Count);
    }

    /// <summary>Byte-exact layout from the GGUF spec, so writer and reader cannot share a mistake.</summary>
    [Fact]
    public void Writer_produces_the_layout_of_the_spec()
    {
        var w = new GgufWriter();
        w.Set("a", 7u);
        w.AddTensor("t", GgmlType.F32, [2], new[] { 1f, 2f });
        byte[] actual = w.ToBytes();

        var expected = RawGguf.Header(tensors: 1, kvs: 1)
            .Str("a").U32(4).U32(7)
            .Tensor("t", type: 0, offset: 0, 2)
            .PadTo(32)
            .Bytes(BitConverter.GetBytes(1f)).Bytes(BitConverter.GetBytes(2f))
            .PadTo(32)
            .ToArray();
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Second_tensor_offset_is_the_padded_size_of_the_first()
    {
        var w = new GgufWriter();
        w.AddTensor("a", GgmlType.F32, [3], new[] { 1f, 2f, 3f });     // 12 bytes -> padded to 32
        w.AddTensor("b", GgmlType.BF16, [1], (ReadOnlyMemory<byte>)new byte[] { 1, 2 });
        using var file = GgufFile.FromBytes(w.ToBytes(), "mem.gguf");
        Assert.Equal(0, file.GetTensor("a").Offset);
        Assert.Equal(32, file.GetTensor("b").Offset);
        Assert.Equal(new byte[] { 1, 2 }, file.GetTensorBytes(file.GetTensor("b")).ToArray());
    }

    [Fact]
    public void Set_replaces_a_key_in_place_and_copies_arrays()
    {
        var w = new GgufWriter();
        var tokens = new[] { "a", "b" };
        w.Set("first", 1);
        w.Set("tokens", tokens);
        w.Set("last", 2);
        w.Set("first", "again");
        tokens[0] = "mutated";
        using var file = GgufFile.FromBytes(w.ToBytes(), "mem.gguf");
        Assert.Equal(["first", "tokens", "last"], file.Metadata.Keys);
        Assert.Equal("again", file.GetString("first"));
        Assert.Equal(["a", "b"], file.GetStringArrayOrNull("tokens")!);
    }

    [Fact]
    public void Typed_accessors_convert_fitting_integers_and_name_the_key_otherwise()
    {
        var w = new GgufWriter();
        w.Set("u16", (ushort)7);
        w.Set("i64", 5L);
        w.Set("neg", -1);
        w.Set("big", 1UL << 40);
        w.Set("f", 0.5f);
        w.Set("s", "text");
        w.Set("b", true);
        w.Set("ids", new ushort[] { 1, 2 });
        w.Set("floats", new[] { 1f });
        using var file = GgufFile.FromBytes(w.ToBytes(), "acc.gguf");

        Assert.Equal(7u, file.GetUInt32("u16"));
        Assert.Equal(5u, file.GetUInt32("i64"));
        Assert.Equal(9u, file.GetUInt32OrDefault("missing", 9));
        Assert.Equal(0.5f, file.GetFloat32("f"));
        Assert.Equal(2.5f, file.GetFloat32OrDefault("missing", 2.5f));
        Assert.Equal("text", file.GetString("s"));
        Assert.Null(file.GetStringOrNull("missing"));
        Assert.True(file.GetBoolOrDefault("b", false));
        Assert.True(file.GetBoolOrDefault("missing", true));
        Assert.Equal([1, 2], file.GetInt32ArrayOrNull("ids")!);
        Assert.Equal([1f], file.GetFloat32ArrayOrNull("floats")!);
        Assert.Null(file.GetStringArrayOrNull("missing"));

        var e = Assert.Throws<GgufFormatException>(() => file.GetUInt32("neg"));
        Assert.Contains("'neg'", e.Message);
        Assert.Contains("acc.gguf", e.Message);
        e = Assert.Throws<GgufFormatException>(() => file.GetUInt32("big"));
        Assert.Contains("fits in uint32", e.Message);
        e = Assert.Throws<GgufFormatException>(() => file.GetString("u16"));
        Assert.Contains("'u16' has type uint16; expected string", e.Message);
        e = Assert.Throws<GgufFormatException>(() => file.GetFloat32("s"));
        Assert.Contains("expected float32", e.Message);
        e = Assert.Throws<GgufFormatException>(() => file.GetUInt32("missing"));
        Assert.Contains("'missing'", e.Message);
        Assert.Equal(-1, e.Offset);
        e = Assert.Throws<GgufFormatException>(() => file.GetInt32ArrayOrNull("floats"));
        Assert.Contains("array[float32]", e.Message);
        e = Assert.Throws<GgufFormatException>(() => file.GetStringArrayOrNull("ids"));
        Assert.Contains("array[uint16]", e.Message);
    }

    [Fact]
    public void Missing_tensor_and_foreign_tensor_info_are_reported()
    {
        using var file = GgufFile.FromBytes(GgufTestData.SampleWriter().ToBytes(), "t.gguf");
        Assert.Null(file.FindTensor("nope"));
        var e = Assert.Throws<GgufFormatException>(() => file.GetTensor("nope"));
        Assert.Contains("'nope'", e.Message);
        Assert.Contains("t.gguf", e.Message);
        var forged = file.GetTensor("output_norm.weight") with { Offset = 1 << 20 };
        Assert.Throws<ArgumentException>(() => file.GetTensorBytes(forged));
    }

    [Fact]
    public void Disposed_file_refuses_tensor_access()
    {
        var file = GgufFile.FromBytes(GgufTestData.SampleWriter().ToBytes(), "t.gguf");
        var t = file.Tensors[0];
        file.Dispose();
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => file.GetTensorBytes(t).Length);
    }

    [Fact]
    public void Writer_rejects_what_the_reader_would_refuse()
    {
        var w = new GgufWriter();
        Assert.Throws<ArgumentOutOfRangeException>(() => new GgufWriter(1));
        Assert.Throws<ArgumentException>(() => w.Set("general.alignment", 48u));
        Assert.Throws<ArgumentException>(() => w.Set("general.alignment", 0u));
        Assert.Throws<ArgumentException>(() => w.Set("general.alignment", 64));
        Assert.Throws<ArgumentException>(() => w.Set("x", 1m));
        Assert.Throws<ArgumentException>(() => w.Set("x", new[] { 'c' }));
        Assert.Throws<ArgumentException>(() => w.Set("x", new GgufArray(GgufValueType.Int32, new uint[] { 1 })));
        Assert.Throws<ArgumentException>(() => w.Set("x", new GgufArray(GgufValueType.Int8, new byte[] { 1 })));
        Assert.Throws<ArgumentException>(() => w.Set("x", new string[] { null! }));
        Assert.Throws<ArgumentException>(() => w.Set("", 1));

        w.AddTensor("t", GgmlType.F32, [2], new[] { 1f, 2f });
        Assert.Throws<ArgumentException>(() => w.AddTensor("t", GgmlType.F32, [2], new[] { 1f, 2f }));
        Assert.Throws<ArgumentException>(() => w.AddTensor("u", GgmlType.F32, [3], new[] { 1f, 2f }));
        Assert.Throws<ArgumentException>(() => w.AddTensor("u", GgmlType.F16, [2], (ReadOnlyMemory<byte>)new byte[3]));
        Assert.Throws<ArgumentException>(() => w.AddTensor("u", GgmlType.Q8_0, [16], (ReadOnlyMemory<byte>)new byte[17]));
        Assert.Throws<ArgumentException>(() => w.AddTensor("u", GgmlType.TQ1_0, [256], (ReadOnlyMemory<byte>)new byte[54]));
        Assert.Throws<ArgumentException>(() => w.AddTensor("u", GgmlType.F32, [1, 1, 1, 1, 1], (ReadOnlyMemory<byte>)new byte[4]));
        Assert.Throws<ArgumentException>(() => w.AddTensor("u", GgmlType.F32, [0], (ReadOnlyMemory<byte>)Array.Empty<byte>()));
        Assert.Throws<ArgumentException>(() => w.AddTensor(new string('n', 64), GgmlType.F32, [1], (ReadOnlyMemory<byte>)new byte[4]));
    }

    static void AssertTensor(GgufFile file, string name, GgmlType type, long[] shape, byte[] bytes)
    {
        var t = file.GetTensor(name);
        Assert.Equal(type, t.Type);
        Assert.Equal(shape, t.Shape);
        Assert.Equal(bytes.Length, t.ByteSize);
        Assert.Equal(bytes, file.GetTensorBytes(t).ToArray());
        unsafe
        {
            Assert.Equal(bytes[0], *file.GetTensorPointer(t));
        }
    }

    static void AssertSameValue(object expected, object actual, string key)
    {
        Assert.True(expected.GetType() == actual.GetType(), $"{key}: {expected.GetType()} vs {actual.GetType()}");
        if (expected is GgufArray ea)
        {
            var aa = (GgufArray)actual;
            Assert.Equal(ea.ElementType, aa.ElementType);
            Assert.Equal(ea.Values.GetType(), aa.Values.GetType());
            Assert.Equal(ea.Values.Length, aa.Values.Length);
            for (int i = 0; i < ea.Values.Length; i++)
                AssertSameValue(ea.Values.GetValue(i)!, aa.Values.GetValue(i)!, $"{key}[{i}]");
        }
        else
        {
            Assert.Equal(expected, actual);
        }
    }

    static string TempPath() => Path.Combine(Path.GetTempPath(), $"seeksharp-gguf-{Guid.NewGuid():N}.gguf");
}

public sealed class GgufFloatTensorTests
{
    [Theory]
    [InlineData(GgmlType.F32, 0.0)]
    [InlineData(GgmlType.F16, 1e-3)]
    [InlineData(GgmlType.BF16, 1e-2)]
    [InlineData(GgmlType.Q8_0, 2e-2)]
    [InlineData(GgmlType.Q4_0, 0.2)]
    public void Float_values_are_encoded_with_the_reference_quantizer(GgmlType type, double tolerance)
    {
        var rng = new Random(7);
        float[] values = Enumerable.Range(0, 64 * 3).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        var w = new GgufWriter();
        w.AddTensor("w", type, [64, 3], values);
        using var file = GgufFile.FromBytes(w.ToBytes(), "q.gguf");
        var t = file.GetTensor("w");

        var expected = new byte[TensorTypes.RowBytes(type, 64) * 3];
        TensorTypes.Quantize(type, values, expected);
        Assert.Equal(expected, file.GetTensorBytes(t).ToArray());

        var decoded = new float[values.Length];
        TensorTypes.Dequantize(type, file.GetTensorBytes(t), decoded);
        for (int i = 0; i < values.Length; i++)
            Assert.True(Math.Abs(decoded[i] - values[i]) <= tolerance * 2, $"{type}[{i}]: {values[i]} -> {decoded[i]}");
    }
}

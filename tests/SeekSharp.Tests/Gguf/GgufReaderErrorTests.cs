using SeekSharp.Gguf;
using SeekSharp.Kernels;

namespace SeekSharp.Tests.Gguf;

/// <summary>Each corruption the reader must refuse, with the offset and the expected-vs-found wording it reports.</summary>
public sealed class GgufReaderErrorTests
{
    const string Name = "bad.gguf";

    static GgufFormatException Fail(byte[] bytes)
    {
        var e = Assert.Throws<GgufFormatException>(() => GgufFile.FromBytes(bytes, Name).Dispose());
        Assert.Equal(Name, e.FilePath);
        Assert.Contains(Name, e.Message);
        return e;
    }

    static GgufFormatException Fail(RawGguf raw) => Fail(raw.ToArray());

    /// <summary>Header plus one key/value pair whose type and payload the caller writes.</summary>
    static RawGguf OneKv(string key) => RawGguf.Header(tensors: 0, kvs: 1).Str(key);

    /// <summary>Header with one tensor info and no metadata; offset of the first tensor info is 24.</summary>
    static RawGguf OneTensor() => RawGguf.Header(tensors: 1, kvs: 0);

    [Fact]
    public void Empty_file_on_disk()
    {
        string path = Path.Combine(Path.GetTempPath(), $"seeksharp-empty-{Guid.NewGuid():N}.gguf");
        File.WriteAllBytes(path, []);
        try
        {
            var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(path));
            Assert.Equal(path, e.FilePath);
            Assert.Equal(0, e.Offset);
            Assert.Contains("only 0 bytes", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Corrupt_file_on_disk_is_reported_and_released()
    {
        string path = Path.Combine(Path.GetTempPath(), $"seeksharp-bad-{Guid.NewGuid():N}.gguf");
        byte[] bytes = GgufTestData.SampleWriter().ToBytes();
        File.WriteAllBytes(path, bytes[..^40]);
        try
        {
            var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(path));
            Assert.Contains("output_norm.weight", e.Message);
            // The mapping was released: the file can be rewritten and opened again.
            File.WriteAllBytes(path, bytes);
            using var file = GgufFile.Open(path);
            Assert.Equal(5, file.Tensors.Count);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Too_short_for_magic() => Assert.Contains("only 3 bytes", Fail([0x47, 0x47, 0x55]).Message);

    [Fact]
    public void Bad_magic()
    {
        var e = Fail(new RawGguf().Bytes("GGML"u8.ToArray()).U32(3).U64(0).U64(0));
        Assert.Equal(0, e.Offset);
        Assert.Contains("expected the magic 'GGUF'", e.Message);
        Assert.Contains("47 47 4D 4C 'GGML'", e.Message);
    }

    [Fact]
    public void Version_1_is_refused_with_a_hint()
    {
        var e = Fail(RawGguf.Header(0, 0, version: 1));
        Assert.Equal(4, e.Offset);
        Assert.Contains("version 1 is not supported", e.Message);
    }

    [Theory]
    [InlineData(0u, "found 0")]
    [InlineData(4u, "expected GGUF version 2 or 3 but found 4")]
    [InlineData(0x03000000u, "big-endian")]
    public void Unsupported_version(uint version, string expected) =>
        Assert.Contains(expected, Fail(RawGguf.Header(0, 0, version)).Message);

    [Fact]
    public void Truncated_header()
    {
        var e = Fail(new RawGguf().Bytes("GGUF"u8.ToArray()).U32(3).U32(0));
        Assert.Equal(8, e.Offset);
        Assert.Contains("expected tensor count (8 bytes) but the file ends after 4 more bytes", e.Message);
    }

    [Fact]
    public void Absurd_tensor_count()
    {
        var e = Fail(RawGguf.Header(tensors: 1UL << 40, kvs: 0).Zeros(64));
        Assert.Equal(8, e.Offset);
        Assert.Contains("tensor count 1099511627776 is impossible", e.Message);
    }

    [Fact]
    public void Absurd_kv_count()
    {
        var e = Fail(RawGguf.Header(tensors: 0, kvs: ulong.MaxValue).Zeros(64));
        Assert.Equal(16, e.Offset);
        Assert.Contains("key/value count 18446744073709551615 is impossible", e.Message);
    }

    [Fact]
    public void Unknown_value_type()
    {
        var e = Fail(OneKv("k").U32(13).U32(0));
        Assert.Equal(24 + 9, e.Offset);
        Assert.Contains("type of metadata key 'k' is 13; expected a GGUF value type id from 0 to 12", e.Message);
    }

    [Fact]
    public void Absurd_string_length()
    {
        var e = Fail(OneKv("k").U32((uint)GgufValueType.String).U64(1UL << 40).Zeros(16));
        Assert.Equal(24 + 9 + 4, e.Offset);
        Assert.Contains("claims 1099511627776 bytes but only 16 bytes are left", e.Message);
    }

    [Fact]
    public void Empty_key() => Assert.Contains("empty key", Fail(OneKv("").U32(0).Bytes(1).Zeros(8)).Message);

    [Fact]
    public void Duplicate_key()
    {
        var e = Fail(RawGguf.Header(0, 2).Str("k").U32(0).Bytes(1).Str("k").U32(0).Bytes(2));
        Assert.Equal(24 + 14, e.Offset);
        Assert.Contains("duplicate metadata key 'k' (first defined at offset 24)", e.Message);
    }

    [Fact]
    public void Alignment_of_the_wrong_type()
    {
        var e = Fail(OneKv("general.alignment").U32((uint)GgufValueType.Int32).U32(32));
        Assert.Equal(24, e.Offset);
        Assert.Contains("'general.alignment' must be of type uint32 but is int32", e.Message);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(48u)]
    public void Alignment_not_a_power_of_two(uint alignment) =>
        Assert.Contains($"non-zero power of two but is {alignment}",
            Fail(OneKv("general.alignment").U32((uint)GgufValueType.UInt32).U32(alignment)).Message);

    [Fact]
    public void Absurd_array_count()
    {
        var e = Fail(OneKv("k").U32((uint)GgufValueType.Array).U32((uint)GgufValueType.UInt32).U64(1UL << 33).Zeros(8));
        Assert.Equal(24 + 9 + 8, e.Offset);
        Assert.Contains("array 'k' claims 8589934592 elements of type UInt32 (at least 4 bytes each) but only 8 bytes are left", e.Message);
    }

    [Fact]
    public void String_array_count_accounts_for_length_prefixes()
    {
        // 100 strings need at least 800 bytes of length prefixes even when empty.
        var e = Fail(OneKv("k").U32((uint)GgufValueType.Array).U32((uint)GgufValueType.String).U64(100).Zeros(799));
        Assert.Contains("claims 100 elements of type String (at least 8 bytes each)", e.Message);
    }

    [Fact]
    public void Unknown_array_element_type() =>
        Assert.Contains("element type of array 'k' is 99", Fail(OneKv("k").U32((uint)GgufValueType.Array).U32(99).U64(0)).Message);

    [Fact]
    public void Arrays_nested_too_deep()
    {
        var raw = OneKv("k").U32((uint)GgufValueType.Array);
        for (int i = 0; i < 40; i++) raw.U32((uint)GgufValueType.Array).U64(1);
        raw.U32((uint)GgufValueType.UInt8).U64(0);
        Assert.Contains("nested more than 16 levels", Fail(raw).Message);
    }

    [Fact]
    public void Truncated_inside_metadata_value()
    {
        var e = Fail(OneKv("k").U32((uint)GgufValueType.UInt64).Zeros(3));
        Assert.Contains("expected UInt64 value of 'k' (8 bytes) but the file ends after 3 more bytes", e.Message);
    }

    [Fact]
    public void Duplicate_tensor_name()
    {
        var e = Fail(RawGguf.Header(2, 0).Tensor("t", 0, 0, 8).Tensor("t", 0, 32, 8).PadTo(32).Zeros(64));
        Assert.Contains("duplicate tensor name 't'", e.Message);
    }

    [Fact]
    public void Tensor_name_too_long() =>
        Assert.Contains("name of 64 bytes; expected at most 63", Fail(OneTensor().Tensor(new string('n', 64), 0, 0, 8).Zeros(64)).Message);

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void Wrong_number_of_dimensions(int dims)
    {
        var e = Fail(OneTensor().Tensor("t", 0, 0, Enumerable.Repeat(1L, dims).ToArray()).PadTo(32).Zeros(32));
        Assert.Equal(24 + 9, e.Offset);
        Assert.Contains($"tensor 't' has {dims} dimensions; expected 1 to 4", e.Message);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-3L)]
    public void Non_positive_dimension(long ne)
    {
        var e = Fail(OneTensor().Tensor("t", 0, 0, 4, ne).PadTo(32).Zeros(32));
        Assert.Equal(24 + 9 + 4 + 8, e.Offset);
        Assert.Contains($"tensor 't' dimension 1 is {ne}; expected a positive size", e.Message);
    }

    [Fact]
    public void Element_count_overflow() =>
        Assert.Contains("more than", Fail(OneTensor().Tensor("t", 0, 0, 1L << 40, 1L << 40).PadTo(32).Zeros(32)).Message);

    [Fact]
    public void Byte_size_overflow() =>
        Assert.Contains("would need more than", Fail(OneTensor().Tensor("t", 0, 0, 1L << 31, 1L << 31).PadTo(32).Zeros(32)).Message);

    [Fact]
    public void Unknown_tensor_type()
    {
        var e = Fail(OneTensor().Tensor("t", 99, 0, 8).PadTo(32).Zeros(32));
        Assert.Equal(24 + 9 + 4 + 8, e.Offset);
        Assert.Contains("tensor 't' has unknown ggml type id 99", e.Message);
    }

    [Fact]
    public void Unsupported_tensor_type_names_tensor_type_and_alternatives()
    {
        var e = Fail(OneTensor().Tensor("blk.0.ffn_up.weight", (uint)GgmlType.TQ1_0, 0, 256).PadTo(32).Zeros(96));
        string supported = string.Join(", ", Enum.GetValues<GgmlType>().Where(TensorTypes.IsSupported));
        Assert.Contains($"tensor 'blk.0.ffn_up.weight' has type TQ1_0 (34), which SeekSharp does not support yet (supported: {supported})", e.Message);
        Assert.Contains("Q8_0", supported);
    }

    [Fact]
    public void Row_not_a_multiple_of_the_block_size() =>
        Assert.Contains("tensor 't' of type Q8_0 has 31 elements per row; expected a multiple of the block size 32",
            Fail(OneTensor().Tensor("t", (uint)GgmlType.Q8_0, 0, 31).PadTo(32).Zeros(64)).Message);

    [Fact]
    public void Unaligned_tensor_offset()
    {
        var e = Fail(RawGguf.Header(2, 0).Tensor("a", 0, 0, 4).Tensor("b", 0, 16, 4).PadTo(32).Zeros(64));
        Assert.Contains("tensor 'b' has data offset 16; expected a multiple of the alignment 32", e.Message);
    }

    [Fact]
    public void Tensor_data_past_end_of_file()
    {
        // The last tensor is 10 bytes followed by 22 bytes of padding, so cutting 23 bytes cuts into its data.
        byte[] bytes = GgufTestData.SampleWriter().ToBytes();
        var e = Fail(bytes[..^23]);
        Assert.Contains("tensor 'output_norm.weight' (BF16, 10 bytes)", e.Message);
        Assert.Contains($"expected it to end by the end of the file at {bytes.Length - 23}", e.Message);
        using var file = GgufFile.FromBytes(bytes[..^22], Name);   // missing padding only: still valid
    }

    [Fact]
    public void File_ends_before_the_data_section()
    {
        var raw = OneTensor().Tensor("t", 0, 0, 1);   // 24 + 9 + 4 + 8 + 4 + 8 = 57 bytes, data would start at 64
        var e = Fail(raw);
        Assert.Equal(57, e.Offset);
        Assert.Contains("expected the tensor data section at offset 64", e.Message);
    }

    [Fact]
    public void Overlapping_tensors()
    {
        var e = Fail(RawGguf.Header(2, 0).Tensor("a", 0, 0, 16).Tensor("b", 0, 32, 8).PadTo(32).Zeros(64));
        Assert.Contains("tensor 'b' at data offset 32 overlaps tensor 'a' which occupies [0, 64)", e.Message);
    }

    [Fact]
    public void Tensors_out_of_order_but_disjoint_are_accepted()
    {
        using var file = GgufFile.FromBytes(RawGguf.Header(2, 0).Tensor("a", 0, 32, 8).Tensor("b", 0, 0, 8).PadTo(32).Zeros(64).ToArray(), Name);
        Assert.Equal(32, file.GetTensor("a").Offset);
    }

    [Fact]
    public void Metadata_only_file_needs_no_data_section()
    {
        using var file = GgufFile.FromBytes(OneKv("k").U32((uint)GgufValueType.UInt8).Bytes(5).ToArray(), Name);
        Assert.Equal((byte)5, file.Metadata["k"]);
    }

    [Fact]
    public void Invalid_utf8_is_decoded_leniently_like_ggml()
    {
        // ggml keeps raw bytes and never validates UTF-8, so refusing such files would reject models llama.cpp loads.
        var raw = OneKv("k").U32((uint)GgufValueType.String).U64(2).Bytes(0xC3, 0x28);
        using var file = GgufFile.FromBytes(raw.ToArray(), Name);
        Assert.Equal("\uFFFD(", file.GetString("k"));
    }
}

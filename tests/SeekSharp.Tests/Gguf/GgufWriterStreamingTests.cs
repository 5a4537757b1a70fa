using SeekSharp.Gguf;
using SeekSharp.Kernels;

namespace SeekSharp.Tests.Gguf;

/// <summary>Tensors whose data a callback produces at Write time: the file is the one eager data would give.</summary>
public sealed class GgufWriterStreamingTests
{
    [Fact]
    public void Data_from_callbacks_gives_the_same_file_and_is_asked_for_at_write_time_in_order()
    {
        byte[] q = GgufTestData.RandomBytes(1, 32), up = GgufTestData.RandomBytes(2, 204), down = GgufTestData.RandomBytes(3, 72);
        var eager = new GgufWriter();
        eager.Set("general.architecture", "llama");
        eager.AddTensor("blk.0.attn_q.weight", GgmlType.F16, [8, 2], q);
        eager.AddTensor("blk.0.ffn_up.weight", GgmlType.Q8_0, [64, 3], up);
        eager.AddTensor("blk.0.ffn_down.weight", GgmlType.Q4_0, [32, 2, 2], down);

        var calls = new List<string>();
        var streaming = new GgufWriter();
        streaming.Set("general.architecture", "llama");
        streaming.AddTensor("blk.0.attn_q.weight", GgmlType.F16, [8, 2], () => { calls.Add("q"); return q; });
        streaming.AddTensor("blk.0.ffn_up.weight", GgmlType.Q8_0, [64, 3], up);
        streaming.AddTensor("blk.0.ffn_down.weight", GgmlType.Q4_0, [32, 2, 2], () => { calls.Add("down"); return down; });
        Assert.Empty(calls);

        byte[] bytes = streaming.ToBytes();
        Assert.Equal(["q", "down"], calls);
        Assert.Equal(eager.ToBytes(), bytes);
        using var file = GgufFile.FromBytes(bytes, "mem.gguf");
        Assert.Equal(down, file.GetTensorBytes(file.GetTensor("blk.0.ffn_down.weight")).ToArray());
    }

    [Fact]
    public void A_callback_giving_the_wrong_length_fails_the_write_naming_the_tensor()
    {
        var w = new GgufWriter();
        w.AddTensor("t", GgmlType.F32, [4], () => new byte[12]);
        var e = Assert.Throws<InvalidOperationException>(() => w.ToBytes());
        Assert.Contains("'t'", e.Message);
        Assert.Contains("16 bytes", e.Message);
    }

    [Fact]
    public void Shape_and_type_are_checked_when_the_tensor_is_added()
    {
        var w = new GgufWriter();
        Assert.Throws<ArgumentException>(() => w.AddTensor("q", GgmlType.Q8_0, [33, 2], () => new byte[0]));
        Assert.Throws<ArgumentNullException>(() => w.AddTensor("q", GgmlType.F32, [4], (Func<ReadOnlyMemory<byte>>)null!));
    }

    [Fact]
    public void Data_written_to_the_stream_in_pieces_gives_the_same_file()
    {
        byte[] up = GgufTestData.RandomBytes(4, 204), q = GgufTestData.RandomBytes(5, 32);
        var eager = new GgufWriter();
        eager.AddTensor("blk.0.ffn_up.weight", GgmlType.Q8_0, [64, 3], up);
        eager.AddTensor("blk.0.attn_q.weight", GgmlType.F16, [8, 2], q);

        var pieces = new GgufWriter();
        // Uneven pieces (7 bytes, one byte, the rest) so that nothing lines up with blocks or the alignment.
        pieces.AddTensor("blk.0.ffn_up.weight", GgmlType.Q8_0, [64, 3], s => { s.Write(up, 0, 7); s.WriteByte(up[7]); s.Write(up.AsSpan(8)); });
        pieces.AddTensor("blk.0.attn_q.weight", GgmlType.F16, [8, 2], s => s.Write(q));
        Assert.Equal(eager.ToBytes(), pieces.ToBytes());
    }

    [Theory]
    [InlineData(15)]
    [InlineData(17)]
    public void A_stream_source_writing_the_wrong_length_fails_naming_the_tensor(int written)
    {
        var w = new GgufWriter();
        w.AddTensor("t", GgmlType.F32, [4], s => s.Write(new byte[written]));
        w.AddTensor("after", GgmlType.F32, [4], s => s.Write(new byte[16]));
        var e = Assert.Throws<InvalidOperationException>(() => w.ToBytes());
        Assert.Contains("'t'", e.Message);
        Assert.Contains("16 bytes", e.Message);
    }
}

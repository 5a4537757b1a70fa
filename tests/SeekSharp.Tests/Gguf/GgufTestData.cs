using SeekSharp.Gguf;
using SeekSharp.Kernels;

namespace SeekSharp.Tests.Gguf;

/// <summary>Small GGUF images built with <see cref="GgufWriter"/>, shared by the round-trip and fuzz tests.</summary>
internal static class GgufTestData
{
    public static byte[] ToBytes(this GgufWriter writer)
    {
        using var stream = new MemoryStream();
        writer.Write(stream);
        return stream.ToArray();
    }

    public static byte[] RandomBytes(int seed, int count)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>One value of every scalar type, one array of every element type, nested and empty arrays.</summary>
    public static GgufWriter WithEveryValueType(GgufWriter w)
    {
        w.Set("general.architecture", "llama");
        w.Set("test.u8", (byte)200);
        w.Set("test.i8", (sbyte)-100);
        w.Set("test.u16", (ushort)60000);
        w.Set("test.i16", (short)-30000);
        w.Set("test.u32", 4000000000u);
        w.Set("test.i32", -2000000000);
        w.Set("test.f32", 3.25f);
        w.Set("test.bool", true);
        w.Set("test.string", "héllo wörld ✓ 🦙");
        w.Set("test.empty_string", "");
        w.Set("test.u64", ulong.MaxValue);
        w.Set("test.i64", long.MinValue);
        w.Set("test.f64", Math.PI);
        w.Set("test.arr.u8", new byte[] { 0, 1, 255 });
        w.Set("test.arr.i8", new sbyte[] { -128, 0, 127 });
        w.Set("test.arr.u16", new ushort[] { 0, 65535 });
        w.Set("test.arr.i16", new short[] { -32768, 32767 });
        w.Set("test.arr.u32", new uint[] { 0, uint.MaxValue });
        w.Set("test.arr.i32", new[] { -1, 0, int.MaxValue });
        w.Set("test.arr.f32", new[] { 1.5f, -0f, float.NegativeInfinity });
        w.Set("test.arr.bool", new[] { true, false, true });
        w.Set("test.arr.string", new[] { "a", "", "ß", "<|endoftext|>", "Ġthe" });
        w.Set("test.arr.u64", new ulong[] { 1, ulong.MaxValue });
        w.Set("test.arr.i64", new long[] { long.MinValue, 5 });
        w.Set("test.arr.f64", new[] { double.Epsilon, -2.5 });
        w.Set("test.arr.empty", Array.Empty<int>());
        w.Set("test.arr.nested", new GgufArray(GgufValueType.Array, new[]
        {
            new GgufArray(GgufValueType.Int32, new[] { 1, 2, 3 }),
            new GgufArray(GgufValueType.String, new[] { "x", "yz" }),
            new GgufArray(GgufValueType.Array, new[] { new GgufArray(GgufValueType.Float64, new[] { 0.5 }) }),
            new GgufArray(GgufValueType.Bool, Array.Empty<bool>()),
        }));
        return w;
    }

    /// <summary>A file with varied metadata and one tensor of each supported type (raw bytes; F32 also via floats).</summary>
    public static GgufWriter SampleWriter(uint version = 3, uint? alignment = null)
    {
        var w = WithEveryValueType(new GgufWriter(version));
        if (alignment is { } a) w.Set("general.alignment", a);
        w.AddTensor("token_embd.weight", GgmlType.F32, [4, 3], Enumerable.Range(0, 12).Select(i => i * 0.5f - 2f).ToArray());
        w.AddTensor("blk.0.attn_q.weight", GgmlType.F16, [8, 2], (ReadOnlyMemory<byte>)RandomBytes(1, 8 * 2 * 2));
        w.AddTensor("blk.0.ffn_up.weight", GgmlType.Q8_0, [64, 3], (ReadOnlyMemory<byte>)RandomBytes(2, 2 * 3 * 34));
        w.AddTensor("blk.0.ffn_down.weight", GgmlType.Q4_0, [32, 2, 2], (ReadOnlyMemory<byte>)RandomBytes(3, 4 * 18));
        w.AddTensor("output_norm.weight", GgmlType.BF16, [5], (ReadOnlyMemory<byte>)RandomBytes(4, 10));
        return w;
    }
}

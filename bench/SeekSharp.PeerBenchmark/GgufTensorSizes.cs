using System.Text;

namespace SeekSharp.PeerBenchmark;

/// <summary>
/// Each tensor's name, ggml type id and data size in a GGUF file, and its uint32 metadata, read without SeekSharp's
/// parser: that parser refuses a file holding a type SeekSharp cannot run (llama.cpp's Q4_K_M of deepseek2 stores
/// attn_k_b, whose rows of 128 are not whole 256-element K blocks, as Q5_0), and llama.cpp's half of the table still
/// needs the sizes. A tensor's size is the distance to the next tensor's data (alignment padding included: under 32
/// bytes a tensor), or to the end of the file for the last.
/// </summary>
internal sealed record GgufTensorSizes(IReadOnlyList<(string Name, uint Type, long Bytes)> Tensors, IReadOnlyDictionary<string, uint> UInt32s)
{
    public static GgufTensorSizes Read(string path)
    {
        using var stream = new BufferedStream(File.OpenRead(path), 1 << 20);
        using var r = new BinaryReader(stream, Encoding.UTF8);
        if (r.ReadUInt32() != 0x46554747) throw new InvalidDataException($"{path} is not a GGUF file");
        r.ReadUInt32(); // version 2 or 3: one layout
        long tensorCount = (long)r.ReadUInt64(), keyCount = (long)r.ReadUInt64();
        var uint32s = new Dictionary<string, uint>();
        for (long i = 0; i < keyCount; i++)
        {
            string key = ReadString(r);
            uint type = r.ReadUInt32();
            if (type == 4) uint32s[key] = r.ReadUInt32();
            else Skip(r, type);
        }
        var infos = new List<(string Name, uint Type, long Offset)>();
        for (long i = 0; i < tensorCount; i++)
        {
            string name = ReadString(r);
            uint dims = r.ReadUInt32();
            for (int d = 0; d < dims; d++) r.ReadUInt64();
            uint type = r.ReadUInt32();
            infos.Add((name, type, (long)r.ReadUInt64()));
        }
        long alignment = uint32s.GetValueOrDefault("general.alignment", 32u);
        long dataStart = (stream.Position + alignment - 1) / alignment * alignment;
        long end = new FileInfo(path).Length - dataStart;
        var ends = infos.Select(t => t.Offset).Order().Append(end).ToArray();
        var tensors = infos.Select(t => (t.Name, t.Type, ends[Array.BinarySearch(ends, t.Offset) + 1] - t.Offset)).ToList();
        return new GgufTensorSizes(tensors, uint32s);
    }

    private static string ReadString(BinaryReader r) => Encoding.UTF8.GetString(r.ReadBytes(checked((int)r.ReadUInt64())));

    // GGUF value types: 0-7 u8 i8 u16 i16 u32 i32 f32 bool, 8 string, 9 array, 10-12 u64 i64 f64.
    private static void Skip(BinaryReader r, uint type)
    {
        switch (type)
        {
            case 8: r.BaseStream.Seek(checked((long)r.ReadUInt64()), SeekOrigin.Current); break;
            case 9:
                uint elementType = r.ReadUInt32();
                long count = (long)r.ReadUInt64();
                if (elementType is 8 or 9)
                    for (long i = 0; i < count; i++) Skip(r, elementType);
                else
                    r.BaseStream.Seek(count * Width(elementType), SeekOrigin.Current);
                break;
            default: r.BaseStream.Seek(Width(type), SeekOrigin.Current); break;
        }
    }

    private static long Width(uint type) => type switch
    {
        0 or 1 or 7 => 1,
        2 or 3 => 2,
        4 or 5 or 6 => 4,
        10 or 11 or 12 => 8,
        _ => throw new InvalidDataException($"unknown GGUF value type {type}"),
    };
}

namespace SeekSharp.Safetensors;

/// <summary>The element types a safetensors header may name (the <c>dtype</c> strings of the safetensors format).</summary>
public enum SafetensorsDType
{
    /// <summary>"BOOL", one byte.</summary>
    Bool,
    /// <summary>"U8".</summary>
    U8,
    /// <summary>"I8".</summary>
    I8,
    /// <summary>"F8_E4M3": OCP FP8 e4m3fn (no infinities; 0x7F and 0xFF are NaN), as DeepSeek-V3 stores its weights.</summary>
    F8E4M3,
    /// <summary>"F8_E5M2".</summary>
    F8E5M2,
    /// <summary>"I16".</summary>
    I16,
    /// <summary>"U16".</summary>
    U16,
    /// <summary>"F16": IEEE binary16.</summary>
    F16,
    /// <summary>"BF16": bfloat16.</summary>
    BF16,
    /// <summary>"I32".</summary>
    I32,
    /// <summary>"U32".</summary>
    U32,
    /// <summary>"F32".</summary>
    F32,
    /// <summary>"I64".</summary>
    I64,
    /// <summary>"U64".</summary>
    U64,
    /// <summary>"F64".</summary>
    F64,
}

/// <summary>Names and sizes of <see cref="SafetensorsDType"/>: the one table of them.</summary>
public static class SafetensorsDTypes
{
    static readonly (SafetensorsDType Type, string Name, int Size)[] Table =
    [
        (SafetensorsDType.Bool, "BOOL", 1), (SafetensorsDType.U8, "U8", 1), (SafetensorsDType.I8, "I8", 1),
        (SafetensorsDType.F8E4M3, "F8_E4M3", 1), (SafetensorsDType.F8E5M2, "F8_E5M2", 1),
        (SafetensorsDType.I16, "I16", 2), (SafetensorsDType.U16, "U16", 2), (SafetensorsDType.F16, "F16", 2), (SafetensorsDType.BF16, "BF16", 2),
        (SafetensorsDType.I32, "I32", 4), (SafetensorsDType.U32, "U32", 4), (SafetensorsDType.F32, "F32", 4),
        (SafetensorsDType.I64, "I64", 8), (SafetensorsDType.U64, "U64", 8), (SafetensorsDType.F64, "F64", 8),
    ];

    /// <summary>Bytes per element.</summary>
    public static int SizeOf(SafetensorsDType type) => Table[(int)type].Size;

    /// <summary>The header spelling, e.g. "BF16".</summary>
    public static string NameOf(SafetensorsDType type) => Table[(int)type].Name;

    /// <summary>The type spelled <paramref name="name"/>, or null when the format has no such type.</summary>
    public static SafetensorsDType? Parse(ReadOnlySpan<char> name)
    {
        foreach (var entry in Table)
            if (name.SequenceEqual(entry.Name)) return entry.Type;
        return null;
    }

    internal static string KnownNames => string.Join(", ", Table.Select(e => e.Name));
}

namespace SeekSharp.Gguf;

/// <summary>Metadata value types, numbered as in the GGUF specification (<c>gguf_type</c>).</summary>
public enum GgufValueType : uint
{
    /// <summary>8-bit unsigned integer (<see cref="byte"/>).</summary>
    UInt8 = 0,
    /// <summary>8-bit signed integer (<see cref="sbyte"/>).</summary>
    Int8 = 1,
    /// <summary>16-bit unsigned integer (<see cref="ushort"/>).</summary>
    UInt16 = 2,
    /// <summary>16-bit signed integer (<see cref="short"/>).</summary>
    Int16 = 3,
    /// <summary>32-bit unsigned integer (<see cref="uint"/>).</summary>
    UInt32 = 4,
    /// <summary>32-bit signed integer (<see cref="int"/>).</summary>
    Int32 = 5,
    /// <summary>IEEE 754 single (<see cref="float"/>).</summary>
    Float32 = 6,
    /// <summary>One byte, 0 = false, anything else = true (<see cref="bool"/>).</summary>
    Bool = 7,
    /// <summary>uint64 byte length followed by UTF-8 bytes, no terminator (<see cref="string"/>).</summary>
    String = 8,
    /// <summary>Element type, uint64 count, then the elements (<see cref="GgufArray"/>).</summary>
    Array = 9,
    /// <summary>64-bit unsigned integer (<see cref="ulong"/>).</summary>
    UInt64 = 10,
    /// <summary>64-bit signed integer (<see cref="long"/>).</summary>
    Int64 = 11,
    /// <summary>IEEE 754 double (<see cref="double"/>).</summary>
    Float64 = 12,
}

namespace SeekSharp.Gguf;

/// <summary>
/// A GGUF array value. <paramref name="Values"/> is a typed .NET array matching <paramref name="ElementType"/>:
/// <c>byte[]</c> for UInt8, <c>sbyte[]</c>, <c>ushort[]</c>, <c>short[]</c>, <c>uint[]</c>, <c>int[]</c>, <c>float[]</c>,
/// <c>bool[]</c>, <c>string[]</c>, <c>ulong[]</c>, <c>long[]</c>, <c>double[]</c>, or <c>GgufArray[]</c> for nested arrays.
/// </summary>
/// <param name="ElementType">GGUF type of every element.</param>
/// <param name="Values">The elements, as a typed array (see the type summary).</param>
public sealed record GgufArray(GgufValueType ElementType, Array Values)
{
    /// <summary>Number of elements.</summary>
    public int Count => Values.Length;
}

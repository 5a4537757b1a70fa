using System.Buffers.Binary;
using System.Text;

namespace SeekSharp.Tests.Safetensors;

/// <summary>Hand-made safetensors images: a length prefix, the given JSON, and zero-filled (or given) data.</summary>
internal static class RawSafetensors
{
    public static byte[] Build(string headerJson, int dataBytes) => Build(Encoding.UTF8.GetBytes(headerJson), new byte[dataBytes]);

    public static byte[] Build(byte[] header, byte[] data, ulong? declaredLength = null)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }
}

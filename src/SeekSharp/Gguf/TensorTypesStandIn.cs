using System.Runtime.InteropServices;
using SeekSharp.Kernels;

namespace SeekSharp.Gguf;

/// <summary>
/// Temporary stand-in for SeekSharp.Kernels.TensorTypes until the kernels branch is merged; delete this file then
/// (code in this namespace binds to this class first, and to the kernels one once it is gone).
/// </summary>
internal static class TensorTypes
{
    public static int BlockSize(GgmlType t) => t switch
    {
        GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 => 1,
        GgmlType.Q8_0 or GgmlType.Q4_0 => 32,
        _ => throw new NotSupportedException($"type {t}"),
    };

    public static int BlockBytes(GgmlType t) => t switch
    {
        GgmlType.F32 => 4, GgmlType.F16 or GgmlType.BF16 => 2, GgmlType.Q8_0 => 34, GgmlType.Q4_0 => 18,
        _ => throw new NotSupportedException($"type {t}"),
    };

    public static bool IsSupported(GgmlType t) => t is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 or GgmlType.Q8_0 or GgmlType.Q4_0;

    public static long RowBytes(GgmlType t, long n)
    {
        if (n % BlockSize(t) != 0) throw new ArgumentException($"{n} is not a multiple of the {t} block size");
        return n / BlockSize(t) * BlockBytes(t);
    }

    public static void Quantize(GgmlType t, ReadOnlySpan<float> src, Span<byte> dst)
    {
        if (t != GgmlType.F32) throw new NotSupportedException($"stand-in quantizes F32 only, not {t}");
        MemoryMarshal.AsBytes(src).CopyTo(dst);
    }
}

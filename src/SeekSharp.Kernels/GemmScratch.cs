using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SeekSharp.Kernels;

/// <summary>
/// Per-thread packing buffers for <see cref="Gemm"/>, grown on demand and then reused, so that a product allocates
/// nothing once every thread has seen the largest block it needs.
/// </summary>
/// <remarks>
/// The arrays live on the pinned object heap, so raw pointers into them stay valid while the thread keeps the array;
/// a buffer is only replaced by its own thread, between products. Pointers are rounded up to 64 bytes so that every
/// 16-float row of a packed B micro-panel is one cache line and each vector load stays within a line.
/// A thread holds at most one A and one B buffer: the B buffer of the thread that called the product (shared with the
/// pool's threads for the duration of the call) and the A buffer of whichever thread packs an A block.
/// </remarks>
internal static unsafe class GemmScratch
{
    private const int AlignFloats = 16; // 64 bytes

    [ThreadStatic] private static float[]? t_packedA;
    [ThreadStatic] private static float[]? t_packedB;

    /// <summary>A 64-byte aligned buffer of at least <paramref name="floats"/> floats for packed A blocks.</summary>
    public static float* PackedA(long floats) => Aligned(ref t_packedA, floats);

    /// <summary>A 64-byte aligned buffer of at least <paramref name="floats"/> floats for packed B blocks.</summary>
    public static float* PackedB(long floats) => Aligned(ref t_packedB, floats);

    private static float* Aligned(ref float[]? buffer, long floats)
    {
        if (buffer is null || buffer.Length < floats + AlignFloats)
        {
            buffer = GC.AllocateUninitializedArray<float>(checked((int)(floats + AlignFloats)), pinned: true);
        }
        nuint address = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        return (float*)((address + 63) & ~(nuint)63);
    }
}

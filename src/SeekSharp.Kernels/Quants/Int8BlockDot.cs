using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// Exact integer dot products of 32-element int8 blocks, the inner step of every Q*_0 × Q8_0 dot.
/// Integer sums are order independent, so every tier returns the same value as the scalar loop.
/// Products of int8 values fit in int16 (|q| ≤ 128 → |q·q| ≤ 16384); pairs are summed in int32.
/// </summary>
internal static class Int8BlockDot
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe int Scalar(sbyte* a, sbyte* b)
    {
        int sum = 0;
        for (int j = 0; j < 32; j++)
        {
            sum += a[j] * b[j];
        }
        return sum;
    }

    /// <summary>One block: 32 × int8 in each operand.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Dot(Vector256<sbyte> a, Vector256<sbyte> b)
    {
        var (aLo, aHi) = Vector256.Widen(a);
        var (bLo, bHi) = Vector256.Widen(b);
        Vector256<int> pairs;
        if (Avx2.IsSupported)
        {
            // vpmaddwd: multiply int16 lanes and add adjacent pairs into int32.
            pairs = Avx2.MultiplyAddAdjacent(aLo, bLo) + Avx2.MultiplyAddAdjacent(aHi, bHi);
        }
        else
        {
            var (p0, p1) = Vector256.Widen(aLo * bLo);
            var (p2, p3) = Vector256.Widen(aHi * bHi);
            pairs = (p0 + p1) + (p2 + p3);
        }
        return Vector256.Sum(pairs);
    }

    /// <summary>Two blocks at once: lanes 0..31 are block 0, lanes 32..63 block 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (int Block0, int Block1) Dot(Vector512<sbyte> a, Vector512<sbyte> b)
    {
        // Widen splits exactly at the block boundary: the lower half holds block 0.
        var (aLo, aHi) = Vector512.Widen(a);
        var (bLo, bHi) = Vector512.Widen(b);
        if (Avx512BW.IsSupported)
        {
            return (Vector512.Sum(Avx512BW.MultiplyAddAdjacent(aLo, bLo)), Vector512.Sum(Avx512BW.MultiplyAddAdjacent(aHi, bHi)));
        }
        var (p0, p1) = Vector512.Widen(aLo * bLo);
        var (p2, p3) = Vector512.Widen(aHi * bHi);
        return (Vector512.Sum(p0 + p1), Vector512.Sum(p2 + p3));
    }

    /// <summary>
    /// Eight int32 partial sums of one block whose 32 values arrive as two sign-extended halves (int16 lanes):
    /// vpmaddwd multiplies exactly (|q| ≤ 128) and adds adjacent pairs; the lanes add up to the block's dot.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Partials(Vector256<short> aLo, Vector256<short> aHi, Vector256<short> bLo, Vector256<short> bHi) =>
        Avx2.MultiplyAddAdjacent(aLo, bLo) + Avx2.MultiplyAddAdjacent(aHi, bHi);

    /// <summary>Sign-extends 16 int8 values at <paramref name="p"/> to int16 lanes (vpmovsxbw from memory).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector256<short> Load16(sbyte* p) => Avx2.ConvertToVector256Int16(p);

    /// <summary>
    /// Reduces the partial sums of four blocks to their four dots at once: two rounds of vphaddd pair the lanes of
    /// all four inputs, leaving each 128-bit half with one partial per block, and the halves are added.
    /// Integer addition is exact in any order, so this equals four separate sums, at a fraction of the shuffles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Reduce4(Vector256<int> p0, Vector256<int> p1, Vector256<int> p2, Vector256<int> p3)
    {
        Vector256<int> h = Avx2.HorizontalAdd(Avx2.HorizontalAdd(p0, p1), Avx2.HorizontalAdd(p2, p3));
        return h.GetLower() + h.GetUpper();
    }
}

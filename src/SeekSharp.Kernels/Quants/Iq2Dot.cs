using System.Runtime.CompilerServices;

namespace SeekSharp.Kernels.Quants;

/// <summary>The integer inner step shared by the IQ2 dots: one group of eight grid weights against eight Q8_K quants.</summary>
internal static class Iq2Dot
{
    /// <summary>
    /// <c>Σ_j magnitude_j·q8_j·(bit j of signs ? −1 : 1)</c>, exact in int32 (at most 8·43·128).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe int Group(ulong magnitudes, int signs, sbyte* q8)
    {
        int sum = 0;
        for (int j = 0; j < 8; j++)
        {
            int p = (byte)(magnitudes >> (8 * j)) * q8[j];
            sum += (signs & (1 << j)) != 0 ? -p : p;
        }
        return sum;
    }
}

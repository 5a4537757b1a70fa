using System.Runtime.CompilerServices;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// The group of eight grid weights the IQ2 and IQ3 types are made of: eight magnitudes (bytes of one 64-bit grid
/// entry, or of two 32-bit IQ3 entries side by side) and eight sign bits, bit j negating weight j.
/// </summary>
internal static class IqGroup
{
    /// <summary><c>y[j] = db·magnitude_j·(bit j of signs ? −1 : 1)</c>, the float steps of ggml's dequantize_row_iq2_*/iq3_*.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Decode(Span<float> y, float db, ulong magnitudes, int signs)
    {
        for (int j = 0; j < 8; j++)
        {
            y[j] = db * (byte)(magnitudes >> (8 * j)) * ((signs & (1 << j)) != 0 ? -1f : 1f);
        }
    }

    /// <summary><c>Σ_j magnitude_j·q8_j·(bit j of signs ? −1 : 1)</c>, exact in int32 (at most 8·62·128).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe int Dot(ulong magnitudes, int signs, sbyte* q8)
    {
        int sum = 0;
        for (int j = 0; j < 8; j++)
        {
            int p = (byte)(magnitudes >> (8 * j)) * q8[j];
            sum += (signs & (1 << j)) != 0 ? -p : p;
        }
        return sum;
    }

    /// <summary>Two 32-bit IQ3 grid entries as one group: the first gives weights 0-3, the second 4-7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Pair(uint first, uint second) => first | (ulong)second << 32;
}

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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

    /// <summary>
    /// Eight int32 lanes summing to <c>Σ_k scale_k·w_k·q_k</c> over 32 weights and quants (AVX2), where
    /// <paramref name="scale"/> holds one int16 per pair of elements (the lower 128 bits serve elements 0-15, the upper
    /// 16-31). vpmaddubsw wants one unsigned operand, so it multiplies |q| by w carrying q's sign: that stays exact for
    /// q = −128, where moving w's sign onto q would not. Exact for |w| ≤ 127: a pair sum is at most 2·127·128 &lt; 2^15,
    /// so vpmaddubsw does not saturate, and two int16 products fit an int32.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> ScaledLanes(Vector256<sbyte> w, Vector256<sbyte> q, Vector256<short> scale) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.Abs(q), Avx2.Sign(w, q)), scale);

    /// <summary>Four groups' magnitudes (each eight bytes) in one vector, group 0 lowest: a sub-block of 32 weights.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<sbyte> Groups(ulong g0, ulong g1, ulong g2, ulong g3) => Vector256.Create(g0, g1, g2, g3).AsSByte();

    /// <summary>
    /// Bits <paramref name="start"/> .. start + length − 1 of <paramref name="value"/>: one bextr where BMI1 has it
    /// (every AVX2 CPU), instead of a copy, a shift and a mask for each sign index.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Bits(uint value, byte start, byte length) =>
        Bmi1.IsSupported ? Bmi1.BitFieldExtract(value, start, length) : (value >> start) & ((1u << length) - 1);

    /// <summary>
    /// Eight int32 lanes summing to <c>Σ_k scale_k·sign_k·m_k·q_k</c> over 32 unsigned magnitudes m (at most 127), signs
    /// (±1 bytes) and activation quants q (AVX2), as <see cref="ScaledLanes"/> lays them out. The sign goes onto q
    /// (vpsignb) and vpmaddubsw takes the magnitudes as its unsigned operand: one instruction fewer than signing the
    /// weights and moving their sign onto |q|, and in a multi-token dot the signed weights are never formed. Exact while
    /// q ≠ −128, which Q8_K never holds (its scale is −127/max, so |q| ≤ 127).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> SignedLanes(Vector256<byte> magnitudes, Vector256<sbyte> signs, Vector256<sbyte> q, Vector256<short> scale) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(magnitudes, Avx2.Sign(q, signs)), scale);

    /// <summary>
    /// The signs of 32 weights as bytes, −1 where bit k of <paramref name="signs"/> is set and +1 elsewhere (AVX2): the
    /// sign word is broadcast, byte g of it copied to bytes 8g .. 8g+7, and each of those tests its own bit. For types
    /// that store all 32 signs of a sub-block as they are (IQ2_S), where this beats four table loads.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<sbyte> SignsWhere(uint signs)
    {
        // The constants as 64-bit lanes (byte j of lane g is g, and bit j): small IL, so this still inlines into a
        // fully unrolled super-block.
        Vector256<byte> spread = Avx2.Shuffle(Vector256.Create(signs).AsByte(),
            Vector256.Create(0UL, 0x0101010101010101UL, 0x0202020202020202UL, 0x0303030303030303UL).AsByte());
        Vector256<byte> bit = Vector256.Create(0x8040201008040201UL).AsByte();
        return (Vector256.Equals(spread & bit, bit) | Vector256.Create((byte)1)).AsSByte();
    }
}

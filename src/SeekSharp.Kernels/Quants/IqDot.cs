using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// What <see cref="IqDot{T}"/> needs to know of a grid-and-sign type (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S): where
/// a sub-block's magnitudes, signs and scales are. Every value is <c>d·unit·(2s + 1)·magnitude·(±1)</c> (IQ2:
/// <c>(d·(0.5 + s)·0.25)</c>, unit 1/8; IQ3_XXS: <c>d·(0.5 + s)·0.5</c>, unit 1/4; IQ3_S: <c>d·(1 + 2s)</c>, unit 1), so
/// the dot works with the odd integer scale and multiplies by the unit at the end.
/// </summary>
internal unsafe interface IIqLayout
{
    /// <summary>Bytes per super-block of 256 weights; the half scale d is at offset 0.</summary>
    static abstract int BlockBytes { get; }

    /// <summary>The magnitude grid: eight bytes per IQ2 entry; the IQ3 types' four-byte entries two to an element.</summary>
    static abstract ulong[] Grid { get; }

    /// <summary>The value of one step of the odd scale (see above): 1/8, 1/4 or 1.</summary>
    static abstract float Unit { get; }

    /// <summary>The sign table the vector path indexes: eight bytes of +1 or −1 per entry.</summary>
    static abstract ulong[] SignBytes { get; }

    /// <summary>
    /// Group g (0..3) of sub-block ib: its eight magnitudes, its sign bits (bit j → element j negative) and its odd
    /// scale <c>2s + 1</c>. The scalar path's view of the block.
    /// </summary>
    static abstract void Group(byte* wb, int ib, int g, out ulong magnitudes, out int signs, out int scale);

    /// <summary>
    /// Sub-block ib's 32 magnitudes (at most 62), their signs (a byte of −1 where the weight is negative, +1 elsewhere)
    /// and its odd scales, one int16 per pair of elements (AVX2). The vector path's view of the block: it must give the
    /// values <see cref="Group"/> gives.
    /// </summary>
    static abstract Vector256<byte> Weights(byte* wb, int ib, ulong* grid, ulong* signBytes, out Vector256<sbyte> signs, out Vector256<short> scale);
}

/// <summary>
/// The dots of the IQ2 and IQ3 grid types against Q8_K activations. Per super-block eight exact int32 lanes, lane l =
/// <c>Σ_ib Σ_{j=4l}^{4l+3} (2s + 1)·±magnitude_j·q_j</c> over the elements 32ib + j (|lane| ≤ 8·31·4·62·127 &lt; 2^24,
/// so its conversion to float is exact), then one float step per super-block, <c>acc_l = fma(d·y_d, lane_l, acc_l)</c>,
/// and <c>unit·</c><see cref="Int8BlockDot.Sum(Vector256{float})"/> at the end. ggml's scalar dots sum each
/// super-block's integer before its float step; the lanes are the order its AVX2 dots use, and the one that spares
/// the vector tier a horizontal sum per block. The vector tiers compute the same lanes with AVX2 (the Vector512 tier
/// runs the 256-bit code), so every tier gives the same bits.
/// </summary>
internal static unsafe class IqDot<T> where T : struct, IIqLayout
{
    public static float Dot(byte* w, byte* x, int blocks, SimdTier tier)
    {
        if (tier != SimdTier.Scalar && Avx2.IsSupported)
        {
            return DotAvx2(w, x, blocks);
        }
        float* acc = stackalloc float[Int8BlockDot.Lanes];
        int* lanes = stackalloc int[Int8BlockDot.Lanes];
        new Span<float>(acc, Int8BlockDot.Lanes).Clear();
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * T.BlockBytes;
            byte* xb = x + (long)b * Q8_K.BlockBytes;
            BlockLanes(wb, (sbyte*)(xb + Q8_K.QsOffset), lanes);
            float d = F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb)) * Unsafe.ReadUnaligned<float>(xb);
            for (int l = 0; l < Int8BlockDot.Lanes; l++)
            {
                acc[l] = MathF.FusedMultiplyAdd(d, lanes[l], acc[l]);
            }
        }
        return T.Unit * Int8BlockDot.Sum(acc);
    }

    // Not inlined into Dot: as its own compilation root it keeps the inlining budget for its eight sub-blocks (inlined
    // into Dot, they stayed calls and the dot took 25 instead of 14 ns per super-block).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float DotAvx2(byte* w, byte* x, int blocks)
    {
        fixed (ulong* grid = T.Grid, signs = T.SignBytes)
        {
            Vector256<float> acc = Vector256<float>.Zero;
            for (int b = 0; b < blocks; b++)
            {
                byte* wb = w + (long)b * T.BlockBytes;
                byte* xb = x + (long)b * Q8_K.BlockBytes;
                PrefetchBlock(wb);
                acc = Step(acc, F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb)), xb, BlockLanesAvx2(wb, (sbyte*)(xb + Q8_K.QsOffset), grid, signs));
            }
            return T.Unit * Int8BlockDot.Sum(acc);
        }
    }

    /// <summary>
    /// <see cref="Dot"/> of one weight row with four activation rows (<c>x + t·xStride</c>), written to
    /// <c>y[t·yStride]</c>: each sub-block's signed weights are unpacked once for the four tokens. Each output is
    /// <see cref="Dot"/> of its pair bit for bit.
    /// </summary>
    public static void Dot4(byte* w, byte* x, long xStride, int blocks, float* y, long yStride, SimdTier tier)
    {
        if (tier == SimdTier.Scalar || !Avx2.IsSupported)
        {
            for (int t = 0; t < 4; t++)
            {
                y[t * yStride] = Dot(w, x + t * xStride, blocks, tier);
            }
            return;
        }
        fixed (ulong* grid = T.Grid, signs = T.SignBytes)
        {
            Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
            for (int b = 0; b < blocks; b++)
            {
                byte* wb = w + (long)b * T.BlockBytes;
                PrefetchBlock(wb);
                byte* x0 = x + (long)b * Q8_K.BlockBytes, x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
                Vector256<int> l0 = Vector256<int>.Zero, l1 = l0, l2 = l0, l3 = l0;
                for (int ib = 0; ib < 8; ib++)
                {
                    Vector256<byte> magnitudes = T.Weights(wb, ib, grid, signs, out Vector256<sbyte> sign, out Vector256<short> scale);
                    int o = Q8_K.QsOffset + 32 * ib;
                    l0 += IqGroup.SignedLanes(magnitudes, sign, Vector256.Load((sbyte*)(x0 + o)), scale);
                    l1 += IqGroup.SignedLanes(magnitudes, sign, Vector256.Load((sbyte*)(x1 + o)), scale);
                    l2 += IqGroup.SignedLanes(magnitudes, sign, Vector256.Load((sbyte*)(x2 + o)), scale);
                    l3 += IqGroup.SignedLanes(magnitudes, sign, Vector256.Load((sbyte*)(x3 + o)), scale);
                }
                float dw = F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb));
                acc0 = Step(acc0, dw, x0, l0);
                acc1 = Step(acc1, dw, x1, l1);
                acc2 = Step(acc2, dw, x2, l2);
                acc3 = Step(acc3, dw, x3, l3);
            }
            y[0] = T.Unit * Int8BlockDot.Sum(acc0);
            y[yStride] = T.Unit * Int8BlockDot.Sum(acc1);
            y[2 * yStride] = T.Unit * Int8BlockDot.Sum(acc2);
            y[3 * yStride] = T.Unit * Int8BlockDot.Sum(acc3);
        }
    }

    /// <summary>One super-block's float step: <c>acc = fma(d·y_d, lanes, acc)</c>, y_d read from the Q8_K block <paramref name="xb"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Step(Vector256<float> acc, float d, byte* xb, Vector256<int> lanes) =>
        Vector256.FusedMultiplyAdd(Vector256.Create(d * Unsafe.ReadUnaligned<float>(xb)), Vector256.ConvertToSingle(lanes), acc);

    /// <summary>Asks for the lines of the super-block <see cref="StreamPrefetch.Distance"/> bytes ahead.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchBlock(byte* wb)
    {
        StreamPrefetch.Ahead(wb);
        if (T.BlockBytes > 65)
        {
            StreamPrefetch.Ahead(wb + 64);   // IQ3's 98- and 110-byte blocks can span three lines (a constant test)
        }
        StreamPrefetch.Ahead(wb + T.BlockBytes - 1);
    }

    /// <summary>
    /// The eight lanes of one super-block; <paramref name="q8"/> is the Q8_K block's quants. The sub-blocks are written
    /// out, into two sums: no loop counter, and independent work between the table loads (2 % faster for IQ2_XXS than
    /// a loop over pairs of sub-blocks).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> BlockLanesAvx2(byte* wb, sbyte* q8, ulong* grid, ulong* signs)
    {
        Vector256<int> even = SubBlock(wb, 0, q8, grid, signs);
        Vector256<int> odd = SubBlock(wb, 1, q8, grid, signs);
        even += SubBlock(wb, 2, q8, grid, signs);
        odd += SubBlock(wb, 3, q8, grid, signs);
        even += SubBlock(wb, 4, q8, grid, signs);
        odd += SubBlock(wb, 5, q8, grid, signs);
        even += SubBlock(wb, 6, q8, grid, signs);
        odd += SubBlock(wb, 7, q8, grid, signs);
        return even + odd;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> SubBlock(byte* wb, int ib, sbyte* q8, ulong* grid, ulong* signs)
    {
        Vector256<byte> magnitudes = T.Weights(wb, ib, grid, signs, out Vector256<sbyte> sign, out Vector256<short> scale);
        return IqGroup.SignedLanes(magnitudes, sign, Vector256.Load(q8 + 32 * ib), scale);
    }

    /// <summary>Scalar twin of <see cref="BlockLanesAvx2"/>: lane l gets <c>(2s + 1)·±magnitude·q</c> of elements 4l .. 4l+3 of every sub-block.</summary>
    private static void BlockLanes(byte* wb, sbyte* q8, int* lanes)
    {
        new Span<int>(lanes, Int8BlockDot.Lanes).Clear();
        for (int ib = 0; ib < 8; ib++)
        {
            for (int g = 0; g < 4; g++)
            {
                T.Group(wb, ib, g, out ulong magnitudes, out int signs, out int scale);
                for (int j = 0; j < 8; j++)
                {
                    int p = (byte)(magnitudes >> (8 * j)) * q8[32 * ib + 8 * g + j];
                    lanes[(8 * g + j) / 4] += scale * ((signs & (1 << j)) != 0 ? -p : p);
                }
            }
        }
    }
}

using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_IQ2_XXS: super-blocks of 256 weights in 8 sub-blocks of 32, 66 bytes each (ggml-common.h block_iq2_xxs):
/// <code>
/// offset 0  ushort d       super-block scale, IEEE half
/// offset 2  byte   qs[64]  sub-block ib: 8 bytes at 2 + 8ib, read as two little-endian uints a0, a1
///   group l = 0..3 (elements 32ib + 8l .. +7): magnitudes = Iq2XxsGrid[byte l of a0],
///                                             signs = KSigns[(a1 &gt;&gt; 7l) &amp; 127] (bit j → element j negative)
///   scale s = a1 &gt;&gt; 28 (4 bits)
/// value = (d·(0.5 + s)·0.25)·magnitude·(±1)
/// </code>
/// Its vec_dot_type is Q8_K. 2.06 bits per weight: the smallest of llama.cpp's "true" 2-bit types.
/// </summary>
internal static class IQ2_XXS
{
    public const int BlockSize = Q8_K.BlockSize;
    public const int BlockBytes = 66;
    private const int QsOffset = 2;

    /// <summary>dequantize_row_iq2_xxs: <c>y = ((d·(0.5 + s))·0.25)·magnitude·(±1)</c>, rounded to float at each step.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        ulong[] grid = Iq2Grids.Iq2XxsGrid;
        byte[] signTable = Iq2Grids.KSigns;
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * BlockBytes, BlockBytes);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            float d = F16.ToSingle(MemoryMarshal.Read<ushort>(block));
            for (int ib = 0; ib < 8; ib++)
            {
                ReadOnlySpan<byte> sub = block.Slice(QsOffset + 8 * ib, 8);
                uint a1 = MemoryMarshal.Read<uint>(sub[4..]);
                // Same float steps as ggml: the 4-bit scale plus a half, times d, then the quarter.
                float db = d * (0.5f + (a1 >> 28)) * 0.25f;
                for (int l = 0; l < 4; l++)
                {
                    ulong magnitudes = grid[sub[l]];
                    int signs = signTable[(a1 >> (7 * l)) & 127];
                    Span<float> yg = y.Slice(32 * ib + 8 * l, 8);
                    IqGroup.Decode(yg, db, magnitudes, signs);
                }
            }
        }
    }

    /// <summary>
    /// IQ2_XXS row · Q8_K activation over <paramref name="blocks"/> super-blocks. Per super-block eight exact int32
    /// lanes, lane l = <c>Σ_ib (2s_ib + 1)·Σ_{j=4l}^{4l+3} ±magnitude_j·q8_j</c> over the elements 32ib + j (the odd
    /// scale is the doubled <c>0.5 + s</c>; |lane| ≤ 8·31·4·43·128 &lt; 2^24, so its conversion to float is exact), then
    /// one float step per super-block, <c>acc_l = fma(d·y_d, lane_l, acc_l)</c>, and
    /// <c>0.125·</c><see cref="Int8BlockDot.Sum(Vector256{float})"/> at the end (the 0.25 and the undoubling). ggml's
    /// scalar dot sums each super-block's integer before its float step; the lanes are the order its AVX2 dot uses,
    /// and the one that lets the vector tier skip a horizontal sum per block. The vector tiers compute the same lanes
    /// with AVX2 (the Vector512 tier runs the 256-bit code), so every tier gives the same bits.
    /// </summary>
    public static unsafe float Dot(byte* w, byte* x, int blocks, SimdTier tier)
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
            byte* wb = w + (long)b * BlockBytes;
            byte* xb = x + (long)b * Q8_K.BlockBytes;
            BlockLanes(wb, (sbyte*)(xb + Q8_K.QsOffset), lanes);
            float d = F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb)) * Unsafe.ReadUnaligned<float>(xb);
            for (int l = 0; l < Int8BlockDot.Lanes; l++)
            {
                acc[l] = MathF.FusedMultiplyAdd(d, lanes[l], acc[l]);
            }
        }
        return 0.125f * Int8BlockDot.Sum(acc);
    }

    /// <summary><see cref="Dot"/> with AVX2: the same lanes and float steps.</summary>
    private static unsafe float DotAvx2(byte* w, byte* x, int blocks)
    {
        fixed (ulong* grid = Iq2Grids.Iq2XxsGrid, signs = Iq2Grids.KSignBytes)
        {
            Vector256<float> acc = Vector256<float>.Zero;
            for (int b = 0; b < blocks; b++)
            {
                byte* wb = w + (long)b * BlockBytes;
                byte* xb = x + (long)b * Q8_K.BlockBytes;
                PrefetchBlock(wb);
                acc = Step(acc, F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb)), xb, BlockLanesAvx2(wb + QsOffset, (sbyte*)(xb + Q8_K.QsOffset), grid, signs));
            }
            return 0.125f * Int8BlockDot.Sum(acc);
        }
    }

    /// <summary>
    /// <see cref="Dot"/> of one weight row with four activation rows (<c>x + t·xStride</c>), written to
    /// <c>y[t·yStride]</c>: each sub-block's signed weights are unpacked once for the four tokens. Each output is
    /// <see cref="Dot"/> of its pair bit for bit.
    /// </summary>
    public static unsafe void Dot4(byte* w, byte* x, long xStride, int blocks, float* y, long yStride, SimdTier tier)
    {
        if (tier == SimdTier.Scalar || !Avx2.IsSupported)
        {
            for (int t = 0; t < 4; t++)
            {
                y[t * yStride] = Dot(w, x + t * xStride, blocks, tier);
            }
            return;
        }
        fixed (ulong* grid = Iq2Grids.Iq2XxsGrid, signs = Iq2Grids.KSignBytes)
        {
            Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
            for (int b = 0; b < blocks; b++)
            {
                byte* wb = w + (long)b * BlockBytes;
                PrefetchBlock(wb);
                byte* x0 = x + (long)b * Q8_K.BlockBytes, x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
                Vector256<int> l0 = Vector256<int>.Zero, l1 = l0, l2 = l0, l3 = l0;
                for (int ib = 0; ib < 8; ib++)
                {
                    Vector256<sbyte> ws = SignedWeights(wb + QsOffset + 8 * ib, grid, signs, out Vector256<short> scale);
                    int o = Q8_K.QsOffset + 32 * ib;
                    l0 += IqGroup.ScaledLanes(ws, Vector256.Load((sbyte*)(x0 + o)), scale);
                    l1 += IqGroup.ScaledLanes(ws, Vector256.Load((sbyte*)(x1 + o)), scale);
                    l2 += IqGroup.ScaledLanes(ws, Vector256.Load((sbyte*)(x2 + o)), scale);
                    l3 += IqGroup.ScaledLanes(ws, Vector256.Load((sbyte*)(x3 + o)), scale);
                }
                float dw = F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb));
                acc0 = Step(acc0, dw, x0, l0);
                acc1 = Step(acc1, dw, x1, l1);
                acc2 = Step(acc2, dw, x2, l2);
                acc3 = Step(acc3, dw, x3, l3);
            }
            y[0] = 0.125f * Int8BlockDot.Sum(acc0);
            y[yStride] = 0.125f * Int8BlockDot.Sum(acc1);
            y[2 * yStride] = 0.125f * Int8BlockDot.Sum(acc2);
            y[3 * yStride] = 0.125f * Int8BlockDot.Sum(acc3);
        }
    }

    /// <summary>One super-block's float step: <c>acc = fma(d·y_d, lanes, acc)</c>, y_d read from the Q8_K block <paramref name="xb"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<float> Step(Vector256<float> acc, float d, byte* xb, Vector256<int> lanes) =>
        Vector256.FusedMultiplyAdd(Vector256.Create(d * Unsafe.ReadUnaligned<float>(xb)), Vector256.ConvertToSingle(lanes), acc);

    /// <summary>Asks for the lines of the super-block <see cref="StreamPrefetch.Distance"/> bytes ahead (66 bytes span at most two lines).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchBlock(byte* wb)
    {
        StreamPrefetch.Ahead(wb);
        StreamPrefetch.Ahead(wb + BlockBytes - 1);
    }

    /// <summary>
    /// The eight lanes of one super-block (see <see cref="Dot"/>); <paramref name="qs"/> is its grid and sign data,
    /// <paramref name="q8"/> the Q8_K block's quants. The sub-blocks are written out, into two sums: no loop counter,
    /// and independent work between the table loads (2 % faster than a loop over pairs).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<int> BlockLanesAvx2(byte* qs, sbyte* q8, ulong* grid, ulong* signs)
    {
        Vector256<int> even = SubBlock(qs, q8, grid, signs);
        Vector256<int> odd = SubBlock(qs + 8, q8 + 32, grid, signs);
        even += SubBlock(qs + 16, q8 + 64, grid, signs);
        odd += SubBlock(qs + 24, q8 + 96, grid, signs);
        even += SubBlock(qs + 32, q8 + 128, grid, signs);
        odd += SubBlock(qs + 40, q8 + 160, grid, signs);
        even += SubBlock(qs + 48, q8 + 192, grid, signs);
        odd += SubBlock(qs + 56, q8 + 224, grid, signs);
        return even + odd;
    }

    /// <summary>One sub-block's eight int32 lanes: <see cref="SignedWeights"/> against its 32 quants, times its scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<int> SubBlock(byte* sub, sbyte* q8, ulong* grid, ulong* signs) =>
        IqGroup.ScaledLanes(SignedWeights(sub, grid, signs, out Vector256<short> scale), Vector256.Load(q8), scale);

    /// <summary>
    /// The 32 weights of the sub-block at <paramref name="sub"/> as signed bytes (±8, ±25 or ±43) and its odd scale
    /// <c>2s + 1</c> in every int16 lane: four grid loads, four loads from the byte-wide sign table, one vpsignb.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<sbyte> SignedWeights(byte* sub, ulong* grid, ulong* signs, out Vector256<short> scale)
    {
        uint a1 = Unsafe.ReadUnaligned<uint>(sub + 4);
        Vector256<sbyte> magnitudes = IqGroup.Groups(grid[sub[0]], grid[sub[1]], grid[sub[2]], grid[sub[3]]);
        Vector256<sbyte> sign = IqGroup.Groups(signs[a1 & 127], signs[IqGroup.Bits(a1, 7, 7)], signs[IqGroup.Bits(a1, 14, 7)], signs[IqGroup.Bits(a1, 21, 7)]);
        scale = Vector256.Create((short)(2 * (a1 >> 28) + 1));
        return Avx2.Sign(magnitudes, sign);
    }

    /// <summary>
    /// Scalar twin of <see cref="BlockLanesAvx2"/>: lane l gets <c>(2s + 1)·±magnitude·q8</c> of elements 4l .. 4l+3
    /// of every sub-block, all exact in int32.
    /// </summary>
    private static unsafe void BlockLanes(byte* wb, sbyte* q8, int* lanes)
    {
        ulong[] grid = Iq2Grids.Iq2XxsGrid;
        byte[] signTable = Iq2Grids.KSigns;
        new Span<int>(lanes, Int8BlockDot.Lanes).Clear();
        for (int ib = 0; ib < 8; ib++)
        {
            byte* sub = wb + QsOffset + 8 * ib;
            uint a1 = Unsafe.ReadUnaligned<uint>(sub + 4);
            int scale = (int)(2 * (a1 >> 28) + 1);
            for (int g = 0; g < 4; g++)
            {
                ulong magnitudes = grid[sub[g]];
                int signs = signTable[(a1 >> (7 * g)) & 127];
                for (int j = 0; j < 8; j++)
                {
                    int p = (byte)(magnitudes >> (8 * j)) * q8[32 * ib + 8 * g + j];
                    lanes[(8 * g + j) / 4] += scale * ((signs & (1 << j)) != 0 ? -p : p);
                }
            }
        }
    }
}

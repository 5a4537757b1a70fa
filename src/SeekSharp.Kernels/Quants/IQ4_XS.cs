using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_IQ4_XS: super-blocks of 256 weights in 8 sub-blocks of 32, 136 bytes each (ggml-common.h block_iq4_xs):
/// <code>
/// offset 0  ushort d            super-block scale, IEEE half
/// offset 2  ushort scales_h     bits 2ib..2ib+1: the high 2 bits of sub-block ib's scale
/// offset 4  byte   scales_l[4]  nibble ib % 2 of byte ib / 2: the low 4 bits of sub-block ib's scale
/// offset 8  byte   qs[128]      sub-block ib packs qs[16ib ..] as an IQ4_NL block: low nibble of byte j →
///                               element 32ib + j, high nibble → element 32ib + 16 + j
/// ls = 6-bit scale of sub-block ib, value = (d·(ls − 32))·Codebook[nibble]
/// </code>
/// Its vec_dot_type is Q8_K.
/// </summary>
internal static class IQ4_XS
{
    public const int BlockSize = Q8_K.BlockSize;
    public const int BlockBytes = 136;
    private const int ScalesHOffset = 2;
    private const int ScalesLOffset = 4;
    private const int QsOffset = 8;

    /// <summary>
    /// Reference quantizer (ggml-quants.c quantize_row_iq4_xs_ref: quantize_iq4_xs with no importance matrix): each
    /// sub-block gets IQ4_NL's scale fit (<see cref="IQ4_NL.FitScale"/>, 7 tries); the super-block scale is
    /// <c>d = −s/32</c> for the sub-block scale s of largest magnitude, so that s itself codes as −32, the one end of
    /// the 6-bit range. Each sub-block keeps <c>clamp(nearest_int(s_ib/d), −32, 31)</c> and its weights are requantized
    /// against that stored sub-block scale <c>d·l</c> (d in float, before the half rounding).
    /// </summary>
    public static void QuantizeReference(ReadOnlySpan<float> src, Span<byte> dst) => Quantize(src, default, dst);

    /// <summary>
    /// What llama-quantize writes with an importance matrix (quantize_iq4_xs with quant_weights), one row of
    /// <paramref name="src"/>: each sub-block's fit weighs its weights by <c>importance·sqrt(σ² + x²)</c>, σ² twice the
    /// super-block's mean square, instead of x².
    /// </summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst) => Quantize(src, columnWeights, dst);

    private static void Quantize(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst)
    {
        Debug.Assert(src.Length % BlockSize == 0 && dst.Length == src.Length / BlockSize * BlockBytes);
        Span<byte> levels = stackalloc byte[32];
        Span<float> weights = stackalloc float[32];
        Span<float> scales = stackalloc float[8];
        for (int b = 0; b < src.Length / BlockSize; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> block = dst.Slice(b * BlockBytes, BlockBytes);

            float maxScale = 0f, amaxScale = 0f;
            float sigma2 = columnWeights.IsEmpty ? 0f : WeightedFits.SumOfSquares(x) * (2f / BlockSize);
            for (int ib = 0; ib < 8; ib++)
            {
                if (!columnWeights.IsEmpty)
                    WeightedFits.Importance(x.Slice(32 * ib, 32), columnWeights.Slice(b * BlockSize + 32 * ib, 32), sigma2, weights);
                scales[ib] = IQ4_NL.FitScale(x.Slice(32 * ib, 32), levels, IQ4_NL.ScaleTries, columnWeights.IsEmpty ? default : weights);
                float a = MathF.Abs(scales[ib]);
                if (a > amaxScale)
                {
                    amaxScale = a;
                    maxScale = scales[ib];
                }
            }

            // An all-zero super-block gives d = −0, stored as the half 0x8000, as in ggml.
            float d = -maxScale / 32f;
            MemoryMarshal.Write(block, F16.FromSingle(d));
            float id = d != 0f ? 1f / d : 0f;
            ushort scalesH = 0;
            Span<byte> scalesL = block.Slice(ScalesLOffset, 4);
            scalesL.Clear();
            for (int ib = 0; ib < 8; ib++)
            {
                int l = Math.Clamp(Q8_K.NearestInt(id * scales[ib]), -32, 31);
                float dl = d * l;
                float idl = dl != 0f ? 1f / dl : 0f;
                ReadOnlySpan<float> xb = x.Slice(32 * ib, 32);
                for (int j = 0; j < 32; j++)
                {
                    levels[j] = (byte)IQ4_NL.NearestLevel(idl * xb[j]);
                }
                IQ4_NL.Pack(levels, block.Slice(QsOffset + 16 * ib, 16));
                int ls = l + 32;
                scalesL[ib / 2] |= (byte)((ls & 0x0F) << (4 * (ib & 1)));
                scalesH |= (ushort)((ls >> 4) << (2 * ib));
            }
            MemoryMarshal.Write(block[ScalesHOffset..], scalesH);
        }
    }

    /// <summary>
    /// ggml-quants.c dequantize_row_iq4_xs: <c>dl = d * (ls - 32)</c> rounded once per sub-block, then
    /// <c>y = dl * Codebook[nibble]</c>.
    /// </summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
        => Dequantize(src, dst, SimdCapabilities.Best);

    /// <summary>The decoder at <paramref name="tier"/>: eight lanes at a time (<see cref="DequantizeLanes"/>) or the scalar twin, the same bits.</summary>
    internal static unsafe void Dequantize(ReadOnlySpan<byte> src, Span<float> dst, SimdTier tier) =>
        DequantizeLanes.Run<LaneDecoder>(src, dst, tier, &DequantizeScalar);

    private readonly unsafe struct LaneDecoder : DequantizeLanes.IBlockDecoder
    {
        public static int BlockSize => IQ4_XS.BlockSize;
        public static int BlockBytes => IQ4_XS.BlockBytes;

        public static void Decode(byte* block, float* y)
        {
            Vector128<sbyte> codebook = Vector128.Create(IQ4_NL.Codebook);
            float d = F16.ToSingle(Unsafe.ReadUnaligned<ushort>(block));
            ushort scalesH = Unsafe.ReadUnaligned<ushort>(block + ScalesHOffset);
            for (int ib = 0; ib < 8; ib++)
            {
                float dl = d * (SubBlockScale(scalesH, block[ScalesLOffset + ib / 2], ib) - 32);
                DequantizeLanes.Lookup16(codebook, block + QsOffset + 16 * ib, out var low, out var high);
                DequantizeLanes.StoreScaled16(y + 32 * ib, low, dl);
                DequantizeLanes.StoreScaled16(y + 32 * ib + 16, high, dl);
            }
        }
    }

    private static void DequantizeScalar(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        ReadOnlySpan<sbyte> k = IQ4_NL.Codebook;
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * BlockBytes, BlockBytes);
            float d = F16.ToSingle(MemoryMarshal.Read<ushort>(block));
            ushort scalesH = MemoryMarshal.Read<ushort>(block[ScalesHOffset..]);
            for (int ib = 0; ib < 8; ib++)
            {
                float dl = d * (SubBlockScale(scalesH, block[ScalesLOffset + ib / 2], ib) - 32);
                ReadOnlySpan<byte> qs = block.Slice(QsOffset + 16 * ib, 16);
                Span<float> y = dst.Slice(b * BlockSize + 32 * ib, 32);
                for (int j = 0; j < 16; j++)
                {
                    y[j] = dl * k[qs[j] & 0x0F];
                    y[j + 16] = dl * k[qs[j] >> 4];
                }
            }
        }
    }

    /// <summary>The 6-bit scale ls (0..63) of sub-block <paramref name="ib"/>; <paramref name="scalesL"/> is byte ib / 2 of scales_l.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SubBlockScale(ushort scalesH, byte scalesL, int ib) =>
        ((scalesL >> (4 * (ib & 1))) & 0x0F) | (((scalesH >> (2 * ib)) & 3) << 4);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe short SignedScale(byte* wb, int ib) =>
        (short)(SubBlockScale(Unsafe.ReadUnaligned<ushort>(wb + ScalesHOffset), wb[ScalesLOffset + ib / 2], ib) - 32);

    /// <summary>
    /// IQ4_XS row · Q8_K activation over <paramref name="blocks"/> super-blocks. Each super-block gives eight exact
    /// int32 lanes, lane l = <c>Σ_ib (ls_ib − 32) · Σ_{j=4l}^{4l+3} level_j·y_j</c> over the sub-blocks' elements
    /// 32ib + j, and one float step per super-block, <c>acc_l = fma(y_d·d, lane_l, acc_l)</c>, ending with
    /// <see cref="Int8BlockDot.Sum(Vector256{float})"/>. |lane| ≤ 8·32·4·127·128 &lt; 2^24, so the conversion is exact.
    /// Every tier gives the same bits, since the lanes are exact integers and the float steps are the same. The
    /// Vector512 tier runs the 256-bit code: a 512-bit version (two sub-blocks per vector; AVX-512 has no vpsignb, so
    /// the levels took the activation's sign by a compare and a select) measured slower, 18.8 against 14.3 ns per
    /// super-block on a 2-core AMD EPYC with AVX-512 (one thread, 4096-column rows).
    /// </summary>
    public static unsafe float Dot(byte* w, byte* x, int blocks, SimdTier tier)
    {
        if (tier == SimdTier.Scalar)
        {
            return DotScalar(w, x, blocks);
        }
        Vector256<float> acc = Vector256<float>.Zero;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            byte* xb = x + (long)b * Q8_K.BlockBytes;
            PrefetchBlock(wb);
            acc = Step(acc, F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb)), xb, Lanes256(wb, (sbyte*)(xb + Q8_K.QsOffset)));
        }
        return Int8BlockDot.Sum(acc);
    }

    /// <summary>Asks for the lines of the super-block <see cref="StreamPrefetch.Distance"/> bytes ahead of <paramref name="wb"/> (the next block's first line covers its last bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchBlock(byte* wb)
    {
        StreamPrefetch.Ahead(wb);
        StreamPrefetch.Ahead(wb + 64);
        StreamPrefetch.Ahead(wb + 128);
    }

    /// <summary>
    /// <see cref="Dot"/> of one weight row with four activation rows (<c>x + t·xStride</c>), written to
    /// <c>y[t·yStride]</c>: each sub-block's levels and scale are unpacked once for the four tokens. Each output is
    /// <see cref="Dot"/> of its pair bit for bit.
    /// </summary>
    public static unsafe void Dot4(byte* w, byte* x, long xStride, int blocks, float* y, long yStride, SimdTier tier)
    {
        if (tier == SimdTier.Scalar)
        {
            for (int t = 0; t < 4; t++)
            {
                y[t * yStride] = DotScalar(w, x + t * xStride, blocks);
            }
            return;
        }
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            PrefetchBlock(wb);
            long o = (long)b * Q8_K.BlockBytes;
            byte* x0 = x + o, x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
            Vector256<int> l0 = Vector256<int>.Zero, l1 = l0, l2 = l0, l3 = l0;
            for (int ib = 0; ib < 8; ib++)
            {
                Vector256<sbyte> q = IQ4_NL.Levels(wb + QsOffset + 16 * ib);
                short s = SignedScale(wb, ib);
                int yo = Q8_K.QsOffset + 32 * ib;
                l0 += IQ4_NL.Partials(q, Vector256.Load((sbyte*)(x0 + yo)), s);
                l1 += IQ4_NL.Partials(q, Vector256.Load((sbyte*)(x1 + yo)), s);
                l2 += IQ4_NL.Partials(q, Vector256.Load((sbyte*)(x2 + yo)), s);
                l3 += IQ4_NL.Partials(q, Vector256.Load((sbyte*)(x3 + yo)), s);
            }
            float d = F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb));
            acc0 = Step(acc0, d, x0, l0);
            acc1 = Step(acc1, d, x1, l1);
            acc2 = Step(acc2, d, x2, l2);
            acc3 = Step(acc3, d, x3, l3);
        }
        y[0] = Int8BlockDot.Sum(acc0);
        y[yStride] = Int8BlockDot.Sum(acc1);
        y[2 * yStride] = Int8BlockDot.Sum(acc2);
        y[3 * yStride] = Int8BlockDot.Sum(acc3);
    }

    /// <summary>Scalar twin of <see cref="Dot"/>: the same lanes and float steps.</summary>
    private static unsafe float DotScalar(byte* w, byte* x, int blocks)
    {
        float* acc = stackalloc float[Int8BlockDot.Lanes];
        new Span<float>(acc, Int8BlockDot.Lanes).Clear();
        sbyte* q = stackalloc sbyte[32];
        int* lanes = stackalloc int[Int8BlockDot.Lanes];
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            byte* xb = x + (long)b * Q8_K.BlockBytes;
            sbyte* y = (sbyte*)(xb + Q8_K.QsOffset);
            new Span<int>(lanes, Int8BlockDot.Lanes).Clear();
            for (int ib = 0; ib < 8; ib++)
            {
                IQ4_NL.UnpackScalar(wb + QsOffset + 16 * ib, q);
                int s = SignedScale(wb, ib);
                for (int l = 0; l < Int8BlockDot.Lanes; l++)
                {
                    lanes[l] += s * Int8BlockDot.Lane(q, y + 32 * ib, l);
                }
            }
            float d = Unsafe.ReadUnaligned<float>(xb) * F16.ToSingle(Unsafe.ReadUnaligned<ushort>(wb));
            for (int l = 0; l < Int8BlockDot.Lanes; l++)
            {
                acc[l] = MathF.FusedMultiplyAdd(d, lanes[l], acc[l]);
            }
        }
        return Int8BlockDot.Sum(acc);
    }

    /// <summary>The eight integer lanes of one super-block (see <see cref="Dot"/>); <paramref name="y"/> is the Q8_K block's quants.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<int> Lanes256(byte* wb, sbyte* y)
    {
        // Two sub-blocks per step, their scales taken from one scales_l byte and the next four bits of scales_h, which
        // shifts along: SignedScale per sub-block cost about twenty scalar instructions of the loop's forty.
        Vector256<sbyte> table = IQ4_NL.LevelTable;
        uint high = Unsafe.ReadUnaligned<ushort>(wb + ScalesHOffset);
        Vector256<int> even = Vector256<int>.Zero, odd = Vector256<int>.Zero;
        for (int ib = 0; ib < 8; ib += 2)
        {
            uint low = wb[ScalesLOffset + ib / 2];
            short s0 = (short)(((low & 0x0F) | ((high << 4) & 0x30)) - 32);
            short s1 = (short)(((low >> 4) | ((high << 2) & 0x30)) - 32);
            high >>= 4;
            even += IQ4_NL.Partials(IQ4_NL.Levels(wb + QsOffset + 16 * ib, table), Vector256.Load(y + 32 * ib), s0);
            odd += IQ4_NL.Partials(IQ4_NL.Levels(wb + QsOffset + 16 * ib + 16, table), Vector256.Load(y + 32 * ib + 32), s1);
        }
        return even + odd;
    }

    /// <summary>One super-block's float step: <c>acc = fma(y_d·d, lanes, acc)</c>, y_d read from the Q8_K block <paramref name="xb"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<float> Step(Vector256<float> acc, float d, byte* xb, Vector256<int> lanes) =>
        Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.ReadUnaligned<float>(xb) * d), Vector256.ConvertToSingle(lanes), acc);
}

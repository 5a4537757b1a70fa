using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_Q2_K: super-blocks of 256 weights in 16 groups of 16, 84 bytes each (ggml-common.h block_q2_K):
/// <code>
/// offset  0  byte    scales[16]  group g: scale = scales[g] &amp; 0xF, minimum = scales[g] &gt;&gt; 4
/// offset 16  byte    qs[64]      2-bit quants
/// offset 80  ushort  d           super-block scale of the scales, IEEE half
/// offset 82  ushort  dmin        super-block scale of the minimums, IEEE half
/// Half h (elements 128h .. 128h+127) uses qs[32h .. 32h+31]; for j = 0..3 and l = 0..31,
///   element 128h + 32j + l = (qs[32h + l] &gt;&gt; 2j) &amp; 3, in group 8h + 2j + (l &gt;= 16 ? 1 : 0)
/// value = d·scale·q − dmin·minimum
/// </code>
/// Its vec_dot_type is Q8_K. Mixes such as Q2_K and Q3_K_S put it on the FFN and attention weights, and DeepSeek's
/// "dynamic" 2-bit quants on their experts.
/// </summary>
internal static class Q2_K
{
    public const int BlockSize = Q8_K.BlockSize;
    public const int BlockBytes = 84;
    private const int QsOffset = 16;
    private const int DOffset = 80;

    /// <summary>
    /// Reference quantizer (ggml-quants.c quantize_row_q2_K_ref, what llama-quantize runs without an importance
    /// matrix): per group of 16 an affine fit (make_qkx2_quants, levels 0..3, weights |x|, 16 candidate scales judged
    /// by weighted absolute error), group scales and minimums quantized to 4 bits against the super-block maxima, then
    /// every weight requantized against the stored (rounded) scale and minimum.
    /// </summary>
    public static void QuantizeReference(ReadOnlySpan<float> src, Span<byte> dst)
    {
        Debug.Assert(src.Length % BlockSize == 0 && dst.Length == src.Length / BlockSize * BlockBytes);
        Span<byte> levels = stackalloc byte[BlockSize];
        Span<byte> aux = stackalloc byte[16];
        Span<float> weights = stackalloc float[16];
        Span<float> scales = stackalloc float[16];
        Span<float> mins = stackalloc float[16];
        for (int b = 0; b < src.Length / BlockSize; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> block = dst.Slice(b * BlockBytes, BlockBytes);

            float maxScale = 0f, maxMin = 0f; // the minimum is subtracted, so both are non-negative
            for (int g = 0; g < 16; g++)
            {
                ReadOnlySpan<float> xs = x.Slice(16 * g, 16);
                for (int l = 0; l < 16; l++)
                {
                    weights[l] = MathF.Abs(xs[l]);
                }
                scales[g] = Q4_K.MakeQkx2Quants(3, xs, weights, levels.Slice(16 * g, 16), out mins[g], aux, -0.5f, 0.1f, 15, useMad: true);
                if (scales[g] > maxScale) maxScale = scales[g];
                if (mins[g] > maxMin) maxMin = mins[g];
            }

            // C stores each code's int straight into its byte (and shifts the minimum's into the high nibble):
            // the codes are 0..15 here, but keep the same truncation rather than clamping.
            Span<byte> packed = block[..16];
            ushort dBits = 0, dminBits = 0;
            packed.Clear();
            if (maxScale > 0)
            {
                float iscale = 15f / maxScale;
                for (int g = 0; g < 16; g++)
                {
                    packed[g] = (byte)Q8_K.NearestInt(iscale * scales[g]);
                }
                dBits = F16.FromSingle(maxScale / 15f);
            }
            if (maxMin > 0)
            {
                float iscale = 15f / maxMin;
                for (int g = 0; g < 16; g++)
                {
                    packed[g] |= (byte)(Q8_K.NearestInt(iscale * mins[g]) << 4);
                }
                dminBits = F16.FromSingle(maxMin / 15f);
            }
            MemoryMarshal.Write(block[DOffset..], dBits);
            MemoryMarshal.Write(block[(DOffset + 2)..], dminBits);

            RequantizeAndPack(x, block, levels, F16.ToSingle(dBits), F16.ToSingle(dminBits));
        }
    }

    // Both quantizers end alike: requantize against what a reader will see (the half super-scales times the 4-bit
    // codes), then pack four 2-bit levels per byte.
    private static void RequantizeAndPack(ReadOnlySpan<float> x, Span<byte> block, Span<byte> levels, float dAll, float dminAll)
    {
        ReadOnlySpan<byte> packed = block[..16];
        for (int g = 0; g < 16; g++)
        {
            float d = dAll * (packed[g] & 0xF);
            if (d == 0f)
            {
                continue; // keeps the levels of the fit, as ggml does
            }
            float dm = dminAll * (packed[g] >> 4);
            for (int l = 0; l < 16; l++)
            {
                int q = Q8_K.NearestInt((x[16 * g + l] + dm) / d);
                levels[16 * g + l] = (byte)Math.Clamp(q, 0, 3);
            }
        }

        Span<byte> qs = block.Slice(QsOffset, 64);
        for (int h = 0; h < 2; h++)
        {
            ReadOnlySpan<byte> L = levels.Slice(128 * h, 128);
            for (int l = 0; l < 32; l++)
            {
                qs[32 * h + l] = (byte)(L[l] | (L[l + 32] << 2) | (L[l + 64] << 4) | (L[l + 96] << 6));
            }
        }
    }

    /// <summary>
    /// What llama-quantize writes with an importance matrix (ggml-quants.c quantize_row_q2_K_impl), one row of
    /// <paramref name="src"/> with the importance of each of its columns: per group of 16 the weighted affine fit
    /// make_qkx3_quants (weights <c>importance·sqrt(σ² + x²)</c>, σ² the super-block's mean square, squared error,
    /// 37 candidate scales), the 16 scales and 16 minimums fitted to 4-bit codes by make_qp_quants over the groups'
    /// total weights, then every weight requantized against the stored values.
    /// </summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst)
    {
        Debug.Assert(src.Length % BlockSize == 0 && columnWeights.Length == src.Length && dst.Length == src.Length / BlockSize * BlockBytes);
        Span<byte> levels = stackalloc byte[BlockSize];
        Span<byte> aux = stackalloc byte[16], ls = stackalloc byte[16], lm = stackalloc byte[16];
        Span<float> weights = stackalloc float[16], scales = stackalloc float[16], mins = stackalloc float[16], sw = stackalloc float[16];
        for (int b = 0; b < src.Length / BlockSize; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> block = dst.Slice(b * BlockBytes, BlockBytes);
            float sigma2 = WeightedFits.SumOfSquares(x) / BlockSize;
            for (int g = 0; g < 16; g++)
            {
                ReadOnlySpan<float> xs = x.Slice(16 * g, 16);
                WeightedFits.Importance(xs, columnWeights.Slice(b * BlockSize + 16 * g, 16), sigma2, weights);
                float sumW = 0f;
                foreach (float w in weights) sumW += w;
                sw[g] = sumW;
                scales[g] = WeightedFits.MakeQkx3Quants(3, xs, weights, levels.Slice(16 * g, 16), out mins[g], aux, -0.9f, 0.05f, 36);
            }
            float dm = WeightedFits.MakeQpQuants(15, scales, ls, sw);
            float mm = WeightedFits.MakeQpQuants(15, mins, lm, sw);
            ushort dBits = F16.FromSingle(dm), dminBits = F16.FromSingle(mm);
            MemoryMarshal.Write(block[DOffset..], dBits);
            MemoryMarshal.Write(block[(DOffset + 2)..], dminBits);
            Span<byte> packed = block[..16];
            for (int g = 0; g < 16; g++)
            {
                packed[g] = (byte)(ls[g] | (lm[g] << 4));
            }
            RequantizeAndPack(x, block, levels, F16.ToSingle(dBits), F16.ToSingle(dminBits));
        }
    }

    /// <summary>dequantize_row_q2_K: <c>y = (d·scale)·q − dmin·minimum</c>, each product rounded to float.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
        => Dequantize(src, dst, SimdCapabilities.Best);

    /// <summary>The decoder at <paramref name="tier"/>: eight lanes at a time (<see cref="DequantizeLanes"/>) or the scalar twin, the same bits.</summary>
    internal static unsafe void Dequantize(ReadOnlySpan<byte> src, Span<float> dst, SimdTier tier) =>
        DequantizeLanes.Run<LaneDecoder>(src, dst, tier, &DequantizeScalar);

    private readonly unsafe struct LaneDecoder : DequantizeLanes.IBlockDecoder
    {
        public static int BlockSize => Q2_K.BlockSize;
        public static int BlockBytes => Q2_K.BlockBytes;

        public static void Decode(byte* block, float* y)
        {
            float d = F16.ToSingle(Unsafe.ReadUnaligned<ushort>(block + DOffset)), dmin = F16.ToSingle(Unsafe.ReadUnaligned<ushort>(block + DOffset + 2));
            for (int h = 0; h < 2; h++)
            {
                for (int j = 0; j < 4; j++)
                {
                    for (int part = 0; part < 2; part++)
                    {
                        byte sc = block[8 * h + 2 * j + part];
                        float dl = d * (sc & 0xF), ml = dmin * (sc >> 4);
                        for (int l = 0; l < 16; l += 8)
                        {
                            Vector256<int> q = DequantizeLanes.Widen(block + QsOffset + 32 * h + 16 * part + l);
                            DequantizeLanes.StoreAffine(y + 128 * h + 32 * j + 16 * part + l, (q >>> (2 * j)) & Vector256.Create(3), dl, ml);
                        }
                    }
                }
            }
        }
    }

    private static void DequantizeScalar(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * BlockBytes, BlockBytes);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            float d = F16.ToSingle(MemoryMarshal.Read<ushort>(block[DOffset..]));
            float dmin = F16.ToSingle(MemoryMarshal.Read<ushort>(block[(DOffset + 2)..]));
            for (int h = 0; h < 2; h++)
            {
                ReadOnlySpan<byte> q = block.Slice(QsOffset + 32 * h, 32);
                for (int j = 0; j < 4; j++)
                {
                    for (int part = 0; part < 2; part++)
                    {
                        byte sc = block[8 * h + 2 * j + part];
                        float dl = d * (sc & 0xF), ml = dmin * (sc >> 4);
                        for (int l = 0; l < 16; l++)
                        {
                            y[128 * h + 32 * j + 16 * part + l] = dl * ((q[16 * part + l] >> (2 * j)) & 3) - ml;
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Q2_K row · Q8_K activation over <paramref name="blocks"/> super-blocks. Per super-block the products go into
    /// eight exact int32 lanes S_l: lane l takes bytes 4l .. 4l+3 of each of the eight 32-quant pieces (one per half and
    /// shift), <c>scale[g]·Σ q·y</c> with g the bytes' group; the minimums into eight lanes
    /// <c>M_k = minimum[2k]·bsums[2k] + minimum[2k+1]·bsums[2k+1]</c> from the activation's group sums. They are
    /// scaled into float lanes, <c>acc_l = fma(y_d·d, S_l, acc_l)</c> and <c>accm_k = fma(y_d·(−dmin), M_k, accm_k)</c>,
    /// and reduced once at the end. Every tier gives the same bits: the Vector512 tier computes two pieces in the halves
    /// of a 512-bit vector and adds the halves, which is exact in integers.
    /// </summary>
    public static unsafe float Dot(byte* w, byte* x, int blocks, SimdTier tier)
    {
        if (tier == SimdTier.Scalar || !Avx2.IsSupported)
        {
            return DotScalar(w, x, blocks);
        }
        bool wide = tier == SimdTier.Vector512 && Avx512BW.IsSupported;
        Vector256<float> acc = Vector256<float>.Zero, accMin = Vector256<float>.Zero;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            byte* xb = x + (long)b * Q8_K.BlockBytes;
            Vector256<int> lanes = wide ? Lanes512(wb, xb) : Lanes256(wb, xb);
            (acc, accMin) = Step(acc, accMin, wb, xb, lanes);
        }
        return Int8BlockDot.Sum(acc) + Int8BlockDot.Sum(accMin);
    }

    /// <summary>
    /// <see cref="Dot"/> of one weight row with four activation rows (<c>x + t·xStride</c>), written to
    /// <c>y[t·yStride]</c>: each super-block's quants and scales are unpacked once for the four tokens. Every output is
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
        Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0, m0 = a0, m1 = a0, m2 = a0, m3 = a0;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            byte* x0 = x + (long)b * Q8_K.BlockBytes, x1 = x0 + xStride, x2 = x1 + xStride, x3 = x2 + xStride;
            Vector256<int> l0 = Vector256<int>.Zero, l1 = l0, l2 = l0, l3 = l0;
            for (int h = 0; h < 2; h++)
            {
                Vector256<byte> q = Vector256.Load(wb + QsOffset + 32 * h);
                for (int j = 0; j < 4; j++)
                {
                    Vector256<byte> v = Piece(q, j);
                    Vector256<short> s = PieceScales(wb, h, j);
                    int yo = Q8_K.QsOffset + 128 * h + 32 * j;
                    l0 += Products(v, (sbyte*)(x0 + yo), s);
                    l1 += Products(v, (sbyte*)(x1 + yo), s);
                    l2 += Products(v, (sbyte*)(x2 + yo), s);
                    l3 += Products(v, (sbyte*)(x3 + yo), s);
                }
            }
            (a0, m0) = Step(a0, m0, wb, x0, l0);
            (a1, m1) = Step(a1, m1, wb, x1, l1);
            (a2, m2) = Step(a2, m2, wb, x2, l2);
            (a3, m3) = Step(a3, m3, wb, x3, l3);
        }
        y[0] = Int8BlockDot.Sum(a0) + Int8BlockDot.Sum(m0);
        y[yStride] = Int8BlockDot.Sum(a1) + Int8BlockDot.Sum(m1);
        y[2 * yStride] = Int8BlockDot.Sum(a2) + Int8BlockDot.Sum(m2);
        y[3 * yStride] = Int8BlockDot.Sum(a3) + Int8BlockDot.Sum(m3);
    }

    /// <summary>One super-block's float steps: the scaled products and the minimums, each lane one fma.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe (Vector256<float>, Vector256<float>) Step(Vector256<float> acc, Vector256<float> accMin, byte* wb, byte* xb, Vector256<int> lanes)
    {
        float yd = Unsafe.ReadUnaligned<float>(xb);
        float d = F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb + DOffset));
        float dmin = F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb + DOffset + 2));
        // The minimums: their 4-bit values widened to int16 against the 16 group sums, pairs summed (vpmaddwd).
        Vector256<short> mins = Avx2.ConvertToVector256Int16(Vector128.ShiftRightLogical(Vector128.Load(wb), 4));
        Vector256<int> minLanes = Avx2.MultiplyAddAdjacent(mins, Vector256.Load((short*)(xb + Q8_K.BsumsOffset)));
        acc = Vector256.FusedMultiplyAdd(Vector256.Create(yd * d), Vector256.ConvertToSingle(lanes), acc);
        accMin = Vector256.FusedMultiplyAdd(Vector256.Create(yd * -dmin), Vector256.ConvertToSingle(minLanes), accMin);
        return (acc, accMin);
    }

    /// <summary>The quants of shift j of a half (32 bytes, 0..3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Piece(Vector256<byte> q, int j) =>
        Vector256.ShiftRightLogical(q.AsUInt16(), 2 * j).AsByte() & Vector256.Create((byte)3);

    /// <summary>The scales of piece (h, j) as int16 for vpmaddwd: groups 8h+2j (bytes 0..15) and 8h+2j+1 (bytes 16..31).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<short> PieceScales(byte* wb, int h, int j)
    {
        int g = 8 * h + 2 * j;
        return Vector256.Create(Vector128.Create((short)(wb[g] & 0xF)), Vector128.Create((short)(wb[g + 1] & 0xF)));
    }

    /// <summary>One piece's lanes: scales · Σ pairs q·y (each int16 pair sum fits: 2·3·128).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<int> Products(Vector256<byte> v, sbyte* y, Vector256<short> scales) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(v, Vector256.Load(y)), scales);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<int> Lanes256(byte* wb, byte* xb)
    {
        Vector256<int> acc = Vector256<int>.Zero;
        for (int h = 0; h < 2; h++)
        {
            Vector256<byte> q = Vector256.Load(wb + QsOffset + 32 * h);
            for (int j = 0; j < 4; j++)
            {
                acc += Products(Piece(q, j), (sbyte*)(xb + Q8_K.QsOffset + 128 * h + 32 * j), PieceScales(wb, h, j));
            }
        }
        return acc;
    }

    /// <summary>
    /// <see cref="Lanes256"/> with 512-bit vectors: pieces j and j+1 of a half, whose activation quants are 64
    /// consecutive bytes, in the two halves of one vector; the halves are added at the end. The sixteen scales are
    /// widened to int16 once per super-block and each pair of pieces picks its four groups with one vpermw: building
    /// them from scalar bytes per piece (<see cref="PieceScales"/>) took about 50 instructions per super-block and made
    /// this dot slower than llama.cpp's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<int> Lanes512(byte* wb, byte* xb)
    {
        // vpermw indexes 0..31; the picks use 0..15 only, so the upper half may hold anything.
        Vector512<short> scales = Avx2.ConvertToVector256Int16(Vector128.Load(wb) & Vector128.Create((byte)0xF)).ToVector512Unsafe();
        Vector512<byte> three = Vector512.Create((byte)3);
        sbyte* y = (sbyte*)(xb + Q8_K.QsOffset);
        Vector256<byte> q0 = Vector256.Load(wb + QsOffset), q1 = Vector256.Load(wb + QsOffset + 32);
        Vector512<ushort> h0 = Vector512.Create(q0, q0).AsUInt16(), h1 = Vector512.Create(q1, q1).AsUInt16();
        Vector512<int> acc = PiecePair(Avx512BW.ShiftRightLogicalVariable(h0, Shifts01).AsByte() & three, y, Avx512BW.PermuteVar32x16(scales, PickGroups0));
        acc += PiecePair(Avx512BW.ShiftRightLogicalVariable(h0, Shifts23).AsByte() & three, y + 64, Avx512BW.PermuteVar32x16(scales, PickGroups4));
        acc += PiecePair(Avx512BW.ShiftRightLogicalVariable(h1, Shifts01).AsByte() & three, y + 128, Avx512BW.PermuteVar32x16(scales, PickGroups8));
        acc += PiecePair(Avx512BW.ShiftRightLogicalVariable(h1, Shifts23).AsByte() & three, y + 192, Avx512BW.PermuteVar32x16(scales, PickGroups12));
        return acc.GetLower() + acc.GetUpper();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector512<int> PiecePair(Vector512<byte> v, sbyte* y, Vector512<short> scales) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(v, Vector512.Load(y)), scales);

    // vpermw indices for a pair of pieces from group g on: eight lanes each of groups g, g+1 (piece j) and g+2, g+3 (piece j+1).
    private static readonly Vector512<short> PickGroups0 = PickGroups(0), PickGroups4 = PickGroups(4), PickGroups8 = PickGroups(8), PickGroups12 = PickGroups(12);

    private static Vector512<short> PickGroups(int g) =>
        Vector512.Create(Vector256.Create(Vector128.Create((short)g), Vector128.Create((short)(g + 1))),
                         Vector256.Create(Vector128.Create((short)(g + 2)), Vector128.Create((short)(g + 3))));

    // Right shifts of the 16-bit lanes for pieces (0, 1) and (2, 3) in the halves of a 512-bit vector.
    private static readonly Vector512<ushort> Shifts01 = Vector512.Create(Vector256<ushort>.Zero, Vector256.Create((ushort)2));
    private static readonly Vector512<ushort> Shifts23 = Vector512.Create(Vector256.Create((ushort)4), Vector256.Create((ushort)6));

    /// <summary>Scalar twin of <see cref="Dot"/>: the same lanes and float steps.</summary>
    private static unsafe float DotScalar(byte* w, byte* x, int blocks)
    {
        float* acc = stackalloc float[8];
        float* accMin = stackalloc float[8];
        new Span<float>(acc, 8).Clear();
        new Span<float>(accMin, 8).Clear();
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            byte* xb = x + (long)b * Q8_K.BlockBytes;
            sbyte* y = (sbyte*)(xb + Q8_K.QsOffset);
            short* bsums = (short*)(xb + Q8_K.BsumsOffset);
            float yd = Unsafe.ReadUnaligned<float>(xb);
            float scale = yd * F16.ToSingle(Unsafe.ReadUnaligned<ushort>(wb + DOffset));
            float scaleMin = yd * -F16.ToSingle(Unsafe.ReadUnaligned<ushort>(wb + DOffset + 2));
            for (int l = 0; l < 8; l++)
            {
                int lane = 0;
                for (int h = 0; h < 2; h++)
                {
                    for (int j = 0; j < 4; j++)
                    {
                        int part = 0;
                        for (int i = 4 * l; i < 4 * l + 4; i++)
                        {
                            part += ((wb[QsOffset + 32 * h + i] >> (2 * j)) & 3) * y[128 * h + 32 * j + i];
                        }
                        lane += (wb[8 * h + 2 * j + (l >= 4 ? 1 : 0)] & 0xF) * part;
                    }
                }
                int minLane = (wb[2 * l] >> 4) * bsums[2 * l] + (wb[2 * l + 1] >> 4) * bsums[2 * l + 1];
                acc[l] = MathF.FusedMultiplyAdd(scale, lane, acc[l]);
                accMin[l] = MathF.FusedMultiplyAdd(scaleMin, minLane, accMin[l]);
            }
        }
        return Int8BlockDot.Sum(acc) + Int8BlockDot.Sum(accMin);
    }
}

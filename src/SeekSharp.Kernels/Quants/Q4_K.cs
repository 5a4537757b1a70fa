using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_Q4_K: super-blocks of 256 weights in 8 sub-blocks of 32, 144 bytes each (ggml-common.h block_q4_K):
/// <code>
/// offset  0  ushort d          super-block scale of the sub-block scales, IEEE half
/// offset  2  ushort dmin       super-block scale of the sub-block minimums, IEEE half
/// offset  4  byte   scales[12] 8 six-bit scales sc[j] and 8 six-bit minimums m[j] (see <see cref="UnpackScaleMins"/>)
/// offset 16  byte   qs[128]    chunk c (0..3) is qs[32c .. 32c+31]: low nibble of qs[32c+l] → element 64c+l
///                              (sub-block 2c), high nibble → element 64c+32+l (sub-block 2c+1)
/// value = d·sc[j]·q − dmin·m[j]  for element of sub-block j with 4-bit quant q
/// </code>
/// Its vec_dot_type is Q8_K. Q5_K shares the header (d, dmin, 12 scale bytes) and the quantizer's fitting.
/// </summary>
internal static class Q4_K
{
    public const int BlockSize = Q8_K.BlockSize;
    public const int BlockBytes = 144;
    private const int ScalesOffset = 4;
    private const int QsOffset = 16;

    /// <summary>
    /// Reference quantizer (ggml-quants.c quantize_row_q4_K_ref): per sub-block an affine fit (make_qkx2_quants,
    /// 4-bit levels, 21 candidate scales), scales and minimums quantized to 6 bits against the super-block
    /// maxima, then every weight requantized against the stored (rounded) scale and minimum.
    /// </summary>
    public static void QuantizeReference(ReadOnlySpan<float> src, Span<byte> dst)
    {
        Debug.Assert(src.Length % BlockSize == 0 && dst.Length == src.Length / BlockSize * BlockBytes);
        Span<byte> levels = stackalloc byte[BlockSize];
        for (int b = 0; b < src.Length / BlockSize; b++)
        {
            Span<byte> block = dst.Slice(b * BlockBytes, BlockBytes);
            QuantizeAffineSuperBlock(src.Slice(b * BlockSize, BlockSize), block[..QsOffset], levels, nmax: 15, rmin: -1f, nstep: 20);
            Span<byte> qs = block[QsOffset..];
            for (int c = 0; c < 4; c++)
            {
                for (int l = 0; l < 32; l++)
                {
                    qs[32 * c + l] = (byte)(levels[64 * c + l] | (levels[64 * c + 32 + l] << 4));
                }
            }
        }
    }

    /// <summary>
    /// What llama-quantize writes with an importance matrix (ggml-quants.c quantize_row_q4_K_impl): one row of
    /// <paramref name="src"/>, <paramref name="columnWeights"/> holding the importance of each of its columns
    /// (see <see cref="WeightedFits.AffineSuperBlock"/>).
    /// </summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst)
    {
        Debug.Assert(src.Length % BlockSize == 0 && columnWeights.Length == src.Length && dst.Length == src.Length / BlockSize * BlockBytes);
        Span<byte> levels = stackalloc byte[BlockSize];
        for (int b = 0; b < src.Length / BlockSize; b++)
        {
            Span<byte> block = dst.Slice(b * BlockBytes, BlockBytes);
            WeightedFits.AffineSuperBlock(src.Slice(b * BlockSize, BlockSize), columnWeights.Slice(b * BlockSize, BlockSize), block[..QsOffset], levels, nmax: 15);
            Span<byte> qs = block[QsOffset..];
            for (int c = 0; c < 4; c++)
            {
                for (int l = 0; l < 32; l++)
                {
                    qs[32 * c + l] = (byte)(levels[64 * c + l] | (levels[64 * c + 32 + l] << 4));
                }
            }
        }
    }

    /// <summary>
    /// The fitting shared by Q4_K and Q5_K (quantize_row_q{4,5}_K_ref): fills the 16-byte header
    /// (d, dmin, scales[12]) and the levels 0..<paramref name="nmax"/> of the 256 weights of one super-block.
    /// </summary>
    internal static void QuantizeAffineSuperBlock(ReadOnlySpan<float> x, Span<byte> header, Span<byte> levels, int nmax, float rmin, int nstep)
    {
        Span<float> scales = stackalloc float[8];
        Span<float> mins = stackalloc float[8];
        Span<float> weights = stackalloc float[32];
        Span<byte> aux = stackalloc byte[32];

        float maxScale = 0f, maxMin = 0f; // the minimum is subtracted, so both are non-negative
        for (int j = 0; j < 8; j++)
        {
            ReadOnlySpan<float> xs = x.Slice(32 * j, 32);
            float sumX2 = 0f;
            foreach (float v in xs)
            {
                sumX2 += v * v;
            }
            // Weights favour large magnitudes: |x| plus the sub-block's RMS.
            float avX = MathF.Sqrt(sumX2 / 32);
            for (int l = 0; l < 32; l++)
            {
                weights[l] = avX + MathF.Abs(xs[l]);
            }
            scales[j] = MakeQkx2Quants(nmax, xs, weights, levels.Slice(32 * j, 32), out mins[j], aux, rmin, 0.1f, nstep);
            if (scales[j] > maxScale) maxScale = scales[j];
            if (mins[j] > maxMin) maxMin = mins[j];
        }

        float invScale = maxScale > 0 ? 63f / maxScale : 0f;
        float invMin = maxMin > 0 ? 63f / maxMin : 0f;
        Span<byte> packed = header.Slice(ScalesOffset, 12);
        for (int j = 0; j < 8; j++)
        {
            // C stores nearest_int into a uint8_t before clamping: keep the truncation.
            byte ls = Math.Min((byte)63, (byte)Q8_K.NearestInt(invScale * scales[j]));
            byte lm = Math.Min((byte)63, (byte)Q8_K.NearestInt(invMin * mins[j]));
            if (j < 4)
            {
                packed[j] = ls;
                packed[j + 4] = lm;
            }
            else
            {
                packed[j + 4] = (byte)((ls & 0xF) | ((lm & 0xF) << 4));
                packed[j - 4] |= (byte)((ls >> 4) << 6);
                packed[j] |= (byte)((lm >> 4) << 6);
            }
        }
        ushort dBits = F16.FromSingle(maxScale / 63f), dminBits = F16.FromSingle(maxMin / 63f);
        MemoryMarshal.Write(header, dBits);
        MemoryMarshal.Write(header[2..], dminBits);

        // Requantize against what a reader will see: the half super-scales times the 6-bit codes.
        float dAll = F16.ToSingle(dBits), dminAll = F16.ToSingle(dminBits);
        Span<byte> sc = stackalloc byte[8], mn = stackalloc byte[8];
        UnpackScaleMins(packed, sc, mn);
        for (int j = 0; j < 8; j++)
        {
            float d = dAll * sc[j];
            if (d == 0f)
            {
                continue; // keeps the levels of the fit, as ggml does
            }
            float dm = dminAll * mn[j];
            for (int l = 0; l < 32; l++)
            {
                int q = Q8_K.NearestInt((x[32 * j + l] + dm) / d);
                levels[32 * j + l] = (byte)Math.Clamp(q, 0, nmax);
            }
        }
    }

    /// <summary>
    /// ggml-quants.c make_qkx2_quants: the weighted least-squares affine fit
    /// <c>x ≈ scale·L + min</c> with levels L in 0..nmax and min ≤ 0, trying the start
    /// <c>iscale = nmax / (max − min)</c> and then <c>(rmin + rdelta·is + nmax) / (max − min)</c> for is = 0..nstep,
    /// keeping the candidate of least weighted error: squared (Q4_K, Q5_K) or, with <paramref name="useMad"/>,
    /// absolute (Q2_K). Candidates are still fitted by least squares either way. Returns the scale;
    /// <paramref name="theMin"/> = −min. Every operation is a single float operation in C's order (no fused
    /// multiply-add), so levels match ggml's.
    /// </summary>
    internal static float MakeQkx2Quants(int nmax, ReadOnlySpan<float> x, ReadOnlySpan<float> weights, Span<byte> levels,
        out float theMin, Span<byte> aux, float rmin, float rdelta, int nstep, bool useMad = false)
    {
        int n = x.Length;
        float min = x[0], max = x[0];
        float sumW = weights[0];
        float sumX = sumW * x[0];
        for (int i = 1; i < n; i++)
        {
            if (x[i] < min) min = x[i];
            if (x[i] > max) max = x[i];
            float w = weights[i];
            sumW += w;
            sumX += w * x[i];
        }
        if (min > 0) min = 0;
        if (max == min)
        {
            levels[..n].Clear();
            theMin = -min;
            return 0f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++)
        {
            int l = Q8_K.NearestInt(iscale * (x[i] - min));
            levels[i] = (byte)Math.Clamp(l, 0, nmax);
            float diff = scale * levels[i] + min - x[i];
            bestError += weights[i] * (useMad ? MathF.Abs(diff) : diff * diff);
        }
        for (int step = 0; step <= nstep; step++)
        {
            iscale = (rmin + rdelta * step + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (int i = 0; i < n; i++)
            {
                int l = Math.Clamp(Q8_K.NearestInt(iscale * (x[i] - min)), 0, nmax);
                aux[i] = (byte)l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * x[i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0)
            {
                float thisScale = (sumW * sumXL - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
                if (thisMin > 0)
                {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float error = 0;
                for (int i = 0; i < n; i++)
                {
                    float diff = thisScale * aux[i] + thisMin - x[i];
                    error += weights[i] * (useMad ? MathF.Abs(diff) : diff * diff);
                }
                if (error < bestError)
                {
                    aux[..n].CopyTo(levels);
                    bestError = error;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin = -min;
        return scale;
    }

    /// <summary>
    /// ggml's get_scale_min_k4 for j = 0..7: sub-blocks 0..3 keep their 6 bits in the low bits of bytes j (scale)
    /// and j+4 (minimum); sub-blocks 4..7 keep their low 4 bits in the nibbles of byte j+4 and their top 2 bits
    /// in the top bits of bytes j−4 (scale) and j (minimum).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void UnpackScaleMins(ReadOnlySpan<byte> q, Span<byte> scales, Span<byte> mins)
    {
        for (int j = 0; j < 4; j++)
        {
            scales[j] = (byte)(q[j] & 63);
            mins[j] = (byte)(q[j + 4] & 63);
            scales[j + 4] = (byte)((q[j + 8] & 0xF) | ((q[j] >> 6) << 4));
            mins[j + 4] = (byte)((q[j + 8] >> 4) | ((q[j + 4] >> 6) << 4));
        }
    }

    /// <summary>
    /// <see cref="UnpackScaleMins(ReadOnlySpan{byte}, Span{byte}, Span{byte})"/> four bytes at a time, for the dot's
    /// per-super-block header: the same bit moves applied to the little-endian words u0 = bytes 0..3,
    /// u1 = bytes 4..7, u2 = bytes 8..11, so byte j of each result word is the byte-wise formula for j.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void UnpackScaleMins(byte* q, byte* scales, byte* mins)
    {
        var (s, m) = UnpackScaleMinsWords(q);
        Unsafe.WriteUnaligned(scales, s);
        Unsafe.WriteUnaligned(mins, m);
    }

    /// <summary>
    /// The word-wise unpack of <see cref="UnpackScaleMins(byte*, byte*, byte*)"/> as two little-endian words (byte j of
    /// each is sub-block j's scale or minimum), so the dots keep them in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe (ulong Scales, ulong Mins) UnpackScaleMinsWords(byte* q)
    {
        const uint Low6 = 0x3F3F3F3F, Low4 = 0x0F0F0F0F, Low2 = 0x03030303;
        uint u0 = Unsafe.ReadUnaligned<uint>(q), u1 = Unsafe.ReadUnaligned<uint>(q + 4), u2 = Unsafe.ReadUnaligned<uint>(q + 8);
        ulong scales = (u0 & Low6) | ((ulong)((u2 & Low4) | (((u0 >> 6) & Low2) << 4)) << 32);
        ulong mins = (u1 & Low6) | ((ulong)(((u2 >> 4) & Low4) | (((u1 >> 6) & Low2) << 4)) << 32);
        return (scales, mins);
    }

    /// <summary>dequantize_row_q4_K: <c>y = (d·sc)·q − dmin·m</c>, each product rounded to float.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
        => Dequantize(src, dst, SimdCapabilities.Best);

    /// <summary>The decoder at <paramref name="tier"/>: eight lanes at a time (<see cref="DequantizeLanes"/>) or the scalar twin, the same bits.</summary>
    internal static unsafe void Dequantize(ReadOnlySpan<byte> src, Span<float> dst, SimdTier tier) =>
        DequantizeLanes.Run<LaneDecoder>(src, dst, tier, &DequantizeScalar);

    private readonly unsafe struct LaneDecoder : DequantizeLanes.IBlockDecoder
    {
        public static int BlockSize => Q4_K.BlockSize;
        public static int BlockBytes => Q4_K.BlockBytes;

        public static void Decode(byte* block, float* y)
        {
            byte* sc = stackalloc byte[8], mn = stackalloc byte[8];
            float d = F16.ToSingle(Unsafe.ReadUnaligned<ushort>(block)), dmin = F16.ToSingle(Unsafe.ReadUnaligned<ushort>(block + 2));
            UnpackScaleMins(block + ScalesOffset, sc, mn);
            for (int c = 0; c < 4; c++)
            {
                float d1 = d * sc[2 * c], m1 = dmin * mn[2 * c];
                float d2 = d * sc[2 * c + 1], m2 = dmin * mn[2 * c + 1];
                for (int l = 0; l < 32; l += 8)
                {
                    Vector256<int> q = DequantizeLanes.Widen(block + QsOffset + 32 * c + l);
                    DequantizeLanes.StoreAffine(y + 64 * c + l, q & Vector256.Create(0xF), d1, m1);
                    DequantizeLanes.StoreAffine(y + 64 * c + 32 + l, q >>> 4, d2, m2);
                }
            }
        }
    }

    private static void DequantizeScalar(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        Span<byte> sc = stackalloc byte[8], mn = stackalloc byte[8];
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * BlockBytes, BlockBytes);
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            float d = F16.ToSingle(MemoryMarshal.Read<ushort>(block));
            float dmin = F16.ToSingle(MemoryMarshal.Read<ushort>(block[2..]));
            UnpackScaleMins(block.Slice(ScalesOffset, 12), sc, mn);
            ReadOnlySpan<byte> qs = block[QsOffset..];
            for (int c = 0; c < 4; c++)
            {
                float d1 = d * sc[2 * c], m1 = dmin * mn[2 * c];
                float d2 = d * sc[2 * c + 1], m2 = dmin * mn[2 * c + 1];
                for (int l = 0; l < 32; l++)
                {
                    y[64 * c + l] = d1 * (qs[32 * c + l] & 0xF) - m1;
                    y[64 * c + 32 + l] = d2 * (qs[32 * c + l] >> 4) - m2;
                }
            }
        }
    }

    /// <summary>Q4_K row · Q8_K activation; see <see cref="AffineKDot{T}.Dot"/>.</summary>
    public static unsafe float Dot(byte* w, byte* x, int blocks, SimdTier tier) => AffineKDot<Quants>.Dot(w, x, blocks, tier);

    /// <summary>One row, four tokens; see <see cref="AffineKDot{T}.Dot4"/>.</summary>
    public static unsafe void Dot4(byte* w, byte* x, long xStride, int blocks, float* y, long yStride, SimdTier tier) =>
        AffineKDot<Quants>.Dot4(w, x, xStride, blocks, y, yStride, tier);

    /// <summary>Two rows, four tokens; see <see cref="AffineKDot{T}.Dot2x4"/>.</summary>
    public static unsafe void Dot2x4(byte* w, long wStride, byte* x, long xStride, int blocks, float* y, long yStride, SimdTier tier) =>
        AffineKDot<Quants>.Dot2x4(w, wStride, x, xStride, blocks, y, yStride, tier);

    /// <summary>One or four tokens over a part of a row; see <see cref="AffineKDot{T}.DotPart"/>.</summary>
    public static unsafe void DotPart(byte* w, byte* x, long xStride, int tokens, int blocks, float* state, EightTokenPart part, float* y, long yStride) =>
        AffineKDot<Quants>.DotPart(w, x, xStride, tokens, blocks, state, part, y, yStride);

    /// <summary>One row, eight tokens; see <see cref="AffineKDot{T}.Dot8"/>.</summary>
    public static unsafe void Dot8(byte* w, byte* x, long xStride, byte* table, int blocks, float* state, EightTokenPart part, float* y, long yStride, SimdTier tier) =>
        AffineKDot<Quants>.Dot8(w, x, xStride, table, blocks, state, part, y, yStride, tier);

    /// <summary>The activation order the dots read; see <see cref="AffineKDot.PrepareActivation"/>.</summary>
    internal static unsafe void PrepareActivation(byte* x, int blocks, SimdTier tier) => AffineKDot.PrepareActivation(x, blocks, tier);

    /// <summary>Nibbles: the low one of qs[32c + i] is chunk c's low quant i, the high one its high quant i.</summary>
    private readonly unsafe struct Quants : IAffineKQuants
    {
        public static int BlockBytes => Q4_K.BlockBytes;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (Vector256<byte> Lo, Vector256<byte> Hi) Chunk(byte* wb, int c)
        {
            Vector256<byte> mask = Vector256.Create((byte)0x0F);
            Vector256<byte> packed = Vector256.Load(wb + QsOffset + 32 * c);
            return (packed & mask, Vector256.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & mask);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (Vector512<byte> Lo, Vector512<byte> Hi) ChunkPair(byte* wb, int p)
        {
            Vector512<byte> mask = Vector512.Create((byte)0x0F);
            Vector512<byte> packed = Vector512.Load(wb + QsOffset + 64 * p);
            return (packed & mask, Vector512.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & mask);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int Quant(byte* wb, int c, int i, bool high) => high ? wb[QsOffset + 32 * c + i] >> 4 : wb[QsOffset + 32 * c + i] & 0xF;
    }
}

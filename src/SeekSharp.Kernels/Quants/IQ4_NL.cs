using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// GGML_TYPE_IQ4_NL: blocks of 32 weights, 18 bytes each (ggml-common.h block_iq4_nl):
/// <code>
/// offset 0  ushort d       scale, IEEE half
/// offset 2  byte   qs[16]  low nibble of qs[j] → element j, high nibble → element j + 16
/// value = d * Codebook[nibble]
/// </code>
/// Q4_0's packing with a non-uniform codebook (ggml's kvalues_iq4nl) in place of <c>nibble − 8</c>. Its
/// vec_dot_type is Q8_0.
/// </summary>
internal static class IQ4_NL
{
    public const int BlockSize = 32;
    public const int BlockBytes = 18;

    /// <summary>The 16 levels a nibble selects (ggml-common.h kvalues_iq4nl): denser near zero, none is −128.</summary>
    internal static ReadOnlySpan<sbyte> Codebook => [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

    /// <summary>
    /// Scale candidates on each side of the first guess that the fit tries (ggml's ntry): quantize_iq4_nl and
    /// quantize_iq4_xs, which llama-quantize runs, pass 7.
    /// </summary>
    internal const int ScaleTries = 7;

    /// <summary>Blocks whose largest magnitude is below this get scale 0 (ggml's GROUP_MAX_EPS).</summary>
    private const float GroupMaxEps = 1e-15f;

    /// <summary>
    /// What llama-quantize writes for IQ4_NL without an importance matrix (ggml-quants.c quantize_iq4_nl, i.e.
    /// quantize_row_iq4_nl_impl with 7 tries): per block the weighted least-squares scale of <see cref="FitScale"/>,
    /// stored as a half, then every weight requantized to the nearest level of that scale (the float one, not the
    /// half a reader sees, as ggml does).
    /// </summary>
    public static void QuantizeReference(ReadOnlySpan<float> src, Span<byte> dst) => Quantize(src, dst, ScaleTries);

    /// <summary>
    /// ggml-quants.c quantize_row_iq4_nl_ref, which in current ggml (and in the libggml-base.so LLamaSharp ships)
    /// does not go through quantize_iq4_nl: it runs the fit with no tries (the first guess maps the extreme to
    /// Codebook[0]) and keeps the first guess's levels. A block below <see cref="GroupMaxEps"/> gets levels 0, as
    /// current ggml writes; older builds leave them unset. llama-quantize does not use this path; it is here so that
    /// the conformance tests can pin both of ggml's.
    /// </summary>
    public static void QuantizeRowReference(ReadOnlySpan<float> src, Span<byte> dst) => Quantize(src, dst, -1);

    /// <summary>
    /// What llama-quantize writes with an importance matrix (quantize_iq4_nl with quant_weights), one row of
    /// <paramref name="src"/>: the fit weighs each weight by <c>importance·sqrt(σ² + x²)</c>, σ² twice the block's
    /// mean square, instead of x².
    /// </summary>
    public static void QuantizeWeighted(ReadOnlySpan<float> src, ReadOnlySpan<float> columnWeights, Span<byte> dst) =>
        Quantize(src, dst, ScaleTries, columnWeights);

    private static void Quantize(ReadOnlySpan<float> src, Span<byte> dst, int tries, ReadOnlySpan<float> columnWeights = default)
    {
        Span<float> weights = stackalloc float[BlockSize];
        Debug.Assert(src.Length % BlockSize == 0 && dst.Length == src.Length / BlockSize * BlockBytes);
        Span<byte> levels = stackalloc byte[BlockSize];
        for (int b = 0; b < src.Length / BlockSize; b++)
        {
            ReadOnlySpan<float> x = src.Slice(b * BlockSize, BlockSize);
            Span<byte> block = dst.Slice(b * BlockBytes, BlockBytes);
            if (!columnWeights.IsEmpty)
                WeightedFits.Importance(x, columnWeights.Slice(b * BlockSize, BlockSize), WeightedFits.SumOfSquares(x) * (2f / BlockSize), weights);
            float d = FitScale(x, levels, tries, columnWeights.IsEmpty ? default : weights);
            MemoryMarshal.Write(block, F16.FromSingle(d));
            if (tries > 0)
            {
                // The fit's levels belong to its first guess, not to the least-squares scale it returns.
                float id = d != 0f ? 1f / d : 0f;
                for (int j = 0; j < BlockSize; j++)
                {
                    levels[j] = (byte)NearestLevel(id * x[j]);
                }
            }
            Pack(levels, block[2..]);
        }
    }

    /// <summary>
    /// The scale fit of ggml's quantize_row_iq4_nl_impl for one 32-weight block without an importance matrix: each
    /// weight counts x² (large magnitudes matter most). The first guess maps the block's signed extreme to
    /// −Codebook[0] (or to Codebook[0] when <paramref name="tries"/> ≤ 0); its least-squares scale
    /// <c>Σwqx / Σwq²</c> is then challenged by the scales mapping the extreme to <c>Codebook[0] + t</c>,
    /// t = −tries..tries, and a candidate wins when its <c>(Σwqx)²/Σwq²</c> is larger. Levels of the first guess are
    /// left in <paramref name="levels"/>; a block below <see cref="GroupMaxEps"/> gets scale 0 and levels 0. With an
    /// importance matrix, <paramref name="weights"/> replaces x² (see <see cref="QuantizeWeighted"/>). Every
    /// step is one float operation in C's order, so the result is ggml's bit for bit.
    /// </summary>
    internal static float FitScale(ReadOnlySpan<float> x, Span<byte> levels, int tries, ReadOnlySpan<float> weights = default)
    {
        ReadOnlySpan<sbyte> k = Codebook;
        float amax = 0f, max = 0f;
        foreach (float v in x)
        {
            float a = MathF.Abs(v);
            if (a > amax)
            {
                amax = a;
                max = v;
            }
        }
        if (amax < GroupMaxEps)
        {
            levels[..x.Length].Clear();
            return 0f;
        }

        float d = tries > 0 ? -max / k[0] : max / k[0];
        float id = 1f / d;
        float sumqx = 0f, sumq2 = 0f;
        for (int j = 0; j < x.Length; j++)
        {
            int l = NearestLevel(id * x[j]);
            levels[j] = (byte)l;
            float q = k[l];
            float w = weights.IsEmpty ? x[j] * x[j] : weights[j];
            sumqx += w * q * x[j];
            sumq2 += w * q * q;
        }
        d = sumq2 > 0f ? sumqx / sumq2 : 0f;
        float best = d * sumqx;
        for (int t = -tries; t <= tries; t++)
        {
            id = (t + k[0]) / max;
            sumqx = 0f;
            sumq2 = 0f;
            for (int j = 0; j < x.Length; j++)
            {
                float q = k[NearestLevel(id * x[j])];
                float w = weights.IsEmpty ? x[j] * x[j] : weights[j];
                sumqx += w * q * x[j];
                sumq2 += w * q * q;
            }
            if (sumq2 > 0f && sumqx * sumqx > best * sumq2)
            {
                d = sumqx / sumq2;
                best = d * sumqx;
            }
        }
        return d;
    }

    /// <summary>
    /// ggml-quants.c best_index_int8 over <see cref="Codebook"/>: the nibble of the level nearest <paramref name="v"/>,
    /// the upper one on a tie. The codebook is sorted, so a binary search on the midpoints decides; comparing 2v with
    /// the integer sum of two neighbours keeps the midpoint exact.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int NearestLevel(float v)
    {
        ReadOnlySpan<sbyte> k = Codebook;
        float v2 = v + v;
        int i = 0;
        for (int step = 8; step > 0; step >>= 1)
        {
            int j = i + step;
            if (v2 >= (float)(k[j - 1] + k[j]))
            {
                i = j;
            }
        }
        return i;
    }

    /// <summary>Packs the 32 nibbles <paramref name="levels"/> into 16 bytes: element j low, element j + 16 high.</summary>
    internal static void Pack(ReadOnlySpan<byte> levels, Span<byte> qs)
    {
        for (int j = 0; j < 16; j++)
        {
            qs[j] = (byte)(levels[j] | (levels[j + 16] << 4));
        }
    }

    /// <summary>ggml-quants.c dequantize_row_iq4_nl: <c>y = d * Codebook[nibble]</c>.</summary>
    public static void Dequantize(ReadOnlySpan<byte> src, Span<float> dst)
        => Dequantize(src, dst, SimdCapabilities.Best);

    /// <summary>The decoder at <paramref name="tier"/>: eight lanes at a time (<see cref="DequantizeLanes"/>) or the scalar twin, the same bits.</summary>
    internal static unsafe void Dequantize(ReadOnlySpan<byte> src, Span<float> dst, SimdTier tier) =>
        DequantizeLanes.Run<LaneDecoder>(src, dst, tier, &DequantizeScalar);

    private readonly unsafe struct LaneDecoder : DequantizeLanes.IBlockDecoder
    {
        public static int BlockSize => IQ4_NL.BlockSize;
        public static int BlockBytes => IQ4_NL.BlockBytes;

        public static void Decode(byte* block, float* y)
        {
            Vector128<sbyte> codebook = Vector128.Create(Codebook);
            float d = F16.ToSingle(Unsafe.ReadUnaligned<ushort>(block));
            DequantizeLanes.Lookup16(codebook, block + 2, out var low, out var high);
            DequantizeLanes.StoreScaled16(y, low, d);
            DequantizeLanes.StoreScaled16(y + 16, high, d);
        }
    }

    private static void DequantizeScalar(ReadOnlySpan<byte> src, Span<float> dst)
    {
        Debug.Assert(dst.Length % BlockSize == 0 && src.Length == dst.Length / BlockSize * BlockBytes);
        ReadOnlySpan<sbyte> k = Codebook;
        for (int b = 0; b < dst.Length / BlockSize; b++)
        {
            ReadOnlySpan<byte> block = src.Slice(b * BlockBytes, BlockBytes);
            float d = F16.ToSingle(MemoryMarshal.Read<ushort>(block));
            Span<float> y = dst.Slice(b * BlockSize, BlockSize);
            for (int j = 0; j < BlockSize / 2; j++)
            {
                y[j] = d * k[block[2 + j] & 0x0F];
                y[j + 16] = d * k[block[2 + j] >> 4];
            }
        }
    }

    /// <summary>
    /// IQ4_NL row · Q8_0 activation over <paramref name="blocks"/> blocks: <c>Σ_b d_w·d_x · Σ_j Codebook[nibble_j]·x.qs[j]</c>,
    /// in the eight float lanes of <see cref="Int8BlockDot"/> as for Q4_0. The nibbles become int8 levels through a
    /// 16-byte table lookup (vpshufb). Every tier gives the same bits; the Vector512 tier runs the 256-bit code, as
    /// Q8_0 does, since a 512-bit accumulator would pair the lanes differently.
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
            byte* wb = w + (long)b * BlockBytes, xb = x + (long)b * Q8_0.BlockBytes;
            StreamPrefetch.Ahead(wb);
            acc = Int8BlockDot.Accumulate(acc, Q8_0.Scale(wb, xb), Partials(Levels(wb + 2), ActivationQuants(xb)));
        }
        return Int8BlockDot.Sum(acc);
    }

    /// <summary>
    /// <see cref="Dot"/> of one weight row with four activation rows (<c>x + t·xStride</c>), written to
    /// <c>y[t·yStride]</c>; each block's levels are looked up once for the four tokens. Each output is
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
        byte* x0 = x, x1 = x + xStride, x2 = x + 2 * xStride, x3 = x + 3 * xStride;
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes;
            long o = (long)b * Q8_0.BlockBytes;
            Vector256<sbyte> q = Levels(wb + 2);
            float dw = F16.ToSingleFast(Unsafe.ReadUnaligned<ushort>(wb));
            acc0 = Int8BlockDot.Accumulate(acc0, dw * Q8_0.XScale(x0 + o), Partials(q, ActivationQuants(x0 + o)));
            acc1 = Int8BlockDot.Accumulate(acc1, dw * Q8_0.XScale(x1 + o), Partials(q, ActivationQuants(x1 + o)));
            acc2 = Int8BlockDot.Accumulate(acc2, dw * Q8_0.XScale(x2 + o), Partials(q, ActivationQuants(x2 + o)));
            acc3 = Int8BlockDot.Accumulate(acc3, dw * Q8_0.XScale(x3 + o), Partials(q, ActivationQuants(x3 + o)));
        }
        y[0] = Int8BlockDot.Sum(acc0);
        y[yStride] = Int8BlockDot.Sum(acc1);
        y[2 * yStride] = Int8BlockDot.Sum(acc2);
        y[3 * yStride] = Int8BlockDot.Sum(acc3);
    }

    private static unsafe float DotScalar(byte* w, byte* x, int blocks)
    {
        float* acc = stackalloc float[Int8BlockDot.Lanes];
        new Span<float>(acc, Int8BlockDot.Lanes).Clear();
        sbyte* q = stackalloc sbyte[BlockSize];
        for (int b = 0; b < blocks; b++)
        {
            byte* wb = w + (long)b * BlockBytes, xb = x + (long)b * Q8_0.BlockBytes;
            UnpackScalar(wb + 2, q);
            Int8BlockDot.Accumulate(acc, Q8_0.Scale(wb, xb), q, (sbyte*)(xb + 2));
        }
        return Int8BlockDot.Sum(acc);
    }

    /// <summary>The 32 levels of the 16 packed bytes <paramref name="qs"/>, in element order, one by one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void UnpackScalar(byte* qs, sbyte* q)
    {
        ReadOnlySpan<sbyte> k = Codebook;
        for (int j = 0; j < 16; j++)
        {
            q[j] = k[qs[j] & 0x0F];
            q[j + 16] = k[qs[j] >> 4];
        }
    }

    /// <summary>The 32 levels of the 16 packed bytes <paramref name="qs"/> as int8, in element order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe Vector256<sbyte> Levels(byte* qs) => Levels(qs, LevelTable);

    /// <summary>The sixteen levels in both 16-byte halves, for <see cref="Levels(byte*, Vector256{sbyte})"/>.</summary>
    internal static Vector256<sbyte> LevelTable => Vector256.Create(Vector128.Create((sbyte)-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113));

    /// <summary><see cref="Levels(byte*)"/> with the <see cref="LevelTable"/> in a register: a loop that takes it once
    /// keeps the JIT from reloading the constant on every call.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe Vector256<sbyte> Levels(byte* qs, Vector256<sbyte> table)
    {
        Vector256<sbyte> nibbles = Q4_0.Nibbles(qs).AsSByte();
        // vpshufb looks up within each 16-byte half; the table is in both, so both shuffles pick the same levels.
        return Avx2.IsSupported ? Avx2.Shuffle(table, nibbles) : Vector256.Shuffle(table, nibbles);
    }

    /// <summary>
    /// The eight lane sums of <see cref="Int8BlockDot"/> for codebook levels <paramref name="w"/> against any int8
    /// activation, −128 included (Q8_K holds it). vpmaddubsw takes |x| as the unsigned operand, where −128 reads as
    /// 128, and w carrying x's sign, which cannot overflow because no level is −128; an int16 pair sum is at most
    /// 2·128·127 &lt; 32767. <paramref name="pairWeight"/> multiplies each int16 pair sum in vpmaddwd: one for a
    /// plain dot, a sub-block scale for IQ4_XS (at most 32, so lanes stay exact).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> Partials(Vector256<sbyte> w, Vector256<sbyte> x, short pairWeight = 1)
    {
        if (Avx2.IsSupported)
        {
            Vector256<short> pairs = Avx2.MultiplyAddAdjacent(Avx2.Abs(x), Avx2.Sign(w, x));
            return Avx2.MultiplyAddAdjacent(pairs, Vector256.Create(pairWeight));
        }
        return Portable(w, x) * pairWeight;
    }

    // Without AVX2 the Vector256 tier only runs when a test forces it; the lanes come from the scalar twin.
    private static unsafe Vector256<int> Portable(Vector256<sbyte> w, Vector256<sbyte> x)
    {
        sbyte* pw = stackalloc sbyte[32], px = stackalloc sbyte[32];
        w.Store(pw);
        x.Store(px);
        return Vector256.Create(Int8BlockDot.Lane(pw, px, 0), Int8BlockDot.Lane(pw, px, 1), Int8BlockDot.Lane(pw, px, 2),
            Int8BlockDot.Lane(pw, px, 3), Int8BlockDot.Lane(pw, px, 4), Int8BlockDot.Lane(pw, px, 5),
            Int8BlockDot.Lane(pw, px, 6), Int8BlockDot.Lane(pw, px, 7));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<sbyte> ActivationQuants(byte* block) => Vector256.Load((sbyte*)(block + 2));
}

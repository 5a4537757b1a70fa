using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels;

/// <summary>
/// The two inner steps of attention for several query heads that read the same KV head (grouped-query attention):
/// scores of a block of cached keys, and the probability-weighted sum of a block of cached values. Each cached row
/// (F32, or F16 widened exactly) is read once per four heads instead of once per head, and no call is made per
/// position: a call per position and head cost more than its 128 multiply-adds.
/// </summary>
/// <remarks>
/// Layouts: cached rows are <c>headDim</c> elements, <c>rowStride</c> elements apart (the KV cache's row of all KV
/// heads); queries and outputs are [heads, headDim], adjacent; scores are [heads, scoreStride]. A head's result does
/// not depend on how many heads share the call.
/// F16 rows are widened by the four-instruction sign-extending conversion when a first pass over the call's rows finds
/// no infinity or NaN (always, unless activations overflowed half), otherwise by the exact general one: the same floats
/// either way, so the choice changes no result.
/// </remarks>
public static unsafe class AttentionKernels
{
    /// <summary><c>scores[h·scoreStride + j] = scale · Σ_d key_j[d] · q[h·headDim + d]</c> for j &lt; count, h &lt; heads.</summary>
    /// <param name="keys">The first key row: floats, or halves when <paramref name="half"/>.</param>
    public static void Scores(void* keys, bool half, long rowStride, int count, float* q, int heads, int headDim,
        float scale, float* scores, int scoreStride) =>
        Scores(keys, half, rowStride, count, q, heads, headDim, scale, scores, scoreStride, SimdCapabilities.Best);

    /// <summary><c>o[h·headDim + d] += Σ_j p[h·pStride + j] · value_j[d]</c>, in order of j, fused (one rounding per term).</summary>
    /// <param name="values">The first value row: floats, or halves when <paramref name="half"/>.</param>
    public static void AccumulateValues(void* values, bool half, long rowStride, int count, float* p, int pStride,
        int heads, int headDim, float* o) =>
        AccumulateValues(values, half, rowStride, count, p, pStride, heads, headDim, o, SimdCapabilities.Best);

    internal static void Scores(void* keys, bool half, long rowStride, int count, float* q, int heads, int headDim,
        float scale, float* scores, int scoreStride, SimdTier tier)
    {
        Debug.Assert(count >= 0 && heads >= 0 && headDim >= 0);
        if (!half)
        {
            Scores<FloatRows>(keys, rowStride, count, q, heads, headDim, scale, scores, scoreStride, tier);
        }
        else if (CanWidenFinite(tier) && AllFinite((ushort*)keys, rowStride, count, headDim))
        {
            Scores<FiniteHalfRows>(keys, rowStride, count, q, heads, headDim, scale, scores, scoreStride, tier);
        }
        else
        {
            Scores<HalfRows>(keys, rowStride, count, q, heads, headDim, scale, scores, scoreStride, tier);
        }
    }

    internal static void AccumulateValues(void* values, bool half, long rowStride, int count, float* p, int pStride,
        int heads, int headDim, float* o, SimdTier tier)
    {
        Debug.Assert(count >= 0 && heads >= 0 && headDim >= 0);
        if (!half)
        {
            AccumulateValues<FloatRows>(values, rowStride, count, p, pStride, heads, headDim, o, tier);
        }
        else if (CanWidenFinite(tier) && AllFinite((ushort*)values, rowStride, count, headDim))
        {
            AccumulateValues<FiniteHalfRows>(values, rowStride, count, p, pStride, heads, headDim, o, tier);
        }
        else
        {
            AccumulateValues<HalfRows>(values, rowStride, count, p, pStride, heads, headDim, o, tier);
        }
    }

    // The cheap widening needs the sign-extending loads of AVX2 (and of AVX-512F for the 16-wide loops); elsewhere
    // the vectors are emulated and the exact widening is used.
    private static bool CanWidenFinite(SimdTier tier) =>
        tier >= SimdTier.Vector512 ? Avx512F.IsSupported : tier >= SimdTier.Vector256 && Avx2.IsSupported;

    /// <summary>
    /// Whether none of the <paramref name="headDim"/> halves of <paramref name="count"/> rows is an infinity or NaN
    /// (exponent 31, so <c>h &lt;&lt; 1 ≥ 0xF800</c>). A cached key or value is one only when the model's activations
    /// overflowed half, so this is a quick pass over rows the caller reads next anyway.
    /// </summary>
    internal static bool AllFinite(ushort* rows, long rowStride, int count, int headDim)
    {
        var top = Vector256<ushort>.Zero;
        ushort topScalar = 0;
        for (int j = 0; j < count; j++)
        {
            ushort* row = rows + j * rowStride;
            int d = 0;
            for (; d + 16 <= headDim; d += 16)
            {
                top = Vector256.Max(top, Vector256.Load(row + d) << 1);
            }
            for (; d < headDim; d++)
            {
                topScalar = Math.Max(topScalar, (ushort)(row[d] << 1));
            }
        }
        return Vector256.LessThanAll(top, Vector256.Create((ushort)0xF800)) && topScalar < 0xF800;
    }

    private static void Scores<TRows>(void* keys, long rowStride, int count, float* q, int heads, int headDim,
        float scale, float* scores, int scoreStride, SimdTier tier) where TRows : struct, IRows
    {
        bool vector = tier >= SimdTier.Vector256 && headDim % Vector256<float>.Count == 0;
        bool wide = tier >= SimdTier.Vector512 && headDim % Vector512<float>.Count == 0;
        for (int j = 0; j < count; j++)
        {
            byte* row = (byte*)keys + j * rowStride * TRows.ElementBytes;
            int h = 0;
            if (wide)
            {
                for (; h + 4 <= heads; h += 4)
                {
                    Scores4Wide<TRows>(row, q + h * headDim, headDim, scale, scores + h * scoreStride + j, scoreStride);
                }
                for (; h + 2 <= heads; h += 2)
                {
                    Scores2Wide<TRows>(row, q + h * headDim, headDim, scale, scores + h * scoreStride + j, scoreStride);
                }
                for (; h < heads; h++)
                {
                    scores[h * scoreStride + j] = Score1Wide<TRows>(row, q + h * headDim, headDim) * scale;
                }
            }
            else if (vector)
            {
                for (; h + 4 <= heads; h += 4)
                {
                    Scores4<TRows>(row, q + h * headDim, headDim, scale, scores + h * scoreStride + j, scoreStride);
                }
                for (; h + 2 <= heads; h += 2)
                {
                    Scores2<TRows>(row, q + h * headDim, headDim, scale, scores + h * scoreStride + j, scoreStride);
                }
            }
            for (; h < heads; h++)
            {
                scores[h * scoreStride + j] = vector
                    ? Score1<TRows>(row, q + h * headDim, headDim) * scale
                    : ScoreScalar<TRows>(row, q + h * headDim, headDim) * scale;
            }
        }
    }

    private static void AccumulateValues<TRows>(void* values, long rowStride, int count, float* p, int pStride,
        int heads, int headDim, float* o, SimdTier tier) where TRows : struct, IRows
    {
        long rowBytes = rowStride * TRows.ElementBytes;
        int d = 0;
        if (tier >= SimdTier.Vector512)
        {
            d = AccumulateValuesWide<TRows>(values, rowBytes, count, p, pStride, heads, headDim, o);
        }
        if (tier >= SimdTier.Vector256)
        {
            // One 8-wide column of every value row at a time, for four heads: their sums stay in registers over the block.
            for (; d + 8 <= headDim; d += 8)
            {
                int h = 0;
                for (; h + 4 <= heads; h += 4)
                {
                    float* o0 = o + h * headDim + d, p0 = p + h * pStride;
                    Vector256<float> a0 = Vector256.Load(o0), a1 = Vector256.Load(o0 + headDim);
                    Vector256<float> a2 = Vector256.Load(o0 + 2 * headDim), a3 = Vector256.Load(o0 + 3 * headDim);
                    byte* row = (byte*)values + d * TRows.ElementBytes;
                    for (int j = 0; j < count; j++, row += rowBytes)
                    {
                        Vector256<float> v = TRows.Load8(row);
                        a0 = Vector256.FusedMultiplyAdd(Vector256.Create(p0[j]), v, a0);
                        a1 = Vector256.FusedMultiplyAdd(Vector256.Create(p0[pStride + j]), v, a1);
                        a2 = Vector256.FusedMultiplyAdd(Vector256.Create(p0[2 * pStride + j]), v, a2);
                        a3 = Vector256.FusedMultiplyAdd(Vector256.Create(p0[3 * pStride + j]), v, a3);
                    }
                    a0.Store(o0);
                    a1.Store(o0 + headDim);
                    a2.Store(o0 + 2 * headDim);
                    a3.Store(o0 + 3 * headDim);
                }
                for (; h + 2 <= heads; h += 2)
                {
                    float* o0 = o + h * headDim + d, p0 = p + h * pStride;
                    Vector256<float> a0 = Vector256.Load(o0), a1 = Vector256.Load(o0 + headDim);
                    byte* row = (byte*)values + d * TRows.ElementBytes;
                    for (int j = 0; j < count; j++, row += rowBytes)
                    {
                        Vector256<float> v = TRows.Load8(row);
                        a0 = Vector256.FusedMultiplyAdd(Vector256.Create(p0[j]), v, a0);
                        a1 = Vector256.FusedMultiplyAdd(Vector256.Create(p0[pStride + j]), v, a1);
                    }
                    a0.Store(o0);
                    a1.Store(o0 + headDim);
                }
                for (; h < heads; h++)
                {
                    float* o0 = o + h * headDim + d, p0 = p + h * pStride;
                    Vector256<float> a0 = Vector256.Load(o0);
                    byte* row = (byte*)values + d * TRows.ElementBytes;
                    for (int j = 0; j < count; j++, row += rowBytes)
                    {
                        a0 = Vector256.FusedMultiplyAdd(Vector256.Create(p0[j]), TRows.Load8(row), a0);
                    }
                    a0.Store(o0);
                }
            }
        }
        // Columns left over (or all, without vectors): the same fused steps one element at a time.
        for (; d < headDim; d++)
        {
            for (int h = 0; h < heads; h++)
            {
                float acc = o[h * headDim + d];
                byte* row = (byte*)values;
                for (int j = 0; j < count; j++, row += rowBytes)
                {
                    acc = MathF.FusedMultiplyAdd(p[h * pStride + j], TRows.Element(row, d), acc);
                }
                o[h * headDim + d] = acc;
            }
        }
    }

    /// <summary>
    /// <see cref="AccumulateValues(void*, bool, long, int, float*, int, int, int, float*, SimdTier)"/> over 16-wide
    /// columns: each output element is the same chain of fused steps in order of j as in the narrower loops, so the
    /// results are the same bits. Returns the first column it left undone.
    /// </summary>
    private static int AccumulateValuesWide<TRows>(void* values, long rowBytes, int count, float* p, int pStride,
        int heads, int headDim, float* o) where TRows : struct, IRows
    {
        int d = 0;
        for (; d + 16 <= headDim; d += 16)
        {
            int h = 0;
            for (; h + 4 <= heads; h += 4)
            {
                float* o0 = o + h * headDim + d, p0 = p + h * pStride;
                Vector512<float> a0 = Vector512.Load(o0), a1 = Vector512.Load(o0 + headDim);
                Vector512<float> a2 = Vector512.Load(o0 + 2 * headDim), a3 = Vector512.Load(o0 + 3 * headDim);
                byte* row = (byte*)values + d * TRows.ElementBytes;
                for (int j = 0; j < count; j++, row += rowBytes)
                {
                    Vector512<float> v = TRows.Load16(row);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(p0[j]), v, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Create(p0[pStride + j]), v, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Create(p0[2 * pStride + j]), v, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Create(p0[3 * pStride + j]), v, a3);
                }
                a0.Store(o0);
                a1.Store(o0 + headDim);
                a2.Store(o0 + 2 * headDim);
                a3.Store(o0 + 3 * headDim);
            }
            for (; h + 2 <= heads; h += 2)
            {
                float* o0 = o + h * headDim + d, p0 = p + h * pStride;
                Vector512<float> a0 = Vector512.Load(o0), a1 = Vector512.Load(o0 + headDim);
                byte* row = (byte*)values + d * TRows.ElementBytes;
                for (int j = 0; j < count; j++, row += rowBytes)
                {
                    Vector512<float> v = TRows.Load16(row);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(p0[j]), v, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Create(p0[pStride + j]), v, a1);
                }
                a0.Store(o0);
                a1.Store(o0 + headDim);
            }
            for (; h < heads; h++)
            {
                float* o0 = o + h * headDim + d, p0 = p + h * pStride;
                Vector512<float> a0 = Vector512.Load(o0);
                byte* row = (byte*)values + d * TRows.ElementBytes;
                for (int j = 0; j < count; j++, row += rowBytes)
                {
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(p0[j]), TRows.Load16(row), a0);
                }
                a0.Store(o0);
            }
        }
        return d;
    }

    /// <summary>As <see cref="Scores4"/> with 16-wide steps (a different summation order, within the same bound).</summary>
    private static void Scores4Wide<TRows>(byte* row, float* q, int headDim, float scale, float* scores, int scoreStride) where TRows : struct, IRows
    {
        Vector512<float> a0 = Vector512<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
        for (int d = 0; d < headDim; d += 16)
        {
            Vector512<float> k = TRows.Load16(row + d * TRows.ElementBytes);
            a0 = Vector512.FusedMultiplyAdd(k, Vector512.Load(q + d), a0);
            a1 = Vector512.FusedMultiplyAdd(k, Vector512.Load(q + headDim + d), a1);
            a2 = Vector512.FusedMultiplyAdd(k, Vector512.Load(q + 2 * headDim + d), a2);
            a3 = Vector512.FusedMultiplyAdd(k, Vector512.Load(q + 3 * headDim + d), a3);
        }
        scores[0] = Vector512.Sum(a0) * scale;
        scores[scoreStride] = Vector512.Sum(a1) * scale;
        scores[2 * scoreStride] = Vector512.Sum(a2) * scale;
        scores[3 * scoreStride] = Vector512.Sum(a3) * scale;
    }

    /// <summary>Two heads' dots with one key row, with the same steps as each head of <see cref="Scores4Wide"/>.</summary>
    private static void Scores2Wide<TRows>(byte* row, float* q, int headDim, float scale, float* scores, int scoreStride) where TRows : struct, IRows
    {
        Vector512<float> a0 = Vector512<float>.Zero, a1 = a0;
        for (int d = 0; d < headDim; d += 16)
        {
            Vector512<float> k = TRows.Load16(row + d * TRows.ElementBytes);
            a0 = Vector512.FusedMultiplyAdd(k, Vector512.Load(q + d), a0);
            a1 = Vector512.FusedMultiplyAdd(k, Vector512.Load(q + headDim + d), a1);
        }
        scores[0] = Vector512.Sum(a0) * scale;
        scores[scoreStride] = Vector512.Sum(a1) * scale;
    }

    /// <summary>One head's dot, with the same steps as each head of <see cref="Scores4Wide"/>.</summary>
    private static float Score1Wide<TRows>(byte* row, float* q, int headDim) where TRows : struct, IRows
    {
        Vector512<float> a0 = Vector512<float>.Zero;
        for (int d = 0; d < headDim; d += 16)
        {
            a0 = Vector512.FusedMultiplyAdd(TRows.Load16(row + d * TRows.ElementBytes), Vector512.Load(q + d), a0);
        }
        return Vector512.Sum(a0);
    }


    /// <summary>Four heads' dots with one key row: the row is loaded (and widened) once per 8 elements for the four.</summary>
    private static void Scores4<TRows>(byte* row, float* q, int headDim, float scale, float* scores, int scoreStride) where TRows : struct, IRows
    {
        Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
        for (int d = 0; d < headDim; d += 8)
        {
            Vector256<float> k = TRows.Load8(row + d * TRows.ElementBytes);
            a0 = Vector256.FusedMultiplyAdd(k, Vector256.Load(q + d), a0);
            a1 = Vector256.FusedMultiplyAdd(k, Vector256.Load(q + headDim + d), a1);
            a2 = Vector256.FusedMultiplyAdd(k, Vector256.Load(q + 2 * headDim + d), a2);
            a3 = Vector256.FusedMultiplyAdd(k, Vector256.Load(q + 3 * headDim + d), a3);
        }
        scores[0] = Vector256.Sum(a0) * scale;
        scores[scoreStride] = Vector256.Sum(a1) * scale;
        scores[2 * scoreStride] = Vector256.Sum(a2) * scale;
        scores[3 * scoreStride] = Vector256.Sum(a3) * scale;
    }

    /// <summary>Two heads' dots with one key row, with the same steps as each head of <see cref="Scores4"/>.</summary>
    private static void Scores2<TRows>(byte* row, float* q, int headDim, float scale, float* scores, int scoreStride) where TRows : struct, IRows
    {
        Vector256<float> a0 = Vector256<float>.Zero, a1 = a0;
        for (int d = 0; d < headDim; d += 8)
        {
            Vector256<float> k = TRows.Load8(row + d * TRows.ElementBytes);
            a0 = Vector256.FusedMultiplyAdd(k, Vector256.Load(q + d), a0);
            a1 = Vector256.FusedMultiplyAdd(k, Vector256.Load(q + headDim + d), a1);
        }
        scores[0] = Vector256.Sum(a0) * scale;
        scores[scoreStride] = Vector256.Sum(a1) * scale;
    }

    /// <summary>One head's dot, with the same steps as each head of <see cref="Scores4"/>.</summary>
    private static float Score1<TRows>(byte* row, float* q, int headDim) where TRows : struct, IRows
    {
        Vector256<float> a0 = Vector256<float>.Zero;
        for (int d = 0; d < headDim; d += 8)
        {
            a0 = Vector256.FusedMultiplyAdd(TRows.Load8(row + d * TRows.ElementBytes), Vector256.Load(q + d), a0);
        }
        return Vector256.Sum(a0);
    }

    private static float ScoreScalar<TRows>(byte* row, float* q, int headDim) where TRows : struct, IRows
    {
        float sum = 0f;
        for (int d = 0; d < headDim; d++)
        {
            sum = MathF.FusedMultiplyAdd(TRows.Element(row, d), q[d], sum);
        }
        return sum;
    }

    /// <summary>How a cached row's elements become floats: F32 as they are, F16 exactly (any value), or F16 by the
    /// cheaper sign-extending widening that is exact for finite values (rows screened by <see cref="AllFinite"/>).</summary>
    private interface IRows
    {
        static abstract int ElementBytes { get; }
        static abstract Vector512<float> Load16(byte* p);
        static abstract Vector256<float> Load8(byte* p);
        static abstract float Element(byte* row, int d);
    }

    private struct FloatRows : IRows
    {
        public static int ElementBytes => sizeof(float);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load16(byte* p) => Vector512.Load((float*)p);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load8(byte* p) => Vector256.Load((float*)p);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Element(byte* row, int d) => ((float*)row)[d];
    }

    private struct HalfRows : IRows
    {
        public static int ElementBytes => sizeof(ushort);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load16(byte* p) => F16.Widen(Vector512.WidenLower(Vector256.Load((ushort*)p).ToVector512()));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load8(byte* p) => F16.Widen(Vector256.WidenLower(Vector128.Load((ushort*)p).ToVector256()));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Element(byte* row, int d) => F16.ToSingle(((ushort*)row)[d]);
    }

    // Four instructions per 16 halves instead of about twelve. Both kernels over 128 cached positions for six heads of
    // 128 (Qwen2-1.5B's group), rows in L2, AVX-512: 62 ns per position against 83 with the exact widening (F32 rows: 46).
    private struct FiniteHalfRows : IRows
    {
        public static int ElementBytes => sizeof(ushort);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Load16(byte* p) =>
            F16.WidenFinite512((ushort*)p, Vector512.Create(unchecked((int)0x8FFFE000)), Vector512.Create(0x77800000).AsSingle());
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Load8(byte* p) =>
            F16.WidenFinite((ushort*)p, Vector256.Create(unchecked((int)0x8FFFE000)), Vector256.Create(0x77800000).AsSingle());
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Element(byte* row, int d) => F16.ToSingle(((ushort*)row)[d]);
    }
}

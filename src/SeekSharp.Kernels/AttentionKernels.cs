using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
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
        bool vector = tier >= SimdTier.Vector256 && headDim % Vector256<float>.Count == 0;
        bool wide = tier >= SimdTier.Vector512 && headDim % Vector512<float>.Count == 0;
        for (int j = 0; j < count; j++)
        {
            byte* row = (byte*)keys + j * rowStride * (half ? sizeof(ushort) : sizeof(float));
            int h = 0;
            if (wide)
            {
                for (; h + 4 <= heads; h += 4)
                {
                    Scores4Wide(row, half, q + h * headDim, headDim, scale, scores + h * scoreStride + j, scoreStride);
                }
                for (; h + 2 <= heads; h += 2)
                {
                    Scores2Wide(row, half, q + h * headDim, headDim, scale, scores + h * scoreStride + j, scoreStride);
                }
                for (; h < heads; h++)
                {
                    scores[h * scoreStride + j] = Score1Wide(row, half, q + h * headDim, headDim) * scale;
                }
            }
            else if (vector)
            {
                for (; h + 4 <= heads; h += 4)
                {
                    Scores4(row, half, q + h * headDim, headDim, scale, scores + h * scoreStride + j, scoreStride);
                }
                for (; h + 2 <= heads; h += 2)
                {
                    Scores2(row, half, q + h * headDim, headDim, scale, scores + h * scoreStride + j, scoreStride);
                }
            }
            for (; h < heads; h++)
            {
                scores[h * scoreStride + j] = vector
                    ? Score1(row, half, q + h * headDim, headDim) * scale
                    : ScoreScalar(row, half, q + h * headDim, headDim) * scale;
            }
        }
    }

    internal static void AccumulateValues(void* values, bool half, long rowStride, int count, float* p, int pStride,
        int heads, int headDim, float* o, SimdTier tier)
    {
        Debug.Assert(count >= 0 && heads >= 0 && headDim >= 0);
        long rowBytes = rowStride * (half ? sizeof(ushort) : sizeof(float));
        int d = 0;
        if (tier >= SimdTier.Vector512)
        {
            d = AccumulateValuesWide(values, half, rowBytes, count, p, pStride, heads, headDim, o);
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
                    byte* row = (byte*)values + d * (half ? sizeof(ushort) : sizeof(float));
                    for (int j = 0; j < count; j++, row += rowBytes)
                    {
                        Vector256<float> v = Load8(row, half);
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
                    byte* row = (byte*)values + d * (half ? sizeof(ushort) : sizeof(float));
                    for (int j = 0; j < count; j++, row += rowBytes)
                    {
                        Vector256<float> v = Load8(row, half);
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
                    byte* row = (byte*)values + d * (half ? sizeof(ushort) : sizeof(float));
                    for (int j = 0; j < count; j++, row += rowBytes)
                    {
                        a0 = Vector256.FusedMultiplyAdd(Vector256.Create(p0[j]), Load8(row, half), a0);
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
                    acc = MathF.FusedMultiplyAdd(p[h * pStride + j], Element(row, half, d), acc);
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
    private static int AccumulateValuesWide(void* values, bool half, long rowBytes, int count, float* p, int pStride,
        int heads, int headDim, float* o)
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
                byte* row = (byte*)values + d * (half ? sizeof(ushort) : sizeof(float));
                for (int j = 0; j < count; j++, row += rowBytes)
                {
                    Vector512<float> v = Load16(row, half);
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
                byte* row = (byte*)values + d * (half ? sizeof(ushort) : sizeof(float));
                for (int j = 0; j < count; j++, row += rowBytes)
                {
                    Vector512<float> v = Load16(row, half);
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
                byte* row = (byte*)values + d * (half ? sizeof(ushort) : sizeof(float));
                for (int j = 0; j < count; j++, row += rowBytes)
                {
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(p0[j]), Load16(row, half), a0);
                }
                a0.Store(o0);
            }
        }
        return d;
    }

    /// <summary>As <see cref="Scores4"/> with 16-wide steps (a different summation order, within the same bound).</summary>
    private static void Scores4Wide(byte* row, bool half, float* q, int headDim, float scale, float* scores, int scoreStride)
    {
        Vector512<float> a0 = Vector512<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
        for (int d = 0; d < headDim; d += 16)
        {
            Vector512<float> k = Load16(row + d * (half ? sizeof(ushort) : sizeof(float)), half);
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
    private static void Scores2Wide(byte* row, bool half, float* q, int headDim, float scale, float* scores, int scoreStride)
    {
        Vector512<float> a0 = Vector512<float>.Zero, a1 = a0;
        for (int d = 0; d < headDim; d += 16)
        {
            Vector512<float> k = Load16(row + d * (half ? sizeof(ushort) : sizeof(float)), half);
            a0 = Vector512.FusedMultiplyAdd(k, Vector512.Load(q + d), a0);
            a1 = Vector512.FusedMultiplyAdd(k, Vector512.Load(q + headDim + d), a1);
        }
        scores[0] = Vector512.Sum(a0) * scale;
        scores[scoreStride] = Vector512.Sum(a1) * scale;
    }

    /// <summary>One head's dot, with the same steps as each head of <see cref="Scores4Wide"/>.</summary>
    private static float Score1Wide(byte* row, bool half, float* q, int headDim)
    {
        Vector512<float> a0 = Vector512<float>.Zero;
        for (int d = 0; d < headDim; d += 16)
        {
            a0 = Vector512.FusedMultiplyAdd(Load16(row + d * (half ? sizeof(ushort) : sizeof(float)), half), Vector512.Load(q + d), a0);
        }
        return Vector512.Sum(a0);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Load16(byte* p, bool half) =>
        half ? F16.Widen(Vector512.WidenLower(Vector256.Load((ushort*)p).ToVector512())) : Vector512.Load((float*)p);

    /// <summary>Four heads' dots with one key row: the row is loaded (and widened) once per 8 elements for the four.</summary>
    private static void Scores4(byte* row, bool half, float* q, int headDim, float scale, float* scores, int scoreStride)
    {
        Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
        for (int d = 0; d < headDim; d += 8)
        {
            Vector256<float> k = Load8(row + d * (half ? sizeof(ushort) : sizeof(float)), half);
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
    private static void Scores2(byte* row, bool half, float* q, int headDim, float scale, float* scores, int scoreStride)
    {
        Vector256<float> a0 = Vector256<float>.Zero, a1 = a0;
        for (int d = 0; d < headDim; d += 8)
        {
            Vector256<float> k = Load8(row + d * (half ? sizeof(ushort) : sizeof(float)), half);
            a0 = Vector256.FusedMultiplyAdd(k, Vector256.Load(q + d), a0);
            a1 = Vector256.FusedMultiplyAdd(k, Vector256.Load(q + headDim + d), a1);
        }
        scores[0] = Vector256.Sum(a0) * scale;
        scores[scoreStride] = Vector256.Sum(a1) * scale;
    }

    /// <summary>One head's dot, with the same steps as each head of <see cref="Scores4"/>.</summary>
    private static float Score1(byte* row, bool half, float* q, int headDim)
    {
        Vector256<float> a0 = Vector256<float>.Zero;
        for (int d = 0; d < headDim; d += 8)
        {
            a0 = Vector256.FusedMultiplyAdd(Load8(row + d * (half ? sizeof(ushort) : sizeof(float)), half), Vector256.Load(q + d), a0);
        }
        return Vector256.Sum(a0);
    }

    private static float ScoreScalar(byte* row, bool half, float* q, int headDim)
    {
        float sum = 0f;
        for (int d = 0; d < headDim; d++)
        {
            sum = MathF.FusedMultiplyAdd(Element(row, half, d), q[d], sum);
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Load8(byte* p, bool half) =>
        half ? F16.Widen(Vector256.WidenLower(Vector128.Load((ushort*)p).ToVector256())) : Vector256.Load((float*)p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Element(byte* row, bool half, int d) =>
        half ? F16.ToSingle(((ushort*)row)[d]) : ((float*)row)[d];
}

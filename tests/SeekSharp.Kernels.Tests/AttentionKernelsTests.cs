using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests;

/// <summary>
/// AttentionKernels at every tier: scores within the float summation bound of the exact dot (the vector tier sums in
/// eight lanes, the scalar twin in order), value sums bit for bit equal across tiers (both are one fused step per
/// position, in order), a head's result independent of how many heads share the call, and an F16 row giving what
/// the same values in an F32 row give.
/// </summary>
public class AttentionKernelsTests
{
    // Head counts around the 4- and 2-head blocks; head sizes around the 8-float vector (and not a multiple of it).
    public static TheoryData<int, int, int, bool> Cases()
    {
        var data = new TheoryData<int, int, int, bool>();
        foreach (int tier in new[] { 0, 1, 2 })
        {
            foreach (int heads in new[] { 1, 2, 3, 4, 6, 7 })
            {
                foreach (int headDim in new[] { 8, 12, 40, 64 })
                {
                    data.Add(tier, heads, headDim, heads % 2 == 0);
                }
            }
        }
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public unsafe void ScoresAreWithinTheSummationBoundOfTheExactDot(int tier, int heads, int headDim, bool half)
    {
        const int count = 37, stride = 3;   // rows of 3 KV heads: this head's row is every third
        var (rows, rowValues) = Rows(count, stride, headDim, half, 11);
        float[] q = TestData.Random(heads * headDim, 12, 2f);
        const float scale = 0.125f;
        float[] scores = new float[heads * 40];
        fixed (float* pq = q, ps = scores)
        fixed (byte* pr = rows)
        {
            AttentionKernels.Scores(pr, half, (long)stride * headDim, count, pq, heads, headDim, scale, ps, 40, (SimdTier)tier);
        }
        for (int h = 0; h < heads; h++)
        {
            for (int j = 0; j < count; j++)
            {
                double exact = 0, sumAbs = 0;
                for (int d = 0; d < headDim; d++)
                {
                    double term = (double)rowValues[j * stride * headDim + d] * q[h * headDim + d];
                    exact += term;
                    sumAbs += Math.Abs(term);
                }
                // The sum's error, then one more rounding for the scale (exact here: a power of two).
                double bound = TestData.SummationBound(headDim, sumAbs) * scale;
                Assert.True(Math.Abs(scores[h * 40 + j] - exact * scale) <= bound,
                    $"head {h}, key {j}: {scores[h * 40 + j]} vs exact {exact * scale}, bound {bound:E3}");
            }
        }
    }

    [Theory, MemberData(nameof(Cases))]
    public unsafe void AHeadsScoreDoesNotDependOnTheHeadsBesideIt(int tier, int heads, int headDim, bool half)
    {
        const int count = 9;
        var (rows, _) = Rows(count, 1, headDim, half, 13);
        float[] q = TestData.Random(heads * headDim, 14);
        float[] together = new float[heads * count], alone = new float[heads * count];
        fixed (float* pq = q, pt = together, pa = alone)
        fixed (byte* pr = rows)
        {
            AttentionKernels.Scores(pr, half, headDim, count, pq, heads, headDim, 0.5f, pt, count, (SimdTier)tier);
            for (int h = 0; h < heads; h++)
            {
                AttentionKernels.Scores(pr, half, headDim, count, pq + h * headDim, 1, headDim, 0.5f, pa + h * count, count, (SimdTier)tier);
            }
        }
        Assert.Equal(alone.Select(BitConverter.SingleToInt32Bits), together.Select(BitConverter.SingleToInt32Bits));
    }

    [Theory, MemberData(nameof(Cases))]
    public unsafe void ValueSumsEqualTheScalarTwinBitForBit(int tier, int heads, int headDim, bool half)
    {
        const int count = 21, stride = 2;
        var (rows, _) = Rows(count, stride, headDim, half, 15);
        float[] p = TestData.Random(heads * 24, 16);
        float[] start = TestData.Random(heads * headDim, 17);
        float[] expected = (float[])start.Clone(), actual = (float[])start.Clone(), alone = (float[])start.Clone();
        fixed (float* pp = p, pe = expected, pa = actual, pl = alone)
        fixed (byte* pr = rows)
        {
            AttentionKernels.AccumulateValues(pr, half, (long)stride * headDim, count, pp, 24, heads, headDim, pe, SimdTier.Scalar);
            AttentionKernels.AccumulateValues(pr, half, (long)stride * headDim, count, pp, 24, heads, headDim, pa, (SimdTier)tier);
            for (int h = 0; h < heads; h++)
            {
                AttentionKernels.AccumulateValues(pr, half, (long)stride * headDim, count, pp + h * 24, 24, 1, headDim, pl + h * headDim, (SimdTier)tier);
            }
        }
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), actual.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), alone.Select(BitConverter.SingleToInt32Bits));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public unsafe void HalfRowsGiveWhatTheirValuesGiveAsFloats(int tier)
    {
        const int count = 10, heads = 6, headDim = 16;
        var (halfRows, values) = Rows(count, 1, headDim, half: true, 18);
        var (s1, o1, s2, o2) = HalfAndFloatRows(halfRows, values, count, heads, headDim, tier, 19, 20);
        Assert.Equal(s2, s1);
        Assert.Equal(o2, o1);
    }

    // Rows with an infinity or NaN take the exact widening (the cheap one would turn them into finite numbers); rows of
    // subnormals, signed zeros and the largest halves take the cheap one, which must still be exact for them. Either
    // way a half row gives what its values give as floats. Head size 40: 16-wide, then 8-wide, steps.
    [Theory]
    [InlineData(0, false)]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(0, true)]
    [InlineData(1, true)]
    [InlineData(2, true)]
    public unsafe void HalfRowsWithSpecialValuesGiveWhatTheirValuesGiveAsFloats(int tier, bool nonFinite)
    {
        const int count = 12, heads = 6, headDim = 40;
        ushort[] special = nonFinite
            ? [0x7C00, 0xFC00, 0x7E00, 0x7D01, 0x3C00]                  // +inf, −inf, NaN, signalling NaN, 1
            : [0x0001, 0x83FF, 0x0000, 0x8000, 0x7BFF, 0xFBFF, 0x0400];  // subnormals, ±0, ±65504, smallest normal
        var (halfRows, values) = Rows(count, 1, headDim, half: true, 21);
        for (int k = 0; k < special.Length; k++)
        {
            int at = (7 * k + 3) % count * headDim + (11 * k) % headDim;   // spread over rows and over 16-, 8- and scalar columns
            halfRows[2 * at] = (byte)special[k];
            halfRows[2 * at + 1] = (byte)(special[k] >> 8);
            values[at] = (float)BitConverter.UInt16BitsToHalf(special[k]);
        }
        Assert.Equal(!nonFinite, AllFinite(halfRows, count, headDim));
        var (s1, o1, s2, o2) = HalfAndFloatRows(halfRows, values, count, heads, headDim, tier, 22, 23);
        Assert.Equal(s2.Select(BitConverter.SingleToInt32Bits), s1.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(o2.Select(BitConverter.SingleToInt32Bits), o1.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public unsafe void TheScreenFindsAnInfinityOrNaNInAnyColumnAndOnlyThose()
    {
        const int count = 3, headDim = 40;
        for (int column = 0; column < headDim; column++)
        {
            foreach (ushort bits in new ushort[] { 0x7C00, 0xFC00, 0x7FFF, 0xFE00, 0x7BFF, 0xFBFF, 0x8001 })
            {
                var (rows, _) = Rows(count, 1, headDim, half: true, 24);
                int at = 2 * headDim + column;   // the last row
                rows[2 * at] = (byte)bits;
                rows[2 * at + 1] = (byte)(bits >> 8);
                bool finite = (bits & 0x7C00) != 0x7C00;
                Assert.True(finite == AllFinite(rows, count, headDim), $"column {column}, bits 0x{bits:X4}");
            }
        }
    }

    /// <summary>Scores and value sums of the same random query and probabilities over F16 rows and over their float
    /// values laid out as F32 rows: (scores, sums) from the halves, then from the floats.</summary>
    private static unsafe (float[] S1, float[] O1, float[] S2, float[] O2) HalfAndFloatRows(byte[] halfRows, float[] values,
        int count, int heads, int headDim, int tier, int seedQ, int seedP)
    {
        byte[] floatRows = new byte[values.Length * sizeof(float)];
        Buffer.BlockCopy(values, 0, floatRows, 0, floatRows.Length);
        float[] q = TestData.Random(heads * headDim, seedQ), p = TestData.Random(heads * count, seedP);
        float[] s1 = new float[heads * count], s2 = new float[heads * count];
        float[] o1 = new float[heads * headDim], o2 = new float[heads * headDim];
        fixed (float* pq = q, pp = p, ps1 = s1, ps2 = s2, po1 = o1, po2 = o2)
        fixed (byte* ph = halfRows, pf = floatRows)
        {
            AttentionKernels.Scores(ph, true, headDim, count, pq, heads, headDim, 1f, ps1, count, (SimdTier)tier);
            AttentionKernels.Scores(pf, false, headDim, count, pq, heads, headDim, 1f, ps2, count, (SimdTier)tier);
            AttentionKernels.AccumulateValues(ph, true, headDim, count, pp, count, heads, headDim, po1, (SimdTier)tier);
            AttentionKernels.AccumulateValues(pf, false, headDim, count, pp, count, heads, headDim, po2, (SimdTier)tier);
        }
        return (s1, o1, s2, o2);
    }

    private static unsafe bool AllFinite(byte[] rows, int count, int headDim)
    {
        fixed (byte* p = rows)
        {
            return AttentionKernels.AllFinite((ushort*)p, headDim, count, headDim);
        }
    }

    /// <summary>count rows of stride · headDim elements (F16 or F32 bytes) and the float value of every element.</summary>
    private static (byte[] Bytes, float[] Values) Rows(int count, int stride, int headDim, bool half, int seed)
    {
        float[] values = TestData.Random(count * stride * headDim, seed, 4f);
        if (!half)
        {
            byte[] f = new byte[values.Length * sizeof(float)];
            Buffer.BlockCopy(values, 0, f, 0, f.Length);
            return (f, values);
        }
        byte[] h = new byte[values.Length * sizeof(ushort)];
        for (int i = 0; i < values.Length; i++)
        {
            ushort bits = BitConverter.HalfToUInt16Bits((Half)values[i]);
            values[i] = (float)BitConverter.UInt16BitsToHalf(bits);
            h[2 * i] = (byte)bits;
            h[2 * i + 1] = (byte)(bits >> 8);
        }
        return (h, values);
    }
}

using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Quants;

public class Q8_KTests
{
    // The IQ2 dots (IqGroup.SignedLanes) and the Q8_0 ones move weight signs onto the activation quants, which is exact
    // only while no quant is −128: the scale −127/max keeps every quant in −127 .. 127 on every tier, ties and
    // values of either sign at the block maximum included.
    [Theory]
    [InlineData((int)SimdTier.Scalar)]
    [InlineData((int)SimdTier.Vector256)]
    [InlineData((int)SimdTier.Vector512)]
    public void QuantsNeverReachMinus128(int tier)
    {
        var rng = new Random(77);
        float[] x = new float[64 * 256];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1) * (i % 7 == 0 ? 100f : 1f);
        for (int b = 0; b < 64; b++)
        {
            // Blocks whose extremes have both signs at the same magnitude, or sit just beside it.
            x[b * 256] = b % 2 == 0 ? 100f : -100f;
            x[b * 256 + 1] = b % 3 == 0 ? -100f : 99.999f * (b % 2 == 0 ? -1 : 1);
        }
        byte[] q = Quantize(x, (SimdTier)tier);
        for (int b = 0; b < 64; b++)
        {
            Assert.True(Quants(q.AsSpan(b * Q8_K.BlockBytes, Q8_K.BlockBytes).ToArray()).Min() >= -127);
        }
    }

    [Fact]
    public unsafe void ActivationQuantizerKnownBlockRoundsHalvesToEven()
    {
        // max = -127 → iscale = 1 exactly, d = 1: the quants are nearest_int(x), ties to even.
        var x = new float[256];
        x[0] = -127f;
        x[1] = 0.5f;
        x[2] = 1.5f;
        x[3] = 2.5f;
        x[4] = -2.5f;
        x[5] = 126.6f;
        x[16] = 3f;
        foreach (SimdTier tier in AllTiers)
        {
            byte[] q = Quantize(x, tier);
            Assert.Equal(1f, BitConverter.ToSingle(q, 0));
            Assert.Equal(new sbyte[] { -127, 0, 2, 2, -2, 127 }, Quants(q)[..6]);
            Assert.Equal(-127 + 0 + 2 + 2 - 2 + 127, BitConverter.ToInt16(q, Q8_K.BsumsOffset));
            Assert.Equal(3, BitConverter.ToInt16(q, Q8_K.BsumsOffset + 2));
            Assert.All(Enumerable.Range(2, 14), g => Assert.Equal(0, BitConverter.ToInt16(q, Q8_K.BsumsOffset + 2 * g)));
        }
    }

    [Fact]
    public void ActivationQuantizerTakesTheFirstOfEqualMagnitudes()
    {
        // +127 comes first, so max = +127, iscale = -1 and d = -1: the quants carry the opposite sign.
        var x = new float[256];
        x[40] = 127f;
        x[41] = -127f;
        x[42] = 5f;
        foreach (SimdTier tier in AllTiers)
        {
            byte[] q = Quantize(x, tier);
            Assert.Equal(-1f, BitConverter.ToSingle(q, 0));
            Assert.Equal(new sbyte[] { -127, 127, -5 }, Quants(q)[40..43]);
        }
    }

    [Fact]
    public void ZeroBlockIsAllZeroBytes()
    {
        foreach (SimdTier tier in AllTiers)
        {
            Assert.All(Quantize(new float[512], tier), b => Assert.Equal(0, b));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    public void ActivationQuantizerIsBitExactAcrossTiers(int blocks)
    {
        float[] x = TestData.Random(blocks * 256, 80 + blocks, 3f);
        x[17] = -x.Max(MathF.Abs);   // a magnitude tie of opposite signs in block 0
        byte[] scalar = Quantize(x, SimdTier.Scalar);
        Assert.Equal(scalar, Quantize(x, SimdTier.Vector256));
        Assert.Equal(scalar, Quantize(x, SimdTier.Vector512));
    }

    [Fact]
    public void RoundTripErrorIsWithinHalfAStep()
    {
        float[] x = TestData.Random(256 * 4, 84, 10f);
        byte[] q = Quantize(x, SimdTier.Scalar);
        float[] y = new float[x.Length];
        Q8_K.Dequantize(q, y);
        for (int b = 0; b < 4; b++)
        {
            float amax = x.Skip(b * 256).Take(256).Max(MathF.Abs);
            for (int j = 0; j < 256; j++)
            {
                double bound = amax / 127.0 / 2 + 4 * TestData.U * amax;
                Assert.True(Math.Abs(y[b * 256 + j] - x[b * 256 + j]) <= bound, $"block {b} j {j}");
            }
        }
    }

    private static readonly SimdTier[] AllTiers = [SimdTier.Scalar, SimdTier.Vector256, SimdTier.Vector512];

    internal static unsafe byte[] Quantize(float[] x, SimdTier tier)
    {
        byte[] q = Enumerable.Repeat((byte)0xCD, x.Length / 256 * Q8_K.BlockBytes).ToArray();
        fixed (float* px = x)
        fixed (byte* pq = q)
        {
            Q8_K.QuantizeActivation(px, pq, x.Length, tier);
        }
        return q;
    }

    private static sbyte[] Quants(byte[] block) => block[Q8_K.QsOffset..(Q8_K.QsOffset + Q8_K.BlockSize)].Select(b => (sbyte)b).ToArray();
}

/// <summary>
/// Checks shared by the K-quant weight types (Q4_K, Q5_K, Q6_K): each vector tier of the dot against Q8_K gives the
/// scalar twin's bits, the dot equals Σ dequantized weight · dequantized activation up to float rounding, MatMul
/// runs the type on every tier, and rows must be whole super-blocks.
/// </summary>
public abstract class KQuantTests(GgmlType type)
{
    private int BlockBytes => TensorTypes.BlockBytes(type);

    public static TheoryData<Tier, int> Cases()
    {
        var data = new TheoryData<Tier, int>();
        foreach (Tier tier in new[] { Tier.Vector256, Tier.Vector512 })
        {
            foreach (int blocks in new[] { 0, 1, 2, 3, 5, 8 })
            {
                data.Add(tier, blocks);
            }
        }
        return data;
    }

    /// <summary>The dot of w with the Q8_K activation x (in Q8_K's own order; put into the tier's order on a copy).</summary>
    internal unsafe float Dot(byte[] w, byte[] x, int blocks, SimdTier tier)
    {
        x = Prepared(x, blocks, tier);
        fixed (byte* pw = w, px = x)
        {
            return type switch
            {
                GgmlType.Q4_K => Q4_K.Dot(pw, px, blocks, tier),
                GgmlType.Q5_K => Q5_K.Dot(pw, px, blocks, tier),
                GgmlType.Q6_K => Q6_K.Dot(pw, px, blocks, tier),
                _ => throw new ArgumentOutOfRangeException(nameof(type)),
            };
        }
    }

    /// <summary>A copy of the activation blocks at the start of x in the order the tier's dot of this type reads.</summary>
    private unsafe byte[] Prepared(byte[] x, int blocks, SimdTier tier)
    {
        byte[] copy = (byte[])x.Clone();
        if (type is GgmlType.Q4_K or GgmlType.Q5_K)
        {
            fixed (byte* p = copy)
            {
                AffineKDot.PrepareActivation(p, blocks, tier);
            }
        }
        return copy;
    }

    /// <summary>Random bytes (every bit pattern of the quants and 6/8-bit scales is legal) with finite half scales.</summary>
    private byte[] RandomWeights(int blocks, int seed)
    {
        var rng = new Random(seed);
        byte[] w = new byte[blocks * BlockBytes];
        rng.NextBytes(w);
        for (int b = 0; b < blocks; b++)
        {
            int at = b * BlockBytes;
            if (type == GgmlType.Q6_K)
            {
                BitConverter.TryWriteBytes(w.AsSpan(at + 208), F16.FromSingle((float)rng.NextDouble() * 0.01f));
            }
            else
            {
                BitConverter.TryWriteBytes(w.AsSpan(at), F16.FromSingle((float)rng.NextDouble() * 0.01f));
                BitConverter.TryWriteBytes(w.AsSpan(at + 2), F16.FromSingle((float)rng.NextDouble() * 0.01f));
            }
        }
        return w;
    }

    [Theory, MemberData(nameof(Cases))]
    public void DotIsBitExactAcrossTiers(Tier tier, int blocks)
    {
        byte[] w = RandomWeights(blocks, 90 + blocks);
        byte[] x = Q8_KTests.Quantize(TestData.Random(blocks * 256, 91 + blocks, 2f), SimdTier.Scalar);
        Assert.Equal(Dot(w, x, blocks, SimdTier.Scalar), Dot(w, x, blocks, (SimdTier)tier));
    }

    public static TheoryData<int, int> TiersWithScalarAndBlocks()
    {
        var data = new TheoryData<int, int>();
        foreach (SimdTier tier in new[] { SimdTier.Scalar, SimdTier.Vector256, SimdTier.Vector512 })
        {
            foreach (int blocks in new[] { 0, 1, 3 })
            {
                data.Add((int)tier, blocks);
            }
        }
        return data;
    }

    /// <summary>The four-token kernel of the batched matmul: each output equals the single dot of its pair, bit for bit.</summary>
    internal unsafe delegate void FourTokenDot(byte* w, byte* x, long xStride, int blocks, float* y, long yStride, SimdTier tier);

    /// <summary>The eight-token kernel's shape: as <see cref="FourTokenDot"/> with the rows' table.</summary>
    internal unsafe delegate void EightTokenDot(byte* w, byte* x, long xStride, byte* table, int blocks, float* state, EightTokenPart part, float* y, long yStride, SimdTier tier);

    internal unsafe void AssertFourTokenDotEqualsSingleDots(SimdTier tier, int blocks, FourTokenDot dot4)
    {
        byte[] w = RandomWeights(blocks, 120 + blocks);
        var (x, prepared, stride) = FourTokens(tier, blocks);
        float[] y = new float[4 * 3];
        fixed (byte* pw = w, px = prepared)
        fixed (float* py = y)
        {
            dot4(pw, px, stride, blocks, py, 3, tier);
        }
        for (int t = 0; t < 4; t++)
        {
            float single = Dot(w, x[(int)(t * stride)..], blocks, tier);
            Assert.Equal(BitConverter.SingleToInt32Bits(single), BitConverter.SingleToInt32Bits(y[t * 3]));
        }
    }

    /// <summary>
    /// The eight-token kernel (one weight row against eight activation rows, 512-bit vectors; two four-token calls on
    /// other tiers): each output equals the single dot of its pair, bit for bit. The kernel reads the eight rows' table
    /// (Q8_K.BuildEightTokenTable) as MatMul builds it.
    /// </summary>
    internal unsafe void AssertEightTokenDotEqualsSingleDots(SimdTier tier, int blocks, EightTokenDot dot8)
    {
        byte[] w = RandomWeights(blocks, 140 + blocks);
        var (x, prepared, stride) = Tokens(tier, blocks, 8);
        byte[] table = new byte[blocks * Q8_K.EightTokenTableBytes];
        float[] y = new float[8 * 3];
        y.AsSpan().Fill(float.NaN);
        fixed (byte* pw = w, px = prepared, pt = table)
        fixed (float* py = y)
        {
            Q8_K.BuildEightTokenTable(px, stride, blocks, pt);
            dot8(pw, px, stride, pt, blocks, null, EightTokenPart.Whole, py, 3, tier);
        }
        for (int t = 0; t < 8; t++)
        {
            float single = Dot(w, x[(int)(t * stride)..], blocks, tier);
            Assert.Equal(BitConverter.SingleToInt32Bits(single), BitConverter.SingleToInt32Bits(y[t * 3]));
        }
        if (tier != SimdTier.Vector512 || !System.Runtime.Intrinsics.X86.Avx512BW.IsSupported || blocks < 2)   // rows are split for the 512-bit kernels only
        {
            return;
        }
        // The same row in parts of one block, then the rest in two (MatMul's long rows), the running sums kept in between.
        float[] parts = new float[8 * 3];
        float[] state = new float[Q8_K.EightTokenStateFloats];
        int weightBlockBytes = w.Length / blocks;
        fixed (byte* pw = w, px = prepared, pt = table)
        fixed (float* py = parts, ps = state)
        {
            int[] bounds = [0, 1, 1 + (blocks - 1) / 2, blocks];
            for (int k = 0; k + 1 < bounds.Length; k++)
            {
                int b = bounds[k], count = bounds[k + 1] - b;
                if (count == 0) continue;
                var part = (b == 0 ? EightTokenPart.First : 0) | (b + count == blocks ? EightTokenPart.Last : 0);
                dot8(pw + b * weightBlockBytes, px + b * Q8_K.BlockBytes, stride, pt + b * Q8_K.EightTokenTableBytes, count, ps, part, py, 3, tier);
            }
        }
        for (int t = 0; t < 8; t++)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(y[t * 3]), BitConverter.SingleToInt32Bits(parts[t * 3]));
        }
    }

    /// <summary>The two-row, four-token kernel: row r's output for token t at y[t·yStride + r] equals the single dot of its pair, bit for bit.</summary>
    internal unsafe delegate void TwoRowFourTokenDot(byte* w, long wStride, byte* x, long xStride, int blocks, float* y, long yStride, SimdTier tier);

    internal unsafe void AssertTwoRowFourTokenDotEqualsSingleDots(SimdTier tier, int blocks, TwoRowFourTokenDot dot)
    {
        int wStride = blocks * BlockBytes + 48;   // weight rows apart, as in a matrix whose rows are read two at a time
        byte[] w = new byte[2 * wStride];
        RandomWeights(blocks, 130 + blocks).CopyTo(w, 0);
        RandomWeights(blocks, 131 + blocks).CopyTo(w, wStride);
        var (x, prepared, stride) = FourTokens(tier, blocks);
        float[] y = new float[4 * 5];
        fixed (byte* pw = w, px = prepared)
        fixed (float* py = y)
        {
            dot(pw, wStride, px, stride, blocks, py, 5, tier);
        }
        for (int r = 0; r < 2; r++)
        {
            for (int t = 0; t < 4; t++)
            {
                float single = Dot(w[(r * wStride)..], x[(int)(t * stride)..], blocks, tier);
                Assert.Equal(BitConverter.SingleToInt32Bits(single), BitConverter.SingleToInt32Bits(y[t * 5 + r]));
            }
        }
    }

    /// <summary>Four Q8_K activation rows further apart than one row, as in a batch, one of them at the extreme quants; as they are and in the tier's order.</summary>
    private (byte[] X, byte[] Prepared, long Stride) FourTokens(SimdTier tier, int blocks) => Tokens(tier, blocks, 4);

    private unsafe (byte[] X, byte[] Prepared, long Stride) Tokens(SimdTier tier, int blocks, int count)
    {
        long stride = blocks * Q8_K.BlockBytes + 100;
        byte[] x = new byte[count * stride];
        for (int t = 0; t < count; t++)
        {
            byte[] row = Q8_KTests.Quantize(TestData.Random(blocks * 256, 121 + t, 2f), SimdTier.Scalar);
            if ((t == 3 || t == 6) && blocks > 0)
            {
                row.AsSpan(Q8_K.QsOffset, 32).Fill(0x80);   // extreme activation quants in one token
            }
            row.CopyTo(x, t * stride);
        }
        byte[] prepared = (byte[])x.Clone();
        for (int t = 0; t < count; t++)
        {
            Prepared(x[(int)(t * stride)..], blocks, tier).AsSpan(0, blocks * Q8_K.BlockBytes).CopyTo(prepared.AsSpan((int)(t * stride)));
        }
        return (x, prepared, stride);
    }

    [Theory]
    [InlineData(Tier.Vector256)]
    [InlineData(Tier.Vector512)]
    public void DotIsBitExactAcrossTiersAtTheExtremes(Tier tier)
    {
        // Every quant and scale bit set, activation quants at -128 and 127 (the int16 pair sums must not saturate).
        const int blocks = 2;
        byte[] w = Enumerable.Repeat((byte)0xFF, blocks * BlockBytes).ToArray();
        byte[] x = new byte[blocks * Q8_K.BlockBytes];
        for (int b = 0; b < blocks; b++)
        {
            int hOffset = type == GgmlType.Q6_K ? 208 : 0;
            BitConverter.TryWriteBytes(w.AsSpan(b * BlockBytes + hOffset), F16.FromSingle(0.5f));
            if (type != GgmlType.Q6_K)
                BitConverter.TryWriteBytes(w.AsSpan(b * BlockBytes + 2), F16.FromSingle(0.25f));
            BitConverter.TryWriteBytes(x.AsSpan(b * Q8_K.BlockBytes), 0.125f);
            for (int j = 0; j < 256; j++)
                x[b * Q8_K.BlockBytes + Q8_K.QsOffset + j] = (byte)(b == 0 ? 0x80 : 0x7F);
            for (int g = 0; g < 16; g++)
                BitConverter.TryWriteBytes(x.AsSpan(b * Q8_K.BlockBytes + Q8_K.BsumsOffset + 2 * g), (short)(b == 0 ? -128 * 16 : 127 * 16));
        }
        float scalar = Dot(w, x, blocks, SimdTier.Scalar);
        Assert.Equal(scalar, Dot(w, x, blocks, (SimdTier)tier));
        AssertCloseToDequantizedDot(w, x, blocks, scalar);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void DotEqualsDequantizedDotUpToRounding(int blocks)
    {
        byte[] w = RandomWeights(blocks, 95 + blocks);
        byte[] x = Q8_KTests.Quantize(TestData.Random(blocks * 256, 96 + blocks, 2f), SimdTier.Scalar);
        AssertCloseToDequantizedDot(w, x, blocks, Dot(w, x, blocks, SimdTier.Scalar));
    }

    /// <summary>
    /// <paramref name="dot"/> against Σ w·x over the decoded values in double. The kernel rounds the two per-block
    /// scalings (d·S and dmin·M, which may nearly cancel) and their accumulation, and decoding rounds each weight
    /// twice, so the bound is relative to Σ (|d·sc·q| + |dmin·m|)·|x|: the scale and minimum parts are decoded
    /// separately by zeroing dmin, then d.
    /// </summary>
    private void AssertCloseToDequantizedDot(byte[] w, byte[] x, int blocks, float dot)
    {
        float[] wd = Decode(w, blocks, keepD: true, keepDmin: true), xd = new float[blocks * 256];
        Q8_K.Dequantize(x, xd);
        float[] scalePart = type == GgmlType.Q6_K ? wd : Decode(w, blocks, keepD: true, keepDmin: false);
        float[] minPart = type == GgmlType.Q6_K ? new float[wd.Length] : Decode(w, blocks, keepD: false, keepDmin: true);
        double exact = 0, sumAbs = 0;
        for (int i = 0; i < wd.Length; i++)
        {
            exact += (double)wd[i] * xd[i];
            sumAbs += (Math.Abs(scalePart[i]) + Math.Abs(minPart[i])) * (double)Math.Abs(xd[i]);
        }
        double bound = 8 * TestData.U * sumAbs + TestData.SummationBound(2 * blocks + 2, sumAbs);
        Assert.True(Math.Abs(dot - exact) <= bound, $"{type}: {dot} vs {exact} (bound {bound})");
    }

    private float[] Decode(byte[] w, int blocks, bool keepD, bool keepDmin)
    {
        byte[] copy = (byte[])w.Clone();
        for (int b = 0; b < blocks; b++)
        {
            if (!keepD) BitConverter.TryWriteBytes(copy.AsSpan(b * BlockBytes), (ushort)0);
            if (!keepDmin) BitConverter.TryWriteBytes(copy.AsSpan(b * BlockBytes + 2), (ushort)0);
        }
        float[] y = new float[blocks * 256];
        TensorTypes.Dequantize(type, copy, y);
        return y;
    }

    [Theory]
    [InlineData(Tier.Vector256)]
    [InlineData(Tier.Vector512)]
    public unsafe void MatMulUsesQ8KActivationsAndTheIntegerDot(Tier tier)
    {
        const int rows = 7, cols = 512, n = 2;
        float[] wf = TestData.Random(rows * cols, 97), x = TestData.Random(n * cols, 98, 2f);
        byte[] w = new byte[rows * TensorTypes.RowBytes(type, cols)];
        TensorTypes.Quantize(type, wf, w);
        float[] y = new float[n * rows], yScalar = new float[n * rows];
        fixed (byte* pw = w)
        {
            MatMul.Multiply(type, pw, rows, cols, x, y, n, (SimdTier)tier, parallel: true);
            MatMul.Multiply(type, pw, rows, cols, x, yScalar, n, SimdTier.Scalar, parallel: false);
        }
        Assert.Equal(yScalar, y);
        int rowBytes = (int)TensorTypes.RowBytes(type, cols);
        for (int i = 0; i < n; i++)
        {
            byte[] xq = Q8_KTests.Quantize(x[(i * cols)..((i + 1) * cols)], SimdTier.Scalar);
            for (int r = 0; r < rows; r++)
            {
                Assert.Equal(Dot(w[(r * rowBytes)..((r + 1) * rowBytes)], xq, cols / 256, SimdTier.Scalar), yScalar[i * rows + r]);
            }
        }
    }

    [Fact]
    public void RowsMustBeWholeSuperBlocks()
    {
        Assert.True(TensorTypes.IsSupported(type));
        Assert.Equal(256, TensorTypes.BlockSize(type));
        Assert.Equal(2L * BlockBytes, TensorTypes.RowBytes(type, 512));
        var e = Assert.Throws<ArgumentException>(() => TensorTypes.RowBytes(type, 128));
        Assert.Contains(type.ToString(), e.Message);
        Assert.Contains("256", e.Message);
    }

    [Fact]
    public void ZeroBlockQuantizesToZeroBytes()
    {
        byte[] q = Enumerable.Repeat((byte)0xAA, BlockBytes).ToArray();
        TensorTypes.Quantize(type, new float[256], q);
        Assert.All(q, b => Assert.Equal(0, b));
    }

    /// <summary>
    /// Round trip of smooth random data: relative RMS error below <paramref name="maxRelativeRms"/>. A sanity check on
    /// the layout (a swapped nibble or scale gives errors of order one); bit-exactness with llama.cpp's quantizer is
    /// checked in the conformance tests.
    /// </summary>
    protected void AssertRoundTripIsClose(double maxRelativeRms)
    {
        double rel = TestData.RoundTripRelativeRms(type, TestData.Random(256 * 8, 99, 3f));
        Assert.True(rel < maxRelativeRms, $"{type} relative RMS round-trip error {rel:F4} ≥ {maxRelativeRms}");
    }
}

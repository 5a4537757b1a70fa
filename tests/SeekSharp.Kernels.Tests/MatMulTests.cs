using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;
using SeekSharp.Kernels.Tests.Quants;

namespace SeekSharp.Kernels.Tests;

/// <summary>MatVec / MatMulRows against a naive dequantize-then-dot reference, on every tier.</summary>
public class MatMulTests
{
    public static TheoryData<GgmlType, Tier> TypesAndTiers()
    {
        var data = new TheoryData<GgmlType, Tier>();
        foreach (GgmlType t in new[] { GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q5_0, GgmlType.Q4_1, GgmlType.Q5_1 })
        {
            foreach (Tier tier in new[] { Tier.Vector256, Tier.Vector512 })
            {
                data.Add(t, tier);
            }
        }
        return data;
    }

    /// <summary>
    /// The activation as the kernel sees it: rounded to the vec_dot_type, then decoded to float
    /// (F32 unchanged; F16/BF16 rounded; Q8_0/Q4_0/Q5_0 quantized to Q8_0, Q4_1/Q5_1 to Q8_1, with the activation quantizers).
    /// </summary>
    private static unsafe float[] ActivationAsSeen(GgmlType t, float[] x)
    {
        switch (t)
        {
            case GgmlType.F16:
                return x.Select(v => F16.ToSingle(F16.FromSingle(v))).ToArray();
            case GgmlType.BF16:
                return x.Select(v => BF16.ToSingle(BF16.FromSingle(v))).ToArray();
            case GgmlType.Q8_0 or GgmlType.Q4_0 or GgmlType.Q5_0 or GgmlType.Q4_1 or GgmlType.Q5_1:
                return Block32DotChecks.DequantizeActivation(t, Block32DotChecks.QuantizeActivation(t, x, SimdTier.Scalar));
            default:
                return x;
        }
    }

    [Theory, MemberData(nameof(TypesAndTiers))]
    public unsafe void MatMulRowsMatchesDequantizeThenDot(GgmlType t, Tier tier)
    {
        const int rows = 37, cols = 160, n = 3;
        float[] wf = TestData.Random(rows * cols, 70), x = TestData.Random(n * cols, 71, 2f);
        byte[] w = new byte[rows * TensorTypes.RowBytes(t, cols)];
        TensorTypes.Quantize(t, wf, w);
        float[] wd = new float[wf.Length];
        TensorTypes.Dequantize(t, w, wd);

        float[] y = new float[n * rows];
        float[] yScalar = new float[n * rows];
        fixed (byte* pw = w)
        {
            MatMul.Multiply(t, pw, rows, cols, x, y, n, (SimdTier)tier, parallel: true);
            MatMul.Multiply(t, pw, rows, cols, x, yScalar, n, SimdTier.Scalar, parallel: false);
        }

        for (int i = 0; i < n; i++)
        {
            float[] xa = ActivationAsSeen(t, x[(i * cols)..((i + 1) * cols)]);
            for (int r = 0; r < rows; r++)
            {
                // Every product of decoded values is exact in double, so this is the exact dot; the kernel
                // differs only by float rounding of the accumulation (and, for Q*, of d_w·d_x per block).
                double exact = 0, sumAbs = 0;
                for (int c = 0; c < cols; c++)
                {
                    double p = (double)wd[r * cols + c] * xa[c];
                    exact += p;
                    sumAbs += Math.Abs(p);
                }
                int terms = TensorTypes.BlockSize(t) == 32 ? cols / 32 + 2 : cols;
                // Q4_1/Q5_1 take the offsets' share from Q8_1's block sum, rounded to half.
                double bound = TestData.SummationBound(terms, sumAbs) / 2
                    + Block32DotChecks.OffsetBound(t, w.AsSpan(r * (int)TensorTypes.RowBytes(t, cols), (int)TensorTypes.RowBytes(t, cols)), xa);
                Assert.True(Math.Abs(y[i * rows + r] - exact) <= bound, $"{t} row {r} input {i}: {y[i * rows + r]} vs {exact}");
                Assert.True(Math.Abs(yScalar[i * rows + r] - exact) <= bound, $"{t} scalar row {r} input {i}");
            }
        }
        if (TensorTypes.BlockSize(t) == 32)
        {
            Assert.Equal(yScalar, y);   // integer block sums: every tier gives the same bits
        }
    }

    [Fact]
    public unsafe void QuantizedMatVecIsTheBlockwiseIntegerFormula()
    {
        // Restates llama.cpp's AVX2 q4_0·q8_0 order: eight float lanes, lane l taking elements 4l..4l+3 of every
        // block as fma(d_w·d_x, Σ q_w·q_x, lane), then the halves added and the four sums paired.
        const int rows = 5, cols = 96;
        float[] wf = TestData.Random(rows * cols, 72), x = TestData.Random(cols, 73);
        byte[] w = new byte[rows * 3 * 18];
        TensorTypes.Quantize(GgmlType.Q4_0, wf, w);
        byte[] xq = new byte[3 * 34];
        fixed (float* px = x)
        fixed (byte* pq = xq)
        {
            Q8_0.QuantizeActivation(px, pq, cols, SimdTier.Scalar);
        }
        float[] y = new float[rows];
        fixed (byte* pw = w)
        {
            MatMul.MatVec(GgmlType.Q4_0, pw, rows, cols, x, y);
        }
        for (int r = 0; r < rows; r++)
        {
            float[] lane = new float[8];
            for (int b = 0; b < 3; b++)
            {
                int wo = (r * 3 + b) * 18, xo = b * 34;
                float scale = F16.ToSingle(BitConverter.ToUInt16(w, wo)) * F16.ToSingle(BitConverter.ToUInt16(xq, xo));
                for (int l = 0; l < 8; l++)
                {
                    int isum = 0;
                    for (int j = 4 * l; j < 4 * l + 4; j++)
                    {
                        int nibble = j < 16 ? w[wo + 2 + j] & 0xF : w[wo + 2 + j - 16] >> 4;
                        isum += (nibble - 8) * (sbyte)xq[xo + 2 + j];
                    }
                    lane[l] = MathF.FusedMultiplyAdd(scale, isum, lane[l]);
                }
            }
            float sum = ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
            Assert.Equal(sum, y[r]);
        }
    }

    [Fact]
    public unsafe void ActivationIsRoundedToTheVecDotType()
    {
        // 1 + 2^-12 is 1 in half and 1 + 2^-9 is 1 in bf16: with a weight of exactly 1 the output shows
        // whether the activation was rounded (ggml rounds it) or used at full precision.
        byte[] one16 = new byte[2], oneBf = new byte[2];
        TensorTypes.Quantize(GgmlType.F16, [1f], one16);
        TensorTypes.Quantize(GgmlType.BF16, [1f], oneBf);
        float[] y = new float[1];
        fixed (byte* p = one16)
        {
            MatMul.MatVec(GgmlType.F16, p, 1, 1, [1f + MathF.Pow(2, -12)], y);
        }
        Assert.Equal(1f, y[0]);
        fixed (byte* p = oneBf)
        {
            MatMul.MatVec(GgmlType.BF16, p, 1, 1, [1f + MathF.Pow(2, -9)], y);
        }
        Assert.Equal(1f, y[0]);
    }

    [Theory]
    [InlineData(GgmlType.F32)]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q5_0)]
    [InlineData(GgmlType.Q5_1)]
    public unsafe void ParallelSplitDoesNotChangeResults(GgmlType t)
    {
        const int rows = 300, cols = 512;   // large enough to go parallel
        float[] wf = TestData.Random(rows * cols, 74), x = TestData.Random(cols, 75);
        byte[] w = new byte[rows * TensorTypes.RowBytes(t, cols)];
        TensorTypes.Quantize(t, wf, w);
        float[] a = new float[rows], b = new float[rows];
        fixed (byte* pw = w)
        {
            MatMul.MatVec(t, pw, rows, cols, x, a);
            MatMul.Multiply(t, pw, rows, cols, x, b, 1, SimdCapabilities.Best, parallel: false);
        }
        Assert.Equal(b, a);
    }

    [Fact]
    public unsafe void BadArgumentsThrow()
    {
        byte[] w = new byte[34 * 4];
        fixed (byte* pw = w)
        {
            byte* p = pw;
            Assert.Throws<ArgumentException>(() => MatMul.MatVec(GgmlType.Q8_0, p, 2, 33, new float[33], new float[2]));
            Assert.Throws<ArgumentException>(() => MatMul.MatVec(GgmlType.Q8_0, p, 2, 64, new float[63], new float[2]));
            Assert.Throws<ArgumentException>(() => MatMul.MatMulRows(GgmlType.Q8_0, p, 2, 64, new float[128], new float[3], 2));
            Assert.Contains("MXFP4", Assert.Throws<NotSupportedException>(() => MatMul.MatVec(GgmlType.MXFP4, p, 1, 256, new float[256], new float[1])).Message);
        }
    }

    [Fact]
    public unsafe void EmptyShapesAreNoOps()
    {
        float[] y = new float[0];
        MatMul.MatVec(GgmlType.F16, null, 0, 0, [], y);
        MatMul.MatMulRows(GgmlType.Q8_0, null, 0, 64, new float[128], y, 2);
    }
}

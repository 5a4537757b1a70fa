using SeekSharp.Kernels.Conversions;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Tests.Conversions;

public sealed class Float8E4M3Tests
{
    /// <summary>
    /// The OCP e4m3fn value of a code as an exact fraction over 512 (2⁹, the smallest subnormal), computed in integers:
    /// exponent 0 gives m, exponent e ≥ 1 gives (8 + m) · 2^(e-1); S.1111.111 is NaN. Written independently of
    /// the kernel's bit-field formula so that a wrong bias or subnormal rule shows up as a mismatch.
    /// </summary>
    static double Expected(int code)
    {
        int e = (code >> 3) & 0xF, m = code & 7;
        if (e == 15 && m == 7) return double.NaN;
        long numerator = e == 0 ? m : (8L + m) << (e - 1);
        double magnitude = numerator / 512.0;
        return (code & 0x80) != 0 ? -magnitude : magnitude;
    }

    [Fact]
    public void Every_code_decodes_to_its_OCP_value()
    {
        for (int code = 0; code < 256; code++)
        {
            float got = Float8E4M3.ToSingle((byte)code);
            double want = Expected(code);
            if (double.IsNaN(want)) Assert.True(float.IsNaN(got), $"code 0x{code:X2} should be NaN, got {got}");
            else Assert.True(got == want && float.IsNegative(got) == ((code & 0x80) != 0), $"code 0x{code:X2}: expected {want}, got {got}");
        }
        // Anchors from the OCP spec: largest finite 448, smallest subnormal 2^-9, smallest normal 2^-6, one.
        Assert.Equal(448f, Float8E4M3.ToSingle(0x7E));
        Assert.Equal(-448f, Float8E4M3.ToSingle(0xFE));
        Assert.Equal(1f / 512, Float8E4M3.ToSingle(0x01));
        Assert.Equal(1f / 64, Float8E4M3.ToSingle(0x08));
        Assert.Equal(1f, Float8E4M3.ToSingle(0x38));
    }

    [Theory]
    [MemberData(nameof(TestData.VectorTiersAndLengths), MemberType = typeof(TestData))]
    public void Vector_paths_match_the_scalar_reference_bit_for_bit(Tier tier, int n)
    {
        // Every code appears, shifted per length so that each lane position sees NaNs, subnormals and signs.
        var codes = Enumerable.Range(0, n).Select(i => (byte)((i * 37 + n) & 0xFF)).ToArray();
        var got = new float[n];
        Float8E4M3.ToSingle(codes, got, (SimdTier)tier);
        for (int i = 0; i < n; i++)
            Assert.Equal(BitConverter.SingleToUInt32Bits(Float8E4M3.ToSingle(codes[i])), BitConverter.SingleToUInt32Bits(got[i]));
    }

    [Fact]
    public void All_256_codes_through_the_vector_path_match()
    {
        var codes = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        foreach (var tier in new[] { SimdTier.Scalar, SimdTier.Vector256, SimdTier.Vector512 })
        {
            var got = new float[256];
            Float8E4M3.ToSingle(codes, got, tier);
            for (int i = 0; i < 256; i++)
            {
                double want = Expected(i);
                if (double.IsNaN(want)) Assert.True(float.IsNaN(got[i]));
                else Assert.Equal(want, got[i]);
            }
        }
    }

    [Theory]
    [InlineData(1, 1, 128, 128)]
    [InlineData(130, 260, 128, 128)] // partial last block row and column, as in DeepSeek-V3's odd widths
    [InlineData(256, 384, 128, 128)]
    [InlineData(7, 9, 2, 4)]
    public void Block_scaled_dequantization_multiplies_each_element_by_its_blocks_scale(int rows, int cols, int br, int bc)
    {
        var rng = new Random(rows * 31 + cols);
        var weight = new byte[rows * cols];
        rng.NextBytes(weight);
        int sr = (rows + br - 1) / br, sc = (cols + bc - 1) / bc;
        var scales = Enumerable.Range(0, sr * sc).Select(_ => (float)(rng.NextDouble() * 4 + 0.01)).ToArray();
        var got = new float[rows * cols];
        Float8E4M3.DequantizeBlockScaled(weight, rows, cols, scales, br, bc, got);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                float want = Float8E4M3.ToSingle(weight[r * cols + c]) * scales[r / br * sc + c / bc];
                float actual = got[r * cols + c];
                Assert.True(BitConverter.SingleToUInt32Bits(want) == BitConverter.SingleToUInt32Bits(actual) || (float.IsNaN(want) && float.IsNaN(actual)),
                    $"[{r}, {c}]: expected {want}, got {actual}");
            }
    }

    [Fact]
    public void Block_scaled_dequantization_refuses_a_scale_grid_of_the_wrong_size()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            Float8E4M3.DequantizeBlockScaled(new byte[130 * 10], 130, 10, new float[1], 128, 128, new float[1300]));
        Assert.Contains("[2, 1] scales", e.Message);
    }
}

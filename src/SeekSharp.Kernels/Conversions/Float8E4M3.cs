using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels.Conversions;

/// <summary>
/// FP8 e4m3fn (OCP 8-bit floating point, the "fn" variant DeepSeek-V3 stores its weights in): 1 sign bit, 4 exponent
/// bits with bias 7, 3 mantissa bits; no infinities, and only S.1111.111 (0x7F, 0xFF) is NaN, so the largest finite
/// value is 448. Exponent 0 holds the subnormals m/8 · 2⁻⁶. Every code is exact in float.
/// </summary>
public static class Float8E4M3
{
    /// <summary>The value of one code, from its bit fields (the scalar reference).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle(byte code)
    {
        int exponent = (code >> 3) & 0xF, mantissa = code & 0x7;
        float sign = (code & 0x80) != 0 ? -1f : 1f;
        if (exponent == 0xF && mantissa == 0x7) return float.NaN;
        float magnitude = exponent == 0
            ? mantissa / 8f * (1f / 64f)                                   // subnormal: m/8 · 2^(1-7)
            : (1f + mantissa / 8f) * MathF.ScaleB(1f, exponent - 7);       // normal: (1 + m/8) · 2^(e-7)
        return sign * magnitude;
    }

    /// <summary>Decodes <paramref name="src"/> (one code per byte) into <paramref name="dst"/> of the same length.</summary>
    public static void ToSingle(ReadOnlySpan<byte> src, Span<float> dst) => ToSingle(src, dst, SimdCapabilities.Best);

    internal static unsafe void ToSingle(ReadOnlySpan<byte> src, Span<float> dst, SimdTier tier)
    {
        if (dst.Length != src.Length) throw new ArgumentException($"{src.Length} codes but room for {dst.Length} floats", nameof(dst));
        int n = src.Length, i = 0;
        fixed (byte* s = src)
        fixed (float* d = dst)
        {
            if (tier >= SimdTier.Vector256)
            {
                for (; i <= n - 32; i += 32)
                {
                    var (lo, hi) = Vector256.Widen(Vector256.Load(s + i));
                    var (a, b) = Vector256.Widen(lo);
                    var (c, e) = Vector256.Widen(hi);
                    Decode(a).Store(d + i);
                    Decode(b).Store(d + i + 8);
                    Decode(c).Store(d + i + 16);
                    Decode(e).Store(d + i + 24);
                }
            }
            for (; i < n; i++) d[i] = ToSingle(s[i]);
        }
    }

    /// <summary>
    /// Eight codes (widened to uint32) to floats. Exponent and mantissa shifted into a float's exponent and mantissa
    /// fields give 2^(e-127)·(1 + m/8), or a float subnormal m/8·2⁻¹²⁶ when e = 0; one multiplication by 2^(127-7)
    /// rebiases both cases exactly (the half-to-float trick). The sign is or-ed in and the NaN codes blended last.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Decode(Vector256<uint> code)
    {
        var magnitudeBits = code & Vector256.Create(0x7Fu);
        var magnitude = (magnitudeBits << 20).AsSingle() * Vector256.Create(0x7B800000u).AsSingle(); // × 2^120
        var signed = (magnitude.AsUInt32() | ((code & Vector256.Create(0x80u)) << 24)).AsSingle();
        var isNaN = Vector256.Equals(magnitudeBits, Vector256.Create(0x7Fu)).AsSingle();
        return Vector256.ConditionalSelect(isNaN, Vector256.Create(float.NaN), signed);
    }

    /// <summary>
    /// Dequantizes a block-scaled FP8 weight as DeepSeek-V3 stores it (inference/kernel.py weight_dequant): the
    /// weight [rows, cols] comes with <c>weight_scale_inv</c> [⌈rows/blockRows⌉, ⌈cols/blockCols⌉], and each element
    /// is its FP8 value times the scale of its block. The last block row and column may be partial.
    /// </summary>
    /// <param name="weight">[rows, cols] codes, row-major.</param>
    /// <param name="scaleInv">[⌈rows/blockRows⌉, ⌈cols/blockCols⌉] block scales, row-major.</param>
    /// <param name="dst">[rows, cols] floats.</param>
    public static void DequantizeBlockScaled(ReadOnlySpan<byte> weight, int rows, int cols, ReadOnlySpan<float> scaleInv,
        int blockRows, int blockCols, Span<float> dst) =>
        DequantizeBlockScaled(weight, rows, cols, scaleInv, blockRows, blockCols, dst, SimdCapabilities.Best);

    internal static void DequantizeBlockScaled(ReadOnlySpan<byte> weight, int rows, int cols, ReadOnlySpan<float> scaleInv,
        int blockRows, int blockCols, Span<float> dst, SimdTier tier)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockRows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockCols, 1);
        long elements = (long)rows * cols;
        if (weight.Length != elements || dst.Length != elements)
            throw new ArgumentException($"[{rows}, {cols}] needs {elements} codes and floats; got {weight.Length} and {dst.Length}");
        int scaleRows = (rows + blockRows - 1) / blockRows, scaleCols = (cols + blockCols - 1) / blockCols;
        if (scaleInv.Length != (long)scaleRows * scaleCols)
            throw new ArgumentException($"[{rows}, {cols}] in blocks of [{blockRows}, {blockCols}] needs [{scaleRows}, {scaleCols}] scales; got {scaleInv.Length}", nameof(scaleInv));
        for (int r = 0; r < rows; r++)
        {
            var row = dst.Slice(r * cols, cols);
            ToSingle(weight.Slice(r * cols, cols), row, tier);
            var scales = scaleInv.Slice(r / blockRows * scaleCols, scaleCols);
            for (int b = 0; b < scaleCols; b++)
            {
                int start = b * blockCols;
                var block = row.Slice(start, Math.Min(blockCols, cols - start));
                TensorPrimitives.Multiply(block, scales[b], block);
            }
        }
        Debug.Assert(dst.Length == elements);
    }
}

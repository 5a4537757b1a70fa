using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SeekSharp.Kernels.Quants;
using SeekSharp.Kernels.Simd;

namespace SeekSharp.Kernels;

/// <summary>
/// Copies blocks of op(A) and op(B) into the micro-panel layouts the <see cref="GemmMicroKernel"/> tiles read, for
/// either storage order, padding partial panels with zeros.
/// </summary>
/// <remarks>
/// Dimensions: m, k, n = sizes of the whole product; mc × kc = the A block, kc × nc = the B block; mr, nr = tile sizes.
/// Packed A block: [ceil(mc / mr)][kc, mr]; packed B block: [ceil(nc / nr)][kc, nr]. Packing turns every access of
/// the tile loop into a unit-stride read, whatever the transposition, and lets each block stay in its cache level:
/// it costs one pass over the block, repaid by the nc (for A) or mc (for B) multiply-adds each packed value feeds.
/// The zero padding lets edge tiles run the full kernel: padded rows and columns produce values that are never stored.
/// The 6 × 16 layouts have AVX paths (8 × 8 transposes in registers, 8-float stores that spill 2 floats into the next
/// step's slot before it is written): a scalar element-by-element copy of a transposed operand costs as much as a
/// sixth of the product when the other dimension is small (n = 64 for a per-head attention product).
/// Callers leave <see cref="Slack"/> floats after a packed buffer for the spill of its last store.
/// </remarks>
internal static unsafe class GemmPacking
{
    /// <summary>Floats a packed buffer must have beyond its panels (the 8-float stores of 6-float steps).</summary>
    public const int Slack = 8;

    /// <summary>Packs op(A)[i0..i0+mc, p0..p0+kc] into [ceil(mc / mr)][kc, mr].</summary>
    /// <param name="a">A, stored [m, k], or [k, m] when <paramref name="transposeA"/>.</param>
    public static void PackA(float* a, int m, int k, bool transposeA, int i0, int mc, int p0, int kc, int mr, float* dst)
    {
        Debug.Assert(i0 >= 0 && i0 + mc <= m && p0 >= 0 && p0 + kc <= k);
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            if (mr == 12 && rows == 12 && Avx.IsSupported)
            {
                if (transposeA)
                {
                    // Each step's 12 floats are consecutive in A: one 8-float and one 4-float copy, nothing read beyond.
                    float* src = a + (long)p0 * m + i0 + ir;
                    for (int p = 0; p < kc; p++, src += m)
                    {
                        Vector256.Store(Vector256.Load(src), dst + p * 12);
                        Vector128.Store(Vector128.Load(src + 8), dst + p * 12 + 8);
                    }
                }
                else
                {
                    PackRows12Avx(a + (long)(i0 + ir) * k + p0, k, kc, dst);
                }
                dst += (long)kc * mr;
                continue;
            }
            if (mr == 6 && rows == 6 && Avx.IsSupported)
            {
                if (transposeA)
                {
                    // One 8-float load per step needs 2 readable floats past the panel's 6 within the row of A.
                    if (i0 + ir + 8 <= m)
                    {
                        float* src = a + (long)p0 * m + i0 + ir;
                        for (int p = 0; p < kc; p++, src += m)
                        {
                            Vector256.Store(Vector256.Load(src), dst + p * 6);
                        }
                        dst += (long)kc * mr;
                        continue;
                    }
                }
                else
                {
                    PackRows6Avx(a + (long)(i0 + ir) * k + p0, k, kc, dst);
                    dst += (long)kc * mr;
                    continue;
                }
            }
            if (transposeA)
            {
                // op(A)[i, p] = a[p, i]: each step p reads `rows` consecutive floats.
                float* src = a + (long)p0 * m + i0 + ir;
                for (int p = 0; p < kc; p++, src += m)
                {
                    float* d = dst + p * mr;
                    int r = 0;
                    for (; r < rows; r++)
                    {
                        d[r] = src[r];
                    }
                    for (; r < mr; r++)
                    {
                        d[r] = 0f;
                    }
                }
            }
            else
            {
                // op(A)[i, p] = a[i, p]: each row is read along p and scattered with stride mr (within L1).
                for (int r = 0; r < rows; r++)
                {
                    float* src = a + (long)(i0 + ir + r) * k + p0;
                    float* d = dst + r;
                    for (int p = 0; p < kc; p++, d += mr)
                    {
                        *d = src[p];
                    }
                }
                for (int r = rows; r < mr; r++)
                {
                    float* d = dst + r;
                    for (int p = 0; p < kc; p++, d += mr)
                    {
                        *d = 0f;
                    }
                }
            }
            dst += (long)kc * mr;
        }
    }

    /// <summary>Packs the micro-panels <paramref name="panel0"/>.. <paramref name="panel1"/> (exclusive) of
    /// op(B)[p0..p0+kc, j0..j0+nc], micro-panel q going to <c>dst + q·kc·nr</c>.</summary>
    /// <param name="b">B, stored [k, n], or [n, k] when <paramref name="transposeB"/>.</param>
    public static void PackB(float* b, int k, int n, bool transposeB, int p0, int kc, int j0, int nc, int nr,
        int panel0, int panel1, float* dst)
    {
        Debug.Assert(p0 >= 0 && p0 + kc <= k && j0 >= 0 && j0 + nc <= n);
        for (int q = panel0; q < panel1; q++)
        {
            int jr = q * nr, cols = Math.Min(nr, nc - jr);
            float* d0 = dst + (long)q * kc * nr;
            if (transposeB && cols == 16 && nr == 16 && Avx.IsSupported)
            {
                PackColumns16Avx(b + (long)(j0 + jr) * k + p0, k, kc, d0);
            }
            else if (transposeB)
            {
                // op(B)[p, j] = b[j, p]: each column j is read along p and scattered with stride nr (within L1).
                for (int c = 0; c < cols; c++)
                {
                    float* src = b + (long)(j0 + jr + c) * k + p0;
                    float* d = d0 + c;
                    for (int p = 0; p < kc; p++, d += nr)
                    {
                        *d = src[p];
                    }
                }
                for (int c = cols; c < nr; c++)
                {
                    float* d = d0 + c;
                    for (int p = 0; p < kc; p++, d += nr)
                    {
                        *d = 0f;
                    }
                }
            }
            else if (cols == 16 && nr == 16)
            {
                // The common full Vector256 panel: two vector copies per step.
                float* src = b + (long)p0 * n + j0 + jr;
                for (int p = 0; p < kc; p++, src += n)
                {
                    Vector256.Store(Vector256.Load(src), d0 + p * 16);
                    Vector256.Store(Vector256.Load(src + 8), d0 + p * 16 + 8);
                }
            }
            else
            {
                float* src = b + (long)p0 * n + j0 + jr;
                for (int p = 0; p < kc; p++, src += n)
                {
                    float* d = d0 + p * nr;
                    int c = 0;
                    for (; c < cols; c++)
                    {
                        d[c] = src[c];
                    }
                    for (; c < nr; c++)
                    {
                        d[c] = 0f;
                    }
                }
            }
        }
    }

    /// <summary>
    /// Packs micro-panels <paramref name="panel0"/>.. <paramref name="panel1"/> (exclusive) of Wᵀ[p0..p0+kc,
    /// j0..j0+nc] for a weight matrix W stored [n, k] in <paramref name="type"/>: each panel's nr rows are decoded to
    /// float (exactly, as <see cref="TensorTypes.Dequantize"/> does) into a small buffer, then packed as a transposed
    /// float B. p0 must start a quant block.
    /// </summary>
    public static void PackWeightRows(GgmlType type, byte* w, long rowBytes, int p0, int kc, int j0, int nc, int nr,
        int panel0, int panel1, float* dst)
    {
        Debug.Assert(kc <= Gemm.KC && nr <= GemmMicroKernel.NR512 && p0 % TensorTypes.BlockSize(type) == 0);
        float* rows = stackalloc float[GemmMicroKernel.NR512 * Gemm.KC];   // [cols, kc]: the panel's rows, decoded
        long offset = p0 / TensorTypes.BlockSize(type) * (long)TensorTypes.BlockBytes(type);
        int bytes = (int)TensorTypes.RowBytes(type, kc);
        for (int q = panel0; q < panel1; q++)
        {
            int jr = q * nr, cols = Math.Min(nr, nc - jr);
            for (int c = 0; c < cols; c++)
            {
                byte* src = w + (j0 + jr + c) * rowBytes + offset;
                if (type == GgmlType.Q8_0)
                {
                    Q8_0.Decode(src, rows + c * kc, kc / Q8_0.BlockSize, SimdCapabilities.Best);
                }
                else
                {
                    TensorTypes.Dequantize(type, new ReadOnlySpan<byte>(src, bytes), new Span<float>(rows + c * kc, kc));
                }
            }
            PackB(rows, kc, cols, transposeB: true, 0, kc, 0, cols, nr, 0, 1, dst + (long)q * kc * nr);
        }
    }

    /// <summary>
    /// [kc, 6] ← 6 rows of a row-major matrix (row stride <paramref name="ld"/>), 8 steps at a time: the 6 × 8 block is
    /// transposed in registers and each step written as 8 floats, whose last 2 the next step overwrites.
    /// </summary>
    private static void PackRows6Avx(float* src, int ld, int kc, float* dst)
    {
        float* r0 = src, r1 = src + ld, r2 = src + 2L * ld, r3 = src + 3L * ld, r4 = src + 4L * ld, r5 = src + 5L * ld;
        int p = 0;
        for (; p + 8 <= kc; p += 8)
        {
            Transpose8x8(Vector256.Load(r0 + p), Vector256.Load(r1 + p), Vector256.Load(r2 + p), Vector256.Load(r3 + p),
                Vector256.Load(r4 + p), Vector256.Load(r5 + p), Vector256<float>.Zero, Vector256<float>.Zero,
                out var s0, out var s1, out var s2, out var s3, out var s4, out var s5, out var s6, out var s7);
            float* d = dst + p * 6;
            Vector256.Store(s0, d);
            Vector256.Store(s1, d + 6);
            Vector256.Store(s2, d + 12);
            Vector256.Store(s3, d + 18);
            Vector256.Store(s4, d + 24);
            Vector256.Store(s5, d + 30);
            Vector256.Store(s6, d + 36);
            Vector256.Store(s7, d + 42);
        }
        for (; p < kc; p++)
        {
            float* d = dst + p * 6;
            d[0] = r0[p];
            d[1] = r1[p];
            d[2] = r2[p];
            d[3] = r3[p];
            d[4] = r4[p];
            d[5] = r5[p];
        }
    }

    /// <summary>
    /// [kc, 12] ← 12 rows of a row-major matrix (row stride <paramref name="ld"/>), 8 steps at a time: rows 0-7 and rows
    /// 8-11 (with 4 zero rows) are transposed in registers. Each step stores rows 8-11 as 8 floats, whose last 4 spill
    /// into the next step's rows 0-3, and then rows 0-7, so every spill is overwritten by the step after it.
    /// </summary>
    private static void PackRows12Avx(float* src, int ld, int kc, float* dst)
    {
        int p = 0;
        for (; p + 8 <= kc; p += 8)
        {
            float* r = src + p;
            Transpose8x8(Vector256.Load(r), Vector256.Load(r + ld), Vector256.Load(r + 2L * ld), Vector256.Load(r + 3L * ld),
                Vector256.Load(r + 4L * ld), Vector256.Load(r + 5L * ld), Vector256.Load(r + 6L * ld), Vector256.Load(r + 7L * ld),
                out var s0, out var s1, out var s2, out var s3, out var s4, out var s5, out var s6, out var s7);
            Transpose8x8(Vector256.Load(r + 8L * ld), Vector256.Load(r + 9L * ld), Vector256.Load(r + 10L * ld), Vector256.Load(r + 11L * ld),
                Vector256<float>.Zero, Vector256<float>.Zero, Vector256<float>.Zero, Vector256<float>.Zero,
                out var t0, out var t1, out var t2, out var t3, out var t4, out var t5, out var t6, out var t7);
            float* d = dst + p * 12;
            Vector256.Store(t0, d + 8); Vector256.Store(s0, d);
            Vector256.Store(t1, d + 20); Vector256.Store(s1, d + 12);
            Vector256.Store(t2, d + 32); Vector256.Store(s2, d + 24);
            Vector256.Store(t3, d + 44); Vector256.Store(s3, d + 36);
            Vector256.Store(t4, d + 56); Vector256.Store(s4, d + 48);
            Vector256.Store(t5, d + 68); Vector256.Store(s5, d + 60);
            Vector256.Store(t6, d + 80); Vector256.Store(s6, d + 72);
            Vector256.Store(t7, d + 92); Vector256.Store(s7, d + 84);
        }
        for (; p < kc; p++)
        {
            float* d = dst + p * 12;
            for (int r = 0; r < 12; r++)
            {
                d[r] = src[r * (long)ld + p];
            }
        }
    }

    /// <summary>[kc, 16] ← 16 rows of a row-major matrix (row stride <paramref name="ld"/>), as two 8 × 8 transposes per 8 steps.</summary>
    private static void PackColumns16Avx(float* src, int ld, int kc, float* dst)
    {
        int p = 0;
        for (; p + 8 <= kc; p += 8)
        {
            for (int half = 0; half < 2; half++)
            {
                float* r = src + half * 8L * ld + p;
                Transpose8x8(Vector256.Load(r), Vector256.Load(r + ld), Vector256.Load(r + 2L * ld), Vector256.Load(r + 3L * ld),
                    Vector256.Load(r + 4L * ld), Vector256.Load(r + 5L * ld), Vector256.Load(r + 6L * ld), Vector256.Load(r + 7L * ld),
                    out var s0, out var s1, out var s2, out var s3, out var s4, out var s5, out var s6, out var s7);
                float* d = dst + p * 16 + half * 8;
                Vector256.Store(s0, d);
                Vector256.Store(s1, d + 16);
                Vector256.Store(s2, d + 32);
                Vector256.Store(s3, d + 48);
                Vector256.Store(s4, d + 64);
                Vector256.Store(s5, d + 80);
                Vector256.Store(s6, d + 96);
                Vector256.Store(s7, d + 112);
            }
        }
        for (; p < kc; p++)
        {
            float* d = dst + p * 16;
            for (int c = 0; c < 16; c++)
            {
                d[c] = src[c * (long)ld + p];
            }
        }
    }

    /// <summary>Out row j = (x0[j], x1[j], ..., x7[j]): the standard AVX 8 × 8 float transpose (unpack, shuffle, lane swap).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(Vector256<float> x0, Vector256<float> x1, Vector256<float> x2, Vector256<float> x3,
        Vector256<float> x4, Vector256<float> x5, Vector256<float> x6, Vector256<float> x7,
        out Vector256<float> y0, out Vector256<float> y1, out Vector256<float> y2, out Vector256<float> y3,
        out Vector256<float> y4, out Vector256<float> y5, out Vector256<float> y6, out Vector256<float> y7)
    {
        // Pairs interleaved: t0 = x0[0] x1[0] x0[1] x1[1] | x0[4] x1[4] x0[5] x1[5], t1 the same for elements 2, 3 | 6, 7.
        var t0 = Avx.UnpackLow(x0, x1);
        var t1 = Avx.UnpackHigh(x0, x1);
        var t2 = Avx.UnpackLow(x2, x3);
        var t3 = Avx.UnpackHigh(x2, x3);
        var t4 = Avx.UnpackLow(x4, x5);
        var t5 = Avx.UnpackHigh(x4, x5);
        var t6 = Avx.UnpackLow(x6, x7);
        var t7 = Avx.UnpackHigh(x6, x7);
        // Quads: u0 = element 0 of x0..x3 | element 4 of x0..x3, and so on.
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        // Low lanes give elements 0-3, high lanes elements 4-7.
        y0 = Avx.Permute2x128(u0, u4, 0x20);
        y1 = Avx.Permute2x128(u1, u5, 0x20);
        y2 = Avx.Permute2x128(u2, u6, 0x20);
        y3 = Avx.Permute2x128(u3, u7, 0x20);
        y4 = Avx.Permute2x128(u0, u4, 0x31);
        y5 = Avx.Permute2x128(u1, u5, 0x31);
        y6 = Avx.Permute2x128(u2, u6, 0x31);
        y7 = Avx.Permute2x128(u3, u7, 0x31);
    }
}

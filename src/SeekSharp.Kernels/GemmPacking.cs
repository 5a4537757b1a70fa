using System.Diagnostics;
using System.Runtime.Intrinsics;

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
/// </remarks>
internal static unsafe class GemmPacking
{
    /// <summary>Packs op(A)[i0..i0+mc, p0..p0+kc] into [ceil(mc / mr)][kc, mr].</summary>
    /// <param name="a">A, stored [m, k], or [k, m] when <paramref name="transposeA"/>.</param>
    public static void PackA(float* a, int m, int k, bool transposeA, int i0, int mc, int p0, int kc, int mr, float* dst)
    {
        Debug.Assert(i0 >= 0 && i0 + mc <= m && p0 >= 0 && p0 + kc <= k);
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
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
            if (transposeB)
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
}

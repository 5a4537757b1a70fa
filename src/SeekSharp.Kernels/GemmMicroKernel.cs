using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace SeekSharp.Kernels;

/// <summary>
/// The register-blocked inner kernels of <see cref="Gemm"/>: one MR×NR tile of C from an MR-row micro-panel of packed
/// A and an NR-column micro-panel of packed B, summed over kc.
/// </summary>
/// <remarks>
/// Dimensions: kc = depth of the current k block; MR, NR = tile rows and columns (per tier, below).
/// Packed A micro-panel: [kc, MR] (for each p, the MR values A[i0..i0+MR, p]); packed B micro-panel: [kc, NR].
/// Each step p is a rank-1 update of the tile: broadcast A[r, p] for every row r and multiply-add it with the row
/// B[p, 0..NR]. The tile lives in registers for all kc steps, so C is read and written once per k block and every
/// loaded value of A or B feeds NR or MR multiply-adds (the GotoBLAS / BLIS design).
/// </remarks>
internal static unsafe class GemmMicroKernel
{
    // Vector256 tile: 6 rows × 16 columns = 12 ymm accumulators + 2 for the B row + 1 for the broadcast A value,
    // 15 of the 16 ymm registers (BLIS's Haswell/Zen sgemm shape). 12 independent FMA chains cover the 2 FMA pipes ×
    // 4-cycle latency (8 chains) of Zen 3 and Intel cores, and each step issues 2 loads + 6 broadcasts for 12 FMAs,
    // within the 2-3 loads per cycle those cores sustain alongside 2 FMAs.
    public const int MR256 = 6;
    public const int NR256 = 16;

    // Vector512 tile: 12 rows × 16 columns = 12 zmm accumulators, one zmm for the B row and the broadcast A values
    // (folded into the multiply-adds as embedded broadcasts). Each step is 1 load of B and 12 broadcasts for 12 FMAs of
    // 16 floats: twice the Vector256 tile's work per instruction, with the same 12 chains for 2 FMA pipes × 4-cycle
    // latency. NR stays 16, so the B panel (KC × 16 floats = 16 KiB) and its packing are the Vector256 tile's, and the
    // A panel (KC × 12 floats = 12 KiB) still leaves room in a 32-48 KiB L1d.
    public const int MR512 = 12;
    public const int NR512 = 16;

    // The largest tile, for buffers shared by every kind.
    public const int MaxTileFloats = MR512 * NR512;

    // Vector128 tile: the same 6 rows × 2 vectors, 8 columns: 12 accumulators as above for the FMA pipes of ARM64 cores
    // (which have 32 vector registers, so this tile leaves room a wider one could use).
    public const int MR128 = 6;
    public const int NR128 = 8;

    // Scalar tile: 4 × 4 = 16 accumulators, as many as the 16 xmm registers hold with room for the operands spilled to
    // the stack on loads; it keeps the reuse (4 multiply-adds per loaded value) without vector instructions.
    public const int MRScalar = 4;
    public const int NRScalar = 4;

    /// <summary>C[0..6, 0..16] (+)= A·B over kc steps; <paramref name="add"/> adds to C instead of overwriting it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile6x16(int kc, float* a, float* b, float* c, nint ldc, bool add)
    {
        Debug.Assert(kc > 0);
        if (Sse.IsSupported)
        {
            // The tile's 6 rows of C are in 6 far-apart places (L3 or memory); start fetching them now so that the
            // final load-add-store does not wait ~100s of cycles for each, while the loop below needs no memory but L1
            // and L2. A row of 16 floats spans at most 2 cache lines.
            for (int r = 0; r < 6; r++)
            {
                Sse.Prefetch0(c + r * ldc);
                Sse.Prefetch0(c + r * ldc + 15);
            }
        }
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        // Two steps per iteration halve the loop overhead (pointer bumps, compare, branch) per FMA.
        int p = 0;
        for (; p + 1 < kc; p += 2)
        {
            Vector256<float> b0 = Vector256.Load(b), b1 = Vector256.Load(b + 8), av;
            av = Vector256.Create(a[0]); c00 = Vector256.FusedMultiplyAdd(av, b0, c00); c01 = Vector256.FusedMultiplyAdd(av, b1, c01);
            av = Vector256.Create(a[1]); c10 = Vector256.FusedMultiplyAdd(av, b0, c10); c11 = Vector256.FusedMultiplyAdd(av, b1, c11);
            av = Vector256.Create(a[2]); c20 = Vector256.FusedMultiplyAdd(av, b0, c20); c21 = Vector256.FusedMultiplyAdd(av, b1, c21);
            av = Vector256.Create(a[3]); c30 = Vector256.FusedMultiplyAdd(av, b0, c30); c31 = Vector256.FusedMultiplyAdd(av, b1, c31);
            av = Vector256.Create(a[4]); c40 = Vector256.FusedMultiplyAdd(av, b0, c40); c41 = Vector256.FusedMultiplyAdd(av, b1, c41);
            av = Vector256.Create(a[5]); c50 = Vector256.FusedMultiplyAdd(av, b0, c50); c51 = Vector256.FusedMultiplyAdd(av, b1, c51);
            b0 = Vector256.Load(b + 16); b1 = Vector256.Load(b + 24);
            av = Vector256.Create(a[6]); c00 = Vector256.FusedMultiplyAdd(av, b0, c00); c01 = Vector256.FusedMultiplyAdd(av, b1, c01);
            av = Vector256.Create(a[7]); c10 = Vector256.FusedMultiplyAdd(av, b0, c10); c11 = Vector256.FusedMultiplyAdd(av, b1, c11);
            av = Vector256.Create(a[8]); c20 = Vector256.FusedMultiplyAdd(av, b0, c20); c21 = Vector256.FusedMultiplyAdd(av, b1, c21);
            av = Vector256.Create(a[9]); c30 = Vector256.FusedMultiplyAdd(av, b0, c30); c31 = Vector256.FusedMultiplyAdd(av, b1, c31);
            av = Vector256.Create(a[10]); c40 = Vector256.FusedMultiplyAdd(av, b0, c40); c41 = Vector256.FusedMultiplyAdd(av, b1, c41);
            av = Vector256.Create(a[11]); c50 = Vector256.FusedMultiplyAdd(av, b0, c50); c51 = Vector256.FusedMultiplyAdd(av, b1, c51);
            a += 12;
            b += 32;
        }
        if (p < kc)
        {
            Vector256<float> b0 = Vector256.Load(b), b1 = Vector256.Load(b + 8), av;
            av = Vector256.Create(a[0]); c00 = Vector256.FusedMultiplyAdd(av, b0, c00); c01 = Vector256.FusedMultiplyAdd(av, b1, c01);
            av = Vector256.Create(a[1]); c10 = Vector256.FusedMultiplyAdd(av, b0, c10); c11 = Vector256.FusedMultiplyAdd(av, b1, c11);
            av = Vector256.Create(a[2]); c20 = Vector256.FusedMultiplyAdd(av, b0, c20); c21 = Vector256.FusedMultiplyAdd(av, b1, c21);
            av = Vector256.Create(a[3]); c30 = Vector256.FusedMultiplyAdd(av, b0, c30); c31 = Vector256.FusedMultiplyAdd(av, b1, c31);
            av = Vector256.Create(a[4]); c40 = Vector256.FusedMultiplyAdd(av, b0, c40); c41 = Vector256.FusedMultiplyAdd(av, b1, c41);
            av = Vector256.Create(a[5]); c50 = Vector256.FusedMultiplyAdd(av, b0, c50); c51 = Vector256.FusedMultiplyAdd(av, b1, c51);
        }
        StoreRow(c, c00, c01, add);
        StoreRow(c + ldc, c10, c11, add);
        StoreRow(c + 2 * ldc, c20, c21, add);
        StoreRow(c + 3 * ldc, c30, c31, add);
        StoreRow(c + 4 * ldc, c40, c41, add);
        StoreRow(c + 5 * ldc, c50, c51, add);
    }

    /// <summary>C[0..12, 0..16] (+)= A·B over kc steps with Vector512; <paramref name="add"/> adds to C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile12x16(int kc, float* a, float* b, float* c, nint ldc, bool add)
    {
        Debug.Assert(kc > 0);
        if (Sse.IsSupported)
        {
            // As in Tile6x16: fetch the tile's rows of C (16 floats, at most 2 lines each) while the loop runs from L1/L2.
            for (int r = 0; r < 12; r++)
            {
                Sse.Prefetch0(c + r * ldc);
                Sse.Prefetch0(c + r * ldc + 15);
            }
        }
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        Vector512<float> c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        int p = 0;
        for (; p + 1 < kc; p += 2)
        {
            Vector512<float> b0 = Vector512.Load(b);
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(a[0]), b0, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(a[1]), b0, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(a[2]), b0, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(a[3]), b0, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(a[4]), b0, c4);
            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(a[5]), b0, c5);
            c6 = Vector512.FusedMultiplyAdd(Vector512.Create(a[6]), b0, c6);
            c7 = Vector512.FusedMultiplyAdd(Vector512.Create(a[7]), b0, c7);
            c8 = Vector512.FusedMultiplyAdd(Vector512.Create(a[8]), b0, c8);
            c9 = Vector512.FusedMultiplyAdd(Vector512.Create(a[9]), b0, c9);
            c10 = Vector512.FusedMultiplyAdd(Vector512.Create(a[10]), b0, c10);
            c11 = Vector512.FusedMultiplyAdd(Vector512.Create(a[11]), b0, c11);
            Vector512<float> b1 = Vector512.Load(b + 16);
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(a[12]), b1, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(a[13]), b1, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(a[14]), b1, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(a[15]), b1, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(a[16]), b1, c4);
            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(a[17]), b1, c5);
            c6 = Vector512.FusedMultiplyAdd(Vector512.Create(a[18]), b1, c6);
            c7 = Vector512.FusedMultiplyAdd(Vector512.Create(a[19]), b1, c7);
            c8 = Vector512.FusedMultiplyAdd(Vector512.Create(a[20]), b1, c8);
            c9 = Vector512.FusedMultiplyAdd(Vector512.Create(a[21]), b1, c9);
            c10 = Vector512.FusedMultiplyAdd(Vector512.Create(a[22]), b1, c10);
            c11 = Vector512.FusedMultiplyAdd(Vector512.Create(a[23]), b1, c11);
            a += 24;
            b += 32;
        }
        if (p < kc)
        {
            Vector512<float> b0 = Vector512.Load(b);
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(a[0]), b0, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(a[1]), b0, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(a[2]), b0, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(a[3]), b0, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(a[4]), b0, c4);
            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(a[5]), b0, c5);
            c6 = Vector512.FusedMultiplyAdd(Vector512.Create(a[6]), b0, c6);
            c7 = Vector512.FusedMultiplyAdd(Vector512.Create(a[7]), b0, c7);
            c8 = Vector512.FusedMultiplyAdd(Vector512.Create(a[8]), b0, c8);
            c9 = Vector512.FusedMultiplyAdd(Vector512.Create(a[9]), b0, c9);
            c10 = Vector512.FusedMultiplyAdd(Vector512.Create(a[10]), b0, c10);
            c11 = Vector512.FusedMultiplyAdd(Vector512.Create(a[11]), b0, c11);
        }
        StoreRow(c, c0, add);
        StoreRow(c + ldc, c1, add);
        StoreRow(c + 2 * ldc, c2, add);
        StoreRow(c + 3 * ldc, c3, add);
        StoreRow(c + 4 * ldc, c4, add);
        StoreRow(c + 5 * ldc, c5, add);
        StoreRow(c + 6 * ldc, c6, add);
        StoreRow(c + 7 * ldc, c7, add);
        StoreRow(c + 8 * ldc, c8, add);
        StoreRow(c + 9 * ldc, c9, add);
        StoreRow(c + 10 * ldc, c10, add);
        StoreRow(c + 11 * ldc, c11, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* c, Vector512<float> v, bool add)
    {
        if (add)
        {
            v += Vector512.Load(c);
        }
        Vector512.Store(v, c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* c, Vector256<float> v0, Vector256<float> v1, bool add)
    {
        if (add)
        {
            v0 += Vector256.Load(c);
            v1 += Vector256.Load(c + 8);
        }
        Vector256.Store(v0, c);
        Vector256.Store(v1, c + 8);
    }

    /// <summary>C[0..6, 0..8] (+)= A·B over kc steps with Vector128; <paramref name="add"/> adds to C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile6x8(int kc, float* a, float* b, float* c, nint ldc, bool add)
    {
        Debug.Assert(kc > 0);
        Vector128<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector128<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector128<float> b0 = Vector128.Load(b), b1 = Vector128.Load(b + 4), av;
            av = Vector128.Create(a[0]); c00 = MulAdd(av, b0, c00); c01 = MulAdd(av, b1, c01);
            av = Vector128.Create(a[1]); c10 = MulAdd(av, b0, c10); c11 = MulAdd(av, b1, c11);
            av = Vector128.Create(a[2]); c20 = MulAdd(av, b0, c20); c21 = MulAdd(av, b1, c21);
            av = Vector128.Create(a[3]); c30 = MulAdd(av, b0, c30); c31 = MulAdd(av, b1, c31);
            av = Vector128.Create(a[4]); c40 = MulAdd(av, b0, c40); c41 = MulAdd(av, b1, c41);
            av = Vector128.Create(a[5]); c50 = MulAdd(av, b0, c50); c51 = MulAdd(av, b1, c51);
            a += 6;
            b += 8;
        }
        StoreRow(c, c00, c01, add);
        StoreRow(c + ldc, c10, c11, add);
        StoreRow(c + 2 * ldc, c20, c21, add);
        StoreRow(c + 3 * ldc, c30, c31, add);
        StoreRow(c + 4 * ldc, c40, c41, add);
        StoreRow(c + 5 * ldc, c50, c51, add);
    }

    /// <summary>a·b + c, fused where the CPU has an instruction for it (ARM64, x86 with FMA); x86 machines without FMA
    /// would get a slow software emulation of the fused form, so they multiply and add.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> MulAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) =>
        Fma.IsSupported || AdvSimd.IsSupported ? Vector128.FusedMultiplyAdd(a, b, c) : a * b + c;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* c, Vector128<float> v0, Vector128<float> v1, bool add)
    {
        if (add)
        {
            v0 += Vector128.Load(c);
            v1 += Vector128.Load(c + 4);
        }
        Vector128.Store(v0, c);
        Vector128.Store(v1, c + 4);
    }

    /// <summary>C[0..4, 0..4] (+)= A·B over kc steps, in plain float arithmetic (no vector instructions).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile4x4(int kc, float* a, float* b, float* c, nint ldc, bool add)
    {
        Debug.Assert(kc > 0);
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (int p = 0; p < kc; p++)
        {
            float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3], av;
            av = a[0]; c00 += av * b0; c01 += av * b1; c02 += av * b2; c03 += av * b3;
            av = a[1]; c10 += av * b0; c11 += av * b1; c12 += av * b2; c13 += av * b3;
            av = a[2]; c20 += av * b0; c21 += av * b1; c22 += av * b2; c23 += av * b3;
            av = a[3]; c30 += av * b0; c31 += av * b1; c32 += av * b2; c33 += av * b3;
            a += 4;
            b += 4;
        }
        StoreRow(c, c00, c01, c02, c03, add);
        StoreRow(c + ldc, c10, c11, c12, c13, add);
        StoreRow(c + 2 * ldc, c20, c21, c22, c23, add);
        StoreRow(c + 3 * ldc, c30, c31, c32, c33, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* c, float v0, float v1, float v2, float v3, bool add)
    {
        if (add)
        {
            v0 += c[0];
            v1 += c[1];
            v2 += c[2];
            v3 += c[3];
        }
        c[0] = v0;
        c[1] = v1;
        c[2] = v2;
        c[3] = v3;
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SeekSharp.Kernels.Quants;

/// <summary>
/// The inner step of every Q*_0 × Q8_0 and Q*_1 × Q8_1 dot: exact integer products of a 32-element int8 block pair, left as eight
/// int32 lanes, lane l holding <c>Σ_{j=4l}^{4l+3} w_j·x_j</c>, and the float accumulation of those lanes.
/// </summary>
/// <remarks>
/// Dots accumulate in eight float lanes, block by block, <c>acc_l = fma(d_w·d_x, lane_l, acc_l)</c>, and end with
/// <see cref="Sum"/>: the order of llama.cpp's AVX2 ggml_vec_dot_q8_0_q8_0. Keeping the block's eight partial sums
/// apart instead of reducing each block to one integer saves a horizontal reduction per 32 weights, which is most of
/// the cost of a block. The scalar twins follow the same lanes, so every tier gives the same bits, and so does the
/// multi-token kernel of the batched matmul.
/// AVX-VNNI (vpdpbusd here, vpdpwssd for the K-quants' scaled pairs) was tried on Zen 5 and measured slower in
/// one process, old and new flipped in turns: a Q4_K 64-token batch 203-209 → 101-117 GFLOP/s (vpdpwssd chains its
/// accumulator with a multi-cycle latency where vpmaddwd + vpaddd chain one add), a Q8_0 matrix-vector 78-121 → 65-112.
/// </remarks>
internal static class Int8BlockDot
{
    public const int Lanes = 8;

    /// <summary>Scalar twin of <see cref="Partials(Vector256{sbyte}, Vector256{sbyte})"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe int Lane(sbyte* w, sbyte* x, int lane)
    {
        int j = 4 * lane;
        return w[j] * x[j] + w[j + 1] * x[j + 1] + w[j + 2] * x[j + 2] + w[j + 3] * x[j + 3];
    }

    /// <summary>
    /// The eight lane sums of one block pair. The activation <paramref name="x"/> must not hold −128, which
    /// <see cref="Q8_0.QuantizeActivation"/> never produces (|q| ≤ 127); the weight may.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Partials(Vector256<sbyte> w, Vector256<sbyte> x)
    {
        if (Avx2.IsSupported)
        {
            // vpmaddubsw needs an unsigned operand: |w| (−128 becomes 128, read unsigned) against x carrying w's sign.
            // An int16 pair sum is at most 2·128·127 < 32767, so it cannot saturate; vpmaddwd by ones then adds
            // adjacent pairs, giving lane l the bytes 4l..4l+3.
            Vector256<short> pairs = Avx2.MultiplyAddAdjacent(Avx2.Abs(w), Avx2.Sign(x, w));
            return Avx2.MultiplyAddAdjacent(pairs, Vector256.Create((short)1));
        }
        return Portable(w, x);
    }

    /// <summary>
    /// As <see cref="Partials(Vector256{sbyte}, Vector256{sbyte})"/> for a weight held as unsigned values minus an
    /// offset (Q4_0: nibbles 0..15 minus 8; Q5_0: 0..31 minus 16): the unsigned values go straight into vpmaddubsw's
    /// unsigned operand and the offset is taken off each int16 pair sum (at most 2·31·127 and 2·16·127, both far
    /// inside int16), so no sign fix-up of the weights is needed. The lanes are the exact integers either way.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> PartialsOffset(Vector256<byte> q, Vector256<sbyte> x, byte offset)
    {
        if (Avx2.IsSupported)
        {
            Vector256<short> pairs = Avx2.MultiplyAddAdjacent(q, x) - Avx2.MultiplyAddAdjacent(Vector256.Create(offset), x);
            return Avx2.MultiplyAddAdjacent(pairs, Vector256.Create((short)1));
        }
        return Portable(q.AsSByte() - Vector256.Create((sbyte)offset), x);
    }

    /// <summary>
    /// As <see cref="Partials(Vector256{sbyte}, Vector256{sbyte})"/> for an unsigned weight of at most 5 bits (Q4_1,
    /// Q5_1: the offset lives in the block's minimum): vpmaddubsw then vpmaddwd by ones, as llama.cpp's
    /// mul_sum_us8_pairs_float (an int16 pair sum is at most 2·31·128).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> PartialsUnsigned(Vector256<byte> q, Vector256<sbyte> x)
    {
        if (Avx2.IsSupported)
        {
            return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, x), Vector256.Create((short)1));
        }
        return Portable(q.AsSByte(), x);
    }

    // Without AVX2 the Vector256 tier only runs when a test forces it; the lanes come from the scalar twin.
    private static unsafe Vector256<int> Portable(Vector256<sbyte> w, Vector256<sbyte> x)
    {
        sbyte* pw = stackalloc sbyte[32], px = stackalloc sbyte[32];
        w.Store(pw);
        x.Store(px);
        return Vector256.Create(Lane(pw, px, 0), Lane(pw, px, 1), Lane(pw, px, 2), Lane(pw, px, 3),
            Lane(pw, px, 4), Lane(pw, px, 5), Lane(pw, px, 6), Lane(pw, px, 7));
    }

    /// <summary>One block's step of the lane accumulation: <c>acc_l = fma(scale, lane_l, acc_l)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Accumulate(Vector256<float> acc, float scale, Vector256<int> partials) =>
        Vector256.FusedMultiplyAdd(Vector256.Create(scale), Vector256.ConvertToSingle(partials), acc);

    /// <summary>Scalar twin of <see cref="Accumulate"/> (lane sums are below 2^24, so the conversion is exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Accumulate(float* acc, float scale, sbyte* w, sbyte* x)
    {
        for (int l = 0; l < Lanes; l++)
        {
            acc[l] = MathF.FusedMultiplyAdd(scale, Lane(w, x, l), acc[l]);
        }
    }

    /// <summary>The final reduction, halves first: <c>((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7))</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector256<float> acc)
    {
        Vector128<float> h = acc.GetLower() + acc.GetUpper();
        return (h.GetElement(0) + h.GetElement(2)) + (h.GetElement(1) + h.GetElement(3));
    }

    /// <summary>Scalar twin of <see cref="Sum(Vector256{float})"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe float Sum(float* a) => ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
}

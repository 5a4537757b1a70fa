using System.Diagnostics;
using System.Runtime.Intrinsics;
using SeekSharp.Kernels.Simd;
using SeekSharp.Kernels.Threading;

namespace SeekSharp.Kernels;

/// <summary>
/// Float vector kernels for the model math, each with a scalar reference and Vector256/Vector512 paths;
/// the public methods run at the widest tier the hardware accelerates.
/// Outputs may alias inputs element for element (in-place use is the norm).
/// </summary>
public static class VectorOps
{
    /// <summary><c>Σ a[i]·b[i]</c>, accumulated in float.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static unsafe float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        CheckSameLength(a.Length, b.Length, nameof(b));
        fixed (float* pa = a)
        fixed (float* pb = b)
        {
            return Dot(pa, pb, a.Length, SimdCapabilities.Best);
        }
    }

    /// <summary>
    /// RMS norm with weight: <c>y[i] = (x[i] · s) · weight[i]</c>, <c>s = 1 / sqrt(mean(x²) + eps)</c>.
    /// Numerics are ggml's (ggml-cpu ops.cpp rms_norm_f32 followed by MUL), bit for bit: each x² is rounded
    /// to float, the squares are summed in order in double (ggml_float), the mean is rounded to float, and
    /// the output is rounded once after the scale and once after the weight.
    /// </summary>
    /// <param name="x">Input row [n].</param>
    /// <param name="weight">Norm weight [n].</param>
    /// <param name="eps">Added to the mean square (the model's rms_norm_eps).</param>
    /// <param name="y">Output [n]; may be <paramref name="x"/>.</param>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> y) =>
        RmsNorm(x, weight, eps, y, SimdCapabilities.Best);

    /// <summary>
    /// Numerically stable softmax in place: <c>x[i] = exp(x[i] − max) / Σ exp(x[j] − max)</c>,
    /// the sum accumulated in double and applied as one multiplication by its reciprocal (as ggml's soft_max).
    /// Needs at least one finite element.
    /// </summary>
    public static void SoftmaxInPlace(Span<float> x) => SoftmaxInPlace(x, SimdCapabilities.Best);

    /// <summary>SwiGLU gate in place: <c>gate[i] = silu(gate[i]) · up[i]</c>, <c>silu(g) = g / (1 + exp(−g))</c>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void SiluMulInPlace(Span<float> gate, ReadOnlySpan<float> up)
    {
        CheckSameLength(gate.Length, up.Length, nameof(up));
        Elementwise.Apply(new SiluMultiplyOperator(), gate, up, gate, SimdCapabilities.Best);
    }

    /// <summary>
    /// <see cref="SiluMulInPlace(Span{float}, ReadOnlySpan{float})"/> across <paramref name="pool"/>, element for element
    /// the same: the pieces are whole multiples of every vector width, so only the end of the span takes the narrower
    /// paths, as it does in one piece. A batch's gate is tens of thousands of elements per layer (eight tokens of an
    /// FFN 8960 wide), which on one thread left the others waiting for about a millisecond per decode step.
    /// </summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static unsafe void SiluMulInPlace(Span<float> gate, ReadOnlySpan<float> up, WorkerPool pool)
    {
        CheckSameLength(gate.Length, up.Length, nameof(up));
        const int piece = 16384;   // a multiple of 64, the widest vector times four
        int pieces = (gate.Length + piece - 1) / piece;
        if (pieces <= 1 || pool.ThreadCount == 1)
        {
            SiluMulInPlace(gate, up);
            return;
        }
        fixed (float* g = gate, u = up)
        {
            var work = new SiluMulPieces { Gate = g, Up = u, Length = gate.Length, Piece = piece };
            pool.For(pieces, ref work);
        }
    }

    private unsafe struct SiluMulPieces : IParallelWork
    {
        public float* Gate, Up;
        public int Length, Piece;

        public void Run(int index)
        {
            int start = index * Piece, count = Math.Min(Piece, Length - start);
            SiluMulInPlace(new Span<float>(Gate + start, count), new ReadOnlySpan<float>(Up + start, count));
        }
    }

    /// <summary><c>x[i] += y[i]</c>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void AddInPlace(Span<float> x, ReadOnlySpan<float> y)
    {
        CheckSameLength(x.Length, y.Length, nameof(y));
        Elementwise.Apply(new AddOperator(), x, y, x, SimdCapabilities.Best);
    }

    /// <summary><c>x[i] *= s</c>.</summary>
    public static void ScaleInPlace(Span<float> x, float s) =>
        Elementwise.Apply(new ScaleOperator(s), x, x, x, SimdCapabilities.Best);

    /// <summary><c>y[i] += a · x[i]</c>, fused (one rounding per element).</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public static void Axpy(float a, ReadOnlySpan<float> x, Span<float> y)
    {
        CheckSameLength(y.Length, x.Length, nameof(x));
        Elementwise.Apply(new AxpyOperator(a), x, y, y, SimdCapabilities.Best);
    }

    // ---- per-tier implementations (tests drive every tier through these) ----

    internal static unsafe float Dot(float* a, float* b, int n, SimdTier tier)
    {
        Debug.Assert(n >= 0);
        int i = 0;
        float sum = 0f;
        if (tier >= SimdTier.Vector512 && n >= Vector512<float>.Count)
        {
            // Four independent accumulators hide the FMA latency, as ggml's GGML_F32_ARR does.
            Vector512<float> acc0 = Vector512<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
            for (; i <= n - 64; i += 64)
            {
                acc0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), acc0);
                acc1 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i + 16), Vector512.Load(b + i + 16), acc1);
                acc2 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i + 32), Vector512.Load(b + i + 32), acc2);
                acc3 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i + 48), Vector512.Load(b + i + 48), acc3);
            }
            for (; i <= n - 16; i += 16)
            {
                acc0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), acc0);
            }
            sum = Vector512.Sum((acc0 + acc1) + (acc2 + acc3));
        }
        else if (tier >= SimdTier.Vector256 && n >= Vector256<float>.Count)
        {
            Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
            for (; i <= n - 32; i += 32)
            {
                acc0 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), acc0);
                acc1 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i + 8), Vector256.Load(b + i + 8), acc1);
                acc2 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i + 16), Vector256.Load(b + i + 16), acc2);
                acc3 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i + 24), Vector256.Load(b + i + 24), acc3);
            }
            for (; i <= n - 8; i += 8)
            {
                acc0 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), acc0);
            }
            sum = Vector256.Sum((acc0 + acc1) + (acc2 + acc3));
        }
        for (; i < n; i++)
        {
            sum += a[i] * b[i];
        }
        return sum;
    }

    internal static void RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float eps, Span<float> y, SimdTier tier)
    {
        CheckSameLength(x.Length, weight.Length, nameof(weight));
        CheckSameLength(x.Length, y.Length, nameof(y));
        if (x.Length == 0)
        {
            return;
        }
        // Kept sequential in every tier: ggml adds the float squares one by one into a double, and a
        // reordered double sum could round the float mean differently. It is O(n) next to O(n²) matmuls.
        double sum = 0.0;
        foreach (float v in x)
        {
            float square = v * v;   // rounded to float before widening, as (ggml_float)(x*x)
            sum += square;
        }
        float mean = (float)(sum / x.Length);
        float scale = 1f / MathF.Sqrt(mean + eps);
        Elementwise.Apply(new ScaleMultiplyOperator(scale), x, weight, y, tier);
    }

    internal static unsafe void SoftmaxInPlace(Span<float> x, SimdTier tier)
    {
        int n = x.Length;
        if (n == 0)
        {
            return;
        }
        fixed (float* p = x)
        {
            float max = Max(p, n, tier);
            double sum = 0.0;
            int i = 0;
            // Like ggml_vec_soft_max_f32: each vector's exps are summed in float, then added to a double.
            if (tier >= SimdTier.Vector512)
            {
                Vector512<float> m = Vector512.Create(max);
                for (; i <= n - 16; i += 16)
                {
                    Vector512<float> e = Vector512.Exp(Vector512.Load(p + i) - m);
                    e.Store(p + i);
                    sum += Vector512.Sum(e);
                }
            }
            if (tier >= SimdTier.Vector256)
            {
                Vector256<float> m = Vector256.Create(max);
                for (; i <= n - 8; i += 8)
                {
                    Vector256<float> e = Vector256.Exp(Vector256.Load(p + i) - m);
                    e.Store(p + i);
                    sum += Vector256.Sum(e);
                }
            }
            for (; i < n; i++)
            {
                float e = MathF.Exp(p[i] - max);
                p[i] = e;
                sum += e;
            }
            Elementwise.Apply(new ScaleOperator((float)(1.0 / sum)), p, p, p, n, tier);
        }
    }

    /// <summary>
    /// Index of the greatest element, the first of equals: what the scan <c>best = 0; for i ≥ 1: if x[i] &gt; x[best]
    /// then best = i</c> returns (llama.cpp's greedy sampler), NaN included (it never wins, and a NaN at index 0
    /// stays). A greedy step of a 150k vocabulary ran this scan per sequence on one thread, about 0.1 ms each.
    /// </summary>
    public static unsafe int IndexOfFirstMax(ReadOnlySpan<float> x)
    {
        fixed (float* p = x)
        {
            return IndexOfFirstMax(p, x.Length, SimdCapabilities.Best);
        }
    }

    internal static unsafe int IndexOfFirstMax(float* x, int n, SimdTier tier)
    {
        if (n == 0) throw new ArgumentException("no elements", nameof(n));
        if (float.IsNaN(x[0])) return 0;   // the scan compares everything against it and keeps it
        int best = 0, i = 1;
        if (tier >= SimdTier.Vector512 && n >= 17)
        {
            // Each lane keeps its own first maximum (a strict '>' as the scan); then the greatest of the lanes, and of
            // lanes that hold it the smallest index. Lanes start from x[0] at index 0, which the scan starts from.
            Vector512<float> m = Vector512.Create(x[0]);
            Vector512<int> at = Vector512<int>.Zero, idx = Vector512.Create(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
            Vector512<int> step = Vector512.Create(16);
            for (; i <= n - 16; i += 16, idx += step)
            {
                Vector512<float> v = Vector512.Load(x + i);
                Vector512<float> greater = Vector512.GreaterThan(v, m);
                m = Vector512.ConditionalSelect(greater, v, m);
                at = Vector512.ConditionalSelect(greater.AsInt32(), idx, at);
            }
            best = LaneFirstMax(m, at);
        }
        else if (tier >= SimdTier.Vector256 && n >= 9)
        {
            Vector256<float> m = Vector256.Create(x[0]);
            Vector256<int> at = Vector256<int>.Zero, idx = Vector256.Create(1, 2, 3, 4, 5, 6, 7, 8);
            Vector256<int> step = Vector256.Create(8);
            for (; i <= n - 8; i += 8, idx += step)
            {
                Vector256<float> v = Vector256.Load(x + i);
                Vector256<float> greater = Vector256.GreaterThan(v, m);
                m = Vector256.ConditionalSelect(greater, v, m);
                at = Vector256.ConditionalSelect(greater.AsInt32(), idx, at);
            }
            best = LaneFirstMax(m.ToVector512(), at.ToVector512(), 8);
        }
        for (; i < n; i++)
        {
            if (x[i] > x[best]) best = i;
        }
        return best;
    }

    // The lane holding the greatest value, of equals the one with the smallest index; lanes never hold NaN.
    private static int LaneFirstMax(Vector512<float> m, Vector512<int> at, int lanes = 16)
    {
        int best = at.GetElement(0);
        float max = m.GetElement(0);
        for (int k = 1; k < lanes; k++)
        {
            float v = m.GetElement(k);
            int j = at.GetElement(k);
            if (v > max || (v == max && j < best))
            {
                max = v;
                best = j;
            }
        }
        return best;
    }

    /// <summary>Largest element; exact in any order (max is associative for non-NaN input).</summary>
    internal static unsafe float Max(float* x, int n, SimdTier tier)
    {
        Debug.Assert(n > 0);
        int i = 0;
        float max = float.NegativeInfinity;
        if (tier >= SimdTier.Vector512 && n >= 16)
        {
            Vector512<float> m = Vector512.Load(x);
            for (i = 16; i <= n - 16; i += 16)
            {
                m = Vector512.Max(m, Vector512.Load(x + i));
            }
            max = MaxAcross(Vector256.Max(m.GetLower(), m.GetUpper()));
        }
        else if (tier >= SimdTier.Vector256 && n >= 8)
        {
            Vector256<float> m = Vector256.Load(x);
            for (i = 8; i <= n - 8; i += 8)
            {
                m = Vector256.Max(m, Vector256.Load(x + i));
            }
            max = MaxAcross(m);
        }
        for (; i < n; i++)
        {
            max = x[i] > max ? x[i] : max;
        }
        return max;
    }

    private static float MaxAcross(Vector256<float> m)
    {
        float r = m.GetElement(0);
        for (int k = 1; k < Vector256<float>.Count; k++)
        {
            float v = m.GetElement(k);
            r = v > r ? v : r;
        }
        return r;
    }

    private static void CheckSameLength(int expected, int actual, string paramName)
    {
        if (expected != actual)
        {
            throw new ArgumentException($"Length mismatch: expected {expected} elements, got {actual}.", paramName);
        }
    }
}

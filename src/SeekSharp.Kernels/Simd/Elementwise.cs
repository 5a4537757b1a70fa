using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SeekSharp.Kernels.Simd;

/// <summary>
/// The one driver for element-wise kernels: <c>dst[i] = op(x[i], y[i])</c>, walking
/// Vector512 → Vector256 → scalar. <paramref name="dst"/> may alias <paramref name="x"/> or <paramref name="y"/>
/// element for element (each element is read before it is written).
/// </summary>
internal static class Elementwise
{
    public static unsafe void Apply<TOp>(TOp op, float* x, float* y, float* dst, int n, SimdTier tier)
        where TOp : struct, IBinaryOperator
    {
        Debug.Assert(n >= 0);
        int i = 0;
        if (tier >= SimdTier.Vector512)
        {
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                op.Invoke(Vector512.Load(x + i), Vector512.Load(y + i)).Store(dst + i);
            }
        }
        if (tier >= SimdTier.Vector256)
        {
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                op.Invoke(Vector256.Load(x + i), Vector256.Load(y + i)).Store(dst + i);
            }
        }
        for (; i < n; i++)
        {
            dst[i] = op.Invoke(x[i], y[i]);
        }
    }

    /// <summary>Span front end: pins, checks lengths, runs at <paramref name="tier"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Apply<TOp>(TOp op, ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dst, SimdTier tier)
        where TOp : struct, IBinaryOperator
    {
        Debug.Assert(x.Length == dst.Length && y.Length == dst.Length);
        fixed (float* px = x)
        fixed (float* py = y)
        fixed (float* pd = dst)
        {
            Apply(op, px, py, pd, dst.Length, tier);
        }
    }
}
